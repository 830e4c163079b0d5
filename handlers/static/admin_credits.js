/* 继续教育学分 (/admin/api/ce-imports, /admin/api/ce-credits, /admin/api/ce-claims): a provider's
   file (upload → preview with row errors → import; import history with undo), a person's credits
   by year and standing with a manual entry, and the equivalence claims (视同继续教育) waiting in
   the caller's districts, decided with the credits granted. Loaded before admin.js; uses its helpers
   ($, h, clear, api, postFile, flash, state, fmtTime) only when called. The view's markup
   is built here into #view-credits. */
"use strict";

const CREDITS_API = { imports: "/admin/api/ce-imports", credits: "/admin/api/ce-credits" };
const ceState = { file: null };

async function ceUpload(path, file, fields) {
  const body = new FormData();
  body.append("file", file, file.name);
  for (const [k, v] of Object.entries(fields || {})) body.append(k, v);
  return postFile(path, body);
}

function ceBuild() {
  const view = $("view-credits");
  if (view.dataset.built) return;
  view.dataset.built = "1";
  const city = state.me && state.me.role === "city_admin";
  view.append(
    h("h1", {}, "继续教育学分"),
    city ? h("div", { class: "card" },
      h("h2", {}, "导入培训机构报送的学分"),
      h("p", { class: "hint" }, "Excel（.xlsx）或 CSV，第一行为列名：证件号码、姓名、年度、学分、科目类型（专业科目/公需科目）、",
        "培训机构、课程。先预览：逐行检查（无档案、姓名不符、年度或学分有误、文件内重复），确认后才写入；同一文件再次导入不会改变任何数据。"),
      h("div", { class: "ann-head" },
        h("input", { type: "file", id: "ce-file", accept: ".xlsx,.csv" }),
        h("button", { type: "button", id: "ce-preview", onclick: cePreview }, "上传并预览")),
      h("div", { id: "ce-preview-card", hidden: true },
        h("p", { id: "ce-counts" }),
        h("table", { class: "grid", id: "ce-errors", hidden: true },
          h("thead", {}, h("tr", {}, h("th", { class: "num" }, "行号"), h("th", {}, "证件号码"), h("th", {}, "姓名"),
            h("th", {}, "问题"))), h("tbody")),
        h("label", { class: "check" }, h("input", { type: "checkbox", id: "ce-skip" }), "只导入正确的行"),
        h("button", { type: "button", id: "ce-commit", class: "primary", onclick: ceCommit }, "确认导入"))) : null,
    city ? h("div", { class: "card" }, h("h2", {}, "导入记录"),
      h("table", { class: "grid", id: "ce-imports" },
        h("thead", {}, h("tr", {}, h("th", {}, "文件"), h("th", {}, "导入人"), h("th", {}, "时间"), h("th", { class: "num" }, "行数"),
          h("th", { class: "num" }, "新增"), h("th", { class: "num" }, "已有"), h("th", {}, "状态"), h("th", {}))), h("tbody"))) : null,
    h("div", { class: "card" }, h("h2", {}, "视同继续教育申请（待审核）"),
      h("table", { class: "grid", id: "ce-claims" },
        h("thead", {}, h("tr", {}, h("th", {}, "姓名"), h("th", {}, "所在区"), h("th", {}, "提交时间"), h("th", {}),
          h("th", {}, "认定学分"), h("th", {}))), h("tbody"))),
    h("div", { class: "card" }, h("h2", {}, "个人学分查询"),
      h("div", { class: "ann-head" },
        h("input", { id: "ce-archive", maxlength: "30", placeholder: "档案号（证件号码）" }),
        h("button", { type: "button", id: "ce-lookup", onclick: () => ceLookup($("ce-archive").value.trim()) }, "查询")),
      h("div", { id: "ce-person" })),
  );
}

async function openCredits() {
  ceBuild();
  show("credits");
  const jobs = [ceLoadClaims()];
  if (state.me.role === "city_admin") jobs.push(ceLoadImports());
  await Promise.all(jobs);
}

async function cePreview() {
  const file = $("ce-file").files[0];
  if (!file) { flash("请选择文件"); return; }
  ceState.file = file;
  try {
    const p = await ceUpload(CREDITS_API.imports + "/preview", file);
    $("ce-preview-card").hidden = false;
    $("ce-counts").textContent = "共 " + p.rows + " 行：正确 " + p.valid + " 行，涉及 " + p.people + " 人、" + p.credits +
      " 学分；有误 " + p.invalid + " 行。" + (p.already_imported ? "该文件已于 " + fmtTime(p.already_imported.at) + " 导入。" : "");
    const tbody = clear($("ce-errors").querySelector("tbody"));
    for (const e of p.errors) tbody.append(h("tr", {}, h("td", { class: "num" }, e.row), h("td", {}, e.id_number || ""),
      h("td", {}, e.name || ""), h("td", {}, e.message)));
    $("ce-errors").hidden = !p.errors.length;
  } catch (e) { flash(e.message); }
}

