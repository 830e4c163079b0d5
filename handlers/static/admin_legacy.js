/* 原会计档案 (the old register, /admin/api/legacy/): import (upload → preview with row errors →
   confirm), import history, name mismatches to check, people not yet collected per district.
   Loaded before admin.js; uses its helpers ($, h, clear, api, postFile, flash, state,
   fmtTime, pager) only when called. The view's markup is built here into #view-legacy. */
"use strict";

const LEGACY = "/admin/api/legacy";
const LEGACY_FIELDS = {
  archive_no_old: "原档案编号", name: "姓名", id_number: "证件号码", old_certificate_no: "原会计从业资格证书编号",
  first_work_date: "首次参加会计工作日期", region: "所在区", past_employers: "曾任职单位", ce_years: "继续教育",
  integrity_notes: "诚信记录", file: "文件",
};
const LEGACY_STATES = { previewed: "已预览（未写入）", confirming: "正在写入", confirmed: "已导入" };
const legacyState = { file: null, preview: null, pendingRegion: null, pendingPage: 1, mismatchPage: 1 };

/* POST a file as the request body (the file's name in the query). */
async function legacyUpload(path, file) {
  return postFile(path, file, { "Content-Type": "application/octet-stream" });
}

function legacyBuild() {
  const view = $("view-legacy");
  if (view.dataset.built) return;
  view.dataset.built = "1";
  view.append(
    h("h1", {}, "原会计档案"),
    h("div", { class: "card" },
      h("h2", {}, "导入原档案"),
      h("p", { class: "hint" }, "按模板填写后上传 Excel（.xlsx）或 CSV（UTF-8 或 GBK 编码）。先预览：逐行检查并与已导入的原档案比较，",
        "确认后才写入；同一文件再次导入不会改变任何数据。",
        h("a", { href: LEGACY + "/template?format=xlsx", id: "legacy-template" }, "下载 Excel 模板"), " · ",
        h("a", { href: LEGACY + "/template?format=csv" }, "下载 CSV 模板")),
      h("div", { class: "ann-head" },
        h("input", { type: "file", id: "legacy-file", accept: ".xlsx,.csv,.txt" }),
        h("button", { type: "button", id: "legacy-preview", onclick: legacyPreview }, "上传并预览")),
      h("div", { id: "legacy-preview-card", hidden: true },
        h("p", { id: "legacy-counts" }),
        h("table", { class: "grid", id: "legacy-errors", hidden: true },
          h("thead", {}, h("tr", {}, h("th", { class: "num" }, "行号"), h("th", {}, "列"), h("th", {}, "问题"))),
          h("tbody")),
        h("table", { class: "grid", id: "legacy-sample", hidden: true },
          h("thead", {}, h("tr", {}, h("th", { class: "num" }, "行号"), h("th", {}, "变化"), h("th", {}, "姓名"),
            h("th", {}, "证件号码"), h("th", {}, "所在区"), h("th", {}, "首次参加会计工作日期"),
            h("th", { class: "num" }, "继续教育年度"), h("th", { class: "num" }, "曾任职单位"))),
          h("tbody")),
        h("p", { id: "legacy-fix", class: "hint", hidden: true }, "请修改文件中有问题的行后重新上传预览。"),
        h("button", { type: "button", id: "legacy-confirm", onclick: legacyConfirm }, "确认导入"))),
    h("div", { class: "card" },
      h("h2", {}, "导入记录"),
      h("table", { class: "grid", id: "legacy-history" },
        h("thead", {}, h("tr", {}, h("th", {}, "时间"), h("th", {}, "操作人"), h("th", {}, "文件"), h("th", {}, "状态"),
          h("th", { class: "num" }, "行数"), h("th", { class: "num" }, "有误"), h("th", { class: "num" }, "新增"),
          h("th", { class: "num" }, "变化"), h("th", { class: "num" }, "无变化"), h("th", {}, "SHA-256"))),
        h("tbody"))),
    h("div", { class: "card" },
      h("h2", {}, "姓名与原档案不一致（待核实）"),
      h("table", { class: "grid", id: "legacy-mismatches" },
        h("thead", {}, h("tr", {}, h("th", {}, "发现时间"), h("th", {}, "原档案姓名"), h("th", {}, "本人填写"),
          h("th", {}, "证件号码"), h("th", {}, ""))),
        h("tbody")),
      h("div", { class: "pager", id: "legacy-mismatch-pager" }),
      h("div", { id: "legacy-case", class: "card", hidden: true })),
    h("div", { class: "card" },
      h("h2", {}, "原档案人员尚未采集情况"),
      h("table", { class: "grid", id: "legacy-pending" },
        h("thead", {}, h("tr", {}, h("th", {}, "所在区"), h("th", { class: "num" }, "原档案人数"),
          h("th", { class: "num" }, "尚未采集"), h("th", {}, "统计时间"), h("th", {}, ""))),
        h("tbody")),
      h("div", { id: "legacy-pending-card", hidden: true },
        h("h2", { id: "legacy-pending-title" }),
        h("table", { class: "grid", id: "legacy-pending-list" },
          h("thead", {}, h("tr", {}, h("th", {}, "姓名"), h("th", {}, "证件号码"), h("th", {}, "原档案编号"))),
          h("tbody")),
        h("div", { class: "pager", id: "legacy-pending-pager" }))));
}

