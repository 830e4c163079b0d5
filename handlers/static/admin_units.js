/* 单位管理 (server/units/): the verification queue of unit administrators, each district's
   "require the unit's confirmation before approval" setting, the units of the caller's districts
   with their administrators and their people's answers (报备确认); on the record page, the unit's
   confirmation of a first collection and a unit-administrator application (with revocation).
   Loaded before admin.js; uses its helpers ($, h, clear, api, flash, state, fmtTime, pager,
   recordLink, regionName, badge, show) only when called. The view is built here into #view-units. */
"use strict";

const UNIT_STATES = { pending: "待单位确认", confirmed: "单位已确认", denied: "单位未确认" };
const UNIT_BADGE = { pending: "submitted", confirmed: "approved", denied: "rejected" };
const unitState = { page: 1, region: "" };

/* The queue's flag beside a first collection's name: the unit's answer, when it has given one. */
function unitBadge(r) {
  const s = r.unit_confirmation;
  if (r.kind !== "collection" || (s !== "denied" && s !== "confirmed")) return null;
  return h("span", { class: "badge " + UNIT_BADGE[s], "data-unit": s, title: "工作单位报备确认" }, UNIT_STATES[s]);
}

function unitsBuild() {
  const view = $("view-units");
  if (view.dataset.built) return;
  view.dataset.built = "1";
  view.append(
    h("h1", {}, "单位管理"),
    h("div", { class: "card" },
      h("h2", {}, "单位管理员认证（待认证）"),
      h("table", { class: "grid", id: "unit-admin-queue" },
        h("thead", {}, h("tr", {}, h("th", {}, "申请人"), h("th", {}, "单位名称"), h("th", {}, "统一社会信用代码"),
          h("th", {}, "单位所在区"), h("th", {}, "提交时间"), h("th", {}, ""))),
        h("tbody"))),
    h("div", { class: "card" },
      h("h2", {}, "报备确认设置"),
      h("p", { class: "hint" }, "开启后，本区信息采集须经工作单位管理员确认（报备确认）后才能审核通过。"),
      h("ul", { class: "plain", id: "unit-settings" })),
    h("div", { class: "card" },
      h("div", { class: "ann-head" },
        h("h2", {}, "单位列表"),
        h("label", {}, "所在区", h("select", { id: "unit-region", onchange: () => {
          unitState.region = $("unit-region").value; unitState.page = 1; unitsLoadList().catch((e) => flash(e.message));
        } }))),
      h("table", { class: "grid", id: "unit-list" },
        h("thead", {}, h("tr", {}, h("th", {}, "单位名称"), h("th", {}, "统一社会信用代码"), h("th", {}, "所在区"),
          h("th", {}, "单位管理员"), h("th", { class: "num" }, "已确认"), h("th", { class: "num" }, "未确认"),
          h("th", { class: "num" }, "待确认"))),
        h("tbody")),
      h("div", { class: "pager", id: "unit-pager" })));
}

async function openUnits() {
  unitsBuild();
  show("units");
  const regions = [["", "全部（本人辖区）"]].concat(state.me.districts.map((d) => [d.code, d.name]));
  fillSelect($("unit-region"), regions, unitState.region);
  await Promise.all([unitsLoadQueue(), unitsLoadSettings(), unitsLoadList()]);
}

async function unitsLoadQueue() {
  const data = await api("GET", "/admin/api/applications?kind=unit_admin&status=submitted&page_size=100");
  const body = clear($("unit-admin-queue").tBodies[0]);
  if (!data.items.length) body.append(h("tr", {}, h("td", { colspan: 6, class: "muted" }, "暂无待认证的申请")));
  for (const r of data.items) {
    body.append(h("tr", { "data-id": r.id },
      h("td", {}, r.name), h("td", {}, r.unit_name), h("td", {}, r.unit_credit_code || ""),
      h("td", {}, r.region_name || regionName(r.region_code)), h("td", {}, fmtTime(r.submitted_at)),
      h("td", {}, recordLink(r.id, "认证"))));
  }
}