async function ceCommit() {
  if (!ceState.file) return;
  try {
    const r = await ceUpload(CREDITS_API.imports, ceState.file, $("ce-skip").checked ? { skip_invalid: "1" } : {});
    flash(r.already_imported ? "该文件已导入过，未改变任何数据" : "已导入：新增 " + r.counts.added + " 条学分", true);
    $("ce-preview-card").hidden = true;
    await ceLoadImports();
  } catch (e) { flash(e.message); }
}

async function ceLoadImports() {
  const data = await api("GET", CREDITS_API.imports + "?page_size=50");
  const tbody = clear($("ce-imports").querySelector("tbody"));
  for (const i of data.items) {
    const undo = i.state === "done" || i.state === "applying"
      ? h("button", { type: "button", onclick: async () => {
          if (!confirm("撤销这次导入？只删除这次导入的学分。")) return;
          try { await api("POST", CREDITS_API.imports + "/" + i.id + "/undo"); flash("已撤销", true); await ceLoadImports(); }
          catch (e) { flash(e.message); }
        } }, "撤销") : null;
    tbody.append(h("tr", {}, h("td", {}, i.filename), h("td", {}, i.by), h("td", {}, fmtTime(i.at)),
      h("td", { class: "num" }, i.counts.rows), h("td", { class: "num" }, i.counts.added),
      h("td", { class: "num" }, i.counts.already_present), h("td", {}, i.state_label), h("td", {}, undo)));
  }
}

async function ceLoadClaims() {
  const data = await api("GET", "/admin/api/applications?kind=ce_claim&status=submitted&page_size=50");
  const tbody = clear($("ce-claims").querySelector("tbody"));
  for (const c of data.items) {
    const credits = h("input", { type: "number", min: "0.1", step: "0.1", class: "ce-grant", "aria-label": "认定学分" });
    const decide = async (decision) => {
      const body = { decision, version: c.version };
      if (decision === "approve") body.credits_granted = Number(credits.value);
      else body.reason = prompt("不予认定的原因") || "";
      try {
        await api("POST", "/admin/api/ce-claims/" + c.id + "/decision", body);
        flash(decision === "approve" ? "已认定" : "已不予认定", true);
        await ceLoadClaims();
      } catch (e) { flash(e.message); }
    };
    tbody.append(h("tr", {}, h("td", {}, c.name), h("td", {}, c.region_name), h("td", {}, fmtTime(c.submitted_at)),
      h("td", {}, recordLink(c.id, "查看申请和证明")), h("td", {}, credits),
      h("td", {}, h("button", { type: "button", onclick: () => decide("approve") }, "认定"), " ",
        h("button", { type: "button", onclick: () => decide("reject") }, "不予认定"))));
  }
  if (!data.items.length) tbody.append(h("tr", {}, h("td", { colspan: "6", class: "muted" }, "没有待审核的申请")));
}

async function ceLookup(number) {
  const box = clear($("ce-person"));
  if (!number) return;
  let p;
  try { p = await api("GET", CREDITS_API.credits + "/" + encodeURIComponent(number)); }
  catch (e) { flash(e.message); return; }
  box.append(h("p", {}, p.name + "（" + p.id_number + "，" + p.region_name + "）当前状态：", badge(p.standing, p.standing_label),
    " ", p.reason));
  const rows = p.years.slice().reverse().map((y) => h("tr", {}, h("td", {}, y.year),
    h("td", { class: "num" }, y.credits_total + " / " + y.required_total),
    h("td", { class: "num" }, y.credits_professional + " / " + y.required_professional),
    h("td", {}, y.complete ? "已完成" : (y.in_progress ? "进行中" : "未完成")), h("td", {}, y.assessment || "")));
  box.append(h("table", { class: "grid" }, h("thead", {}, h("tr", {}, h("th", {}, "年度"), h("th", { class: "num" }, "学分"),
    h("th", { class: "num" }, "专业科目"), h("th", {}, "完成情况"), h("th", {}, "年度考评"))), h("tbody", {}, rows)));
  const form = h("form", { class: "ann-head" },
    h("input", { name: "year", type: "number", min: "2000", placeholder: "年度", required: true }),
    h("input", { name: "credits", type: "number", step: "0.1", min: "0.1", placeholder: "学分", required: true }),
    h("select", {}, h("option", { value: "professional" }, "专业科目"), h("option", { value: "general" }, "公需科目")),
    h("input", { name: "course", maxlength: "100", placeholder: "课程或说明", required: true }),
    h("button", { type: "submit" }, "录入学分"));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const [year, credits, type, course] = form.elements;
    try {
      await api("POST", CREDITS_API.credits, { archive_no: p.archive_no, year: Number(year.value), credits: Number(credits.value),
        type: type.value, course: course.value });
      flash("已录入", true);
      await ceLookup(p.archive_no);
    } catch (e) { flash(e.message); }
  });
  box.append(form);
}