async function openLegacy() {
  legacyBuild();
  show("legacy");
  await Promise.all([legacyHistory(), legacyMismatches(), legacyPending()]);
}

function legacyCounts(c) {
  return "共 " + c.rows + " 行：有问题 " + c.error_rows + " 行；新增 " + c.new + "，有变化 " + c.changed +
    "，无变化（将跳过） " + c.unchanged + "。";
}

function legacyShowPreview(p) {
  legacyState.preview = p;
  $("legacy-preview-card").hidden = false;
  $("legacy-counts").textContent = legacyCounts(p.counts);
  const errors = clear($("legacy-errors").querySelector("tbody"));
  for (const e of p.errors) {
    errors.append(h("tr", { "data-row": e.row, class: "error-row" }, h("td", { class: "num" }, e.row),
      h("td", {}, LEGACY_FIELDS[e.field] || e.field), h("td", {}, e.message)));
  }
  $("legacy-errors").hidden = !p.errors.length;
  const sample = clear($("legacy-sample").querySelector("tbody"));
  for (const r of p.sample || []) {
    sample.append(h("tr", {}, h("td", { class: "num" }, r.row), h("td", {}, r.status === "new" ? "新增" : "有变化"),
      h("td", {}, r.name_masked), h("td", {}, r.id_masked), h("td", {}, r.region_name), h("td", {}, r.first_work_date || ""),
      h("td", { class: "num" }, r.ce_years), h("td", { class: "num" }, r.past_employers)));
  }
  $("legacy-sample").hidden = !(p.sample || []).length;
  $("legacy-fix").hidden = !(p.counts && p.counts.error_rows);
  $("legacy-confirm").disabled = !p.confirmable;
  $("legacy-confirm").hidden = p.state !== "previewed";
}

async function legacyPreview() {
  const file = $("legacy-file").files[0];
  if (!file) { flash("请先选择文件"); return; }
  legacyState.file = file;
  try {
    const p = await legacyUpload(LEGACY + "/imports?file_name=" + encodeURIComponent(file.name), file);
    legacyShowPreview(p);
    await legacyHistory();
  } catch (e) {
    $("legacy-preview-card").hidden = true;
    flash(e.message);
  }
}

async function legacyConfirm() {
  const p = legacyState.preview;
  if (!p || !legacyState.file) return;
  $("legacy-confirm").disabled = true;
  try {
    const done = await legacyUpload(LEGACY + "/imports/" + p.id + "/confirm", legacyState.file);
    legacyShowPreview({ ...done, sample: [] });
    $("legacy-counts").textContent = "已导入：新增 " + done.written.new + "，更新 " + done.written.changed +
      "，无变化跳过 " + done.counts.unchanged + "。";
    flash("导入完成", true);
    await Promise.all([legacyHistory(), legacyPending()]);
  } catch (e) {
    flash(e.message);
    $("legacy-confirm").disabled = false;
  }
}

async function legacyHistory() {
  const data = await api("GET", LEGACY + "/imports");
  const body = clear($("legacy-history").querySelector("tbody"));
  for (const i of data.items) {
    const c = i.counts || {};
    body.append(h("tr", { "data-id": i.id }, h("td", {}, fmtTime(i.at)), h("td", {}, i.by), h("td", {}, i.file_name),
      h("td", {}, LEGACY_STATES[i.state] || i.state), h("td", { class: "num" }, c.rows), h("td", { class: "num" }, c.error_rows),
      h("td", { class: "num" }, c.new), h("td", { class: "num" }, c.changed), h("td", { class: "num" }, c.unchanged),
      h("td", { class: "muted", title: i.sha256 }, (i.sha256 || "").slice(0, 12))));
  }
  if (!data.items.length) body.append(h("tr", {}, h("td", { colspan: 10, class: "muted" }, "尚无导入记录")));
}