async function unitsLoadSettings() {
  const data = await api("GET", "/admin/api/unit-settings");
  const list = clear($("unit-settings"));
  for (const s of data.items) {
    const box = h("input", { type: "checkbox", "data-region": s.region_code, checked: s.require_unit_confirmation });
    box.addEventListener("change", async () => {
      box.disabled = true;
      try {
        await api("PUT", "/admin/api/unit-settings/" + s.region_code, { require_unit_confirmation: box.checked });
        flash(s.region_name + (box.checked ? "：审核通过前须经单位确认" : "：审核通过前无须单位确认"), true);
      } catch (e) {
        box.checked = !box.checked;
        flash(e.message);
      } finally { box.disabled = false; }
    });
    list.append(h("li", {}, h("label", { class: "check" }, box, s.region_name + "：审核通过前须经工作单位确认"),
      s.updated_by ? h("span", { class: "muted small" }, "（" + s.updated_by + "，" + fmtTime(s.updated_at) + "）") : null));
  }
}

async function unitsLoadList() {
  const p = new URLSearchParams({ page: unitState.page, page_size: 20 });
  if (unitState.region) p.set("region", unitState.region);
  const data = await api("GET", "/admin/api/units?" + p);
  const body = clear($("unit-list").tBodies[0]);
  if (!data.items.length) body.append(h("tr", {}, h("td", { colspan: 7, class: "muted" }, "暂无已认证管理员的单位")));
  for (const u of data.items) {
    body.append(h("tr", { "data-uscc": u.uscc },
      h("td", {}, u.name), h("td", {}, u.uscc), h("td", {}, u.region_name),
      h("td", {}, u.admins.map((a) => a.name + "（" + a.mobile + "）").join("、") || "—"),
      h("td", { class: "num" }, u.people.confirmed), h("td", { class: "num" }, u.people.denied),
      h("td", { class: "num" }, u.people.pending)));
  }
  pager($("unit-pager"), data, (page) => { unitState.page = page; unitsLoadList().catch((e) => flash(e.message)); });
}

/* The record page: the unit's confirmation of a first collection, or a unit-administrator application. */
function showUnitInfo(r) {
  let card = $("r-unit-card");
  if (!card) {
    card = h("div", { class: "card", id: "r-unit-card" });
    $("r-sections").before(card);
  }
  clear(card);
  card.hidden = !r.unit_confirmation && !r.unit_admin;
  if (r.unit_confirmation) unitConfirmationCard(card, r.unit_confirmation);
  if (r.unit_admin) unitAdminCard(card, r);
}

function unitConfirmationCard(card, u) {
  const dl = h("dl", { class: "fields" });
  const row = (label, value, key) => dl.append(h("dt", {}, label), h("dd", { "data-key": key }, value || "—"));
  row("确认结果", badge(UNIT_BADGE[u.state], u.state_label), "state");
  row("工作单位", u.unit_name + "（" + u.uscc + "）", "unit");
  if (u.state === "denied") row("未确认原因", u.reason, "reason");
  if (u.at) row("确认时间", fmtTime(u.at), "at");
  card.append(h("h2", {}, "工作单位报备确认"), dl);
  if (u.required_before_approval && u.state !== "confirmed") {
    card.append(h("p", { class: "error", id: "r-unit-required" }, "本区要求工作单位确认后才能审核通过。"));
  }
}

function unitAdminCard(card, r) {
  const a = r.unit_admin;
  const dl = h("dl", { class: "fields" });
  const row = (label, value, key) => dl.append(h("dt", {}, label), h("dd", { "data-key": key }, value || "—"));
  row("单位名称", a.unit_name, "unit_name");
  row("统一社会信用代码", a.uscc, "uscc");
  row("单位所在区", a.region_name, "region");
  row("申请人", a.applicant_name + (a.legal_representative ? "（法定代表人）" : "（受委托人，见授权委托书）"), "applicant");
  row("手机号码", a.mobile, "mobile");
  if (a.note) row("说明", a.note, "note");
  const admins = a.unit ? a.unit.admins.map((x) => x.name + "（" + x.mobile + "）").join("、") : "";
  row("该单位现有管理员", admins || "无", "admins");
  card.append(h("h2", {}, "单位管理员申请"), dl);
  if (a.revocable) card.append(h("p", { class: "muted", id: "r-unit-revocable" }, "已认证：如需撤销其管理员身份，请在右侧填写原因后点击“撤销管理员”。"));
}