async function legacyMismatches() {
  const data = await api("GET", LEGACY + "/mismatches?page=" + legacyState.mismatchPage + "&page_size=20");
  const body = clear($("legacy-mismatches").querySelector("tbody"));
  for (const r of data.items) {
    body.append(h("tr", { "data-id": r.id }, h("td", {}, r.opened_at ? fmtTime(r.opened_at.replace(" ", "T") + "Z") : ""),
      h("td", {}, r.register_name_masked), h("td", {}, r.record_name_masked), h("td", {}, r.id_masked),
      h("td", {}, h("a", { href: "#/legacy", onclick: (ev) => { ev.preventDefault(); legacyCase(r.id); } }, "核实"))));
  }
  if (!data.items.length) body.append(h("tr", {}, h("td", { colspan: 5, class: "muted" }, "没有待核实的人员")));
  pager($("legacy-mismatch-pager"), data, (page) => { legacyState.mismatchPage = page; legacyMismatches(); });
}

async function legacyCase(id) {
  const c = await api("GET", LEGACY + "/mismatches/" + id);
  const card = clear($("legacy-case"));
  card.hidden = false;
  const note = h("input", { type: "text", id: "legacy-case-note", maxlength: 200, placeholder: "核实情况（选填）" });
  const act = async (action) => {
    try {
      await api("POST", LEGACY + "/mismatches/" + id + "/resolve", { action, note: note.value || null });
      flash(action === "link" ? "已关联原档案" : "已驳回", true);
      card.hidden = true;
      await legacyMismatches();
    } catch (e) { flash(e.message); }
  };
  card.append(h("h2", {}, "核实：" + c.id_masked),
    h("dl", { class: "pairs" }, h("dt", {}, "原档案姓名"), h("dd", { id: "legacy-case-register" }, c.register_name),
      h("dt", {}, "本人填写的姓名"), h("dd", { id: "legacy-case-record" }, c.record_name),
      h("dt", {}, "所在区"), h("dd", {}, c.region_name), h("dt", {}, "状态"), h("dd", {}, c.state_label)),
    c.state === "open" ? h("div", { class: "ann-head" }, note,
      h("button", { type: "button", onclick: () => act("link") }, "核实为本人，关联原档案"),
      h("button", { type: "button", class: "secondary", onclick: () => act("dismiss") }, "不是本人，驳回")) : null);
}

async function legacyPending() {
  const data = await api("GET", LEGACY + "/pending");
  const body = clear($("legacy-pending").querySelector("tbody"));
  for (const d of data.items) {
    const label = d.state === "building" ? "统计中…" : d.state === "failed" ? "统计失败" : fmtTime(d.computed_at);
    body.append(h("tr", { "data-region": d.region_code }, h("td", {}, d.region_name),
      h("td", { class: "num" }, d.ready ? d.register_people : "—"),
      h("td", { class: "num" }, d.ready ? h("a", { href: "#/legacy", onclick: (ev) => { ev.preventDefault(); legacyPendingPage(d.region_code, 1); } }, d.not_collected) : "—"),
      h("td", {}, label || "尚未统计"),
      h("td", {}, h("button", { type: "button", class: "secondary", onclick: async () => {
        try { await api("POST", LEGACY + "/pending/" + d.region_code + "/refresh"); flash("已开始重新统计", true); await legacyPending(); }
        catch (e) { flash(e.message); }
      } }, "重新统计"))));
  }
}

async function legacyPendingPage(region, page) {
  const data = await api("GET", LEGACY + "/pending/" + region + "?page=" + page + "&page_size=20");
  $("legacy-pending-card").hidden = false;
  $("legacy-pending-title").textContent = data.region_name + "：尚未采集 " + data.not_collected + " 人";
  const body = clear($("legacy-pending-list").querySelector("tbody"));
  for (const r of data.items) body.append(h("tr", {}, h("td", {}, r.name_masked), h("td", {}, r.id_masked), h("td", {}, r.archive_no_old || "")));
  pager($("legacy-pending-pager"), { total: data.not_collected, page: data.page, page_size: data.page_size },
    (p) => legacyPendingPage(region, p));
}
