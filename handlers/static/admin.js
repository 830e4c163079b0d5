/* 会计人员信息采集 · 审核管理: a small vanilla-JS page over /admin/api/ (no external resources). */
"use strict";

const state = { me: null, queue: { page: 1 }, audit: { page: 1 }, ann: { page: 1, editing: null }, record: null,
                docTab: null, camp: { editing: null },
                faq: { offset: 0, topics: [], editing: null, miss: null }, zoomFrom: null };

/* ---------- helpers ---------- */

function $(id) { return document.getElementById(id); }

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") el.className = v;
    else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

function clear(el) { while (el.firstChild) el.removeChild(el.firstChild); return el; }

function cookie(name) {
  const hit = document.cookie.split("; ").find((c) => c.startsWith(name + "="));
  return hit ? decodeURIComponent(hit.slice(name.length + 1)) : "";
}

const timeFmt = new Intl.DateTimeFormat("zh-CN", {
  timeZone: "Asia/Shanghai", year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit",
  hour12: false,
});
function fmtTime(iso) { return iso ? timeFmt.format(new Date(iso)).replace(/\//g, "-") : ""; }

function flash(message, ok) {
  const el = $("flash");
  el.textContent = message;
  el.className = ok ? "flash ok" : "flash";
  el.hidden = false;
  clearTimeout(flash.timer);
  flash.timer = setTimeout(() => { el.hidden = true; }, 5000);
}

class ApiError extends Error {
  constructor(status, body) {
    const err = (body && body.error) || {};
    super(err.message || "请求失败（" + status + "）");
    this.status = status;
    this.code = err.code || "";
    this.body = body;
  }
}

/* fetch with the session cookie, asking for JSON: { resp, data } (data null when the answer is not
   JSON); ApiError 0 `network` when the request could not be made. */
async function fetchJson(method, path, headers, body) {
  let resp;
  try {
    resp = await fetch(path, { method, headers: { Accept: "application/json", ...headers }, credentials: "same-origin",
                               body });
  } catch (e) {
    throw new ApiError(0, { error: { code: "network", message: "网络连接失败，请检查网络后重试" } });
  }
  let data = null;
  try { data = await resp.json(); } catch (e) { data = null; }
  return { resp, data };
}

/* POST a file (a File, or FormData) as the request body, with the XSRF token and `headers`: the JSON
   answer, or ApiError. Used by the import views (admin_legacy.js, admin_credits.js). */
async function postFile(path, body, headers) {
  const { resp, data } = await fetchJson("POST", path,
    { ...headers, "X-XSRF-Token": state.xsrf || cookie("kjcj_xsrf") }, body);
  if (!resp.ok) throw new ApiError(resp.status, data);
  return data;
}

async function api(method, path, body) {
  const headers = {};
  if (method !== "GET") {
    headers["X-XSRF-Token"] = state.xsrf || cookie("kjcj_xsrf");
    headers["Content-Type"] = "application/json";
  }
  const { resp, data } = await fetchJson(method, path, headers, body === undefined ? undefined : JSON.stringify(body));
  if (!resp.ok) {
    const err = new ApiError(resp.status, data);
    if (resp.status === 401 && !path.endsWith("/login")) { showLogin(); }
    throw err;
  }
  return data;
}

function badge(status, label) { return h("span", { class: "badge " + status }, label); }
function rareBadge() { return h("span", { class: "badge warn", title: "姓名含生僻字" }, "生僻字"); }
function recordLink(id, text) { return h("a", { href: "#/record/" + id }, text || "查看"); }
function regionName(code) {
  const d = ((state.me && state.me.districts) || []).find((x) => x.code === code);
  return d ? d.name : (code || "");
}

/* Transfers (调转): the three kinds, the far end of a transfer out or in, and who is awaited when
   the caller's district has no step to take (the table's open states, per kind). */
const TRANSFER_KINDS = ["transfer_within", "transfer_out", "transfer_in"];
const OUTSIDE = "区外";
const TRANSFER_WAITING = {
  transfer_within: { submitted: ["调出地", "审核"], released: ["调入地", "接收"] },
  transfer_out: { submitted: ["调出地", "审核"] },
  transfer_in: { submitted: ["调入地", "审核"] },
};
function isTransfer(kind) { return TRANSFER_KINDS.includes(kind); }
/* A transfer or an account recovery is refused (不同意), not sent back for editing. */
function refuses(kind) { return isTransfer(kind) || kind === "recovery"; }
function kindLabel(kind) { return ((state.me && state.me.kinds[kind]) || {}).label || kind || ""; }

/* A queue row's 调出地 → 调入地 (the caller knows the names of its own districts only). */
function transferRoute(r) {
  const here = r.region_name || r.region_code || "";
  if (r.kind === "transfer_out") return here + " → " + OUTSIDE;
  if (r.kind === "transfer_in") return OUTSIDE + " → " + here;
  return here + " → " + regionName(r.to_region);
}

function fillSelect(select, options, value) {
  clear(select);
  for (const [v, label] of options) select.append(h("option", { value: v }, label));
  select.value = value || "";
}

/* ---------- views ---------- */

const VIEWS = ["login", "queue", "record", "sample", "stats", "compliance", "audit", "announcements", "campaigns", "faq",
               "legacy", "units", "credits"];

function show(view) {
  for (const v of VIEWS) $("view-" + v).hidden = v !== view;
  for (const a of document.querySelectorAll("#nav a")) a.classList.toggle("active", a.dataset.view === view);
  $("nav").hidden = view === "login";
  $("who").hidden = view === "login";
}

function showLogin() {
  state.me = null;
  show("login");
  $("login-username").focus();
}

async function route() {
  if (!state.me) {
    try {
      state.me = await api("GET", "/admin/api/me");
    } catch (e) {
      if (e.status !== 401) flash(e.message);
      showLogin();
      return;
    }
    setupMe();
  }
  const hash = location.hash || "#/queue";
  const m = hash.match(/^#\/record\/([0-9a-f]{24})$/);
  try {
    if (m) await openRecord(m[1]);
    else if (hash === "#/sample") show("sample");
    else if (hash === "#/stats") await openStats();
    else if (hash === "#/compliance") await openCompliance();  // admin_compliance.js
    else if (hash === "#/audit") await openAudit();
    else if (hash === "#/announcements") await openAnnouncements();
    else if (hash === "#/campaigns") await openCampaigns();
    else if (hash === "#/legacy") await openLegacy();  // admin_legacy.js
    else if (hash === "#/units") await openUnits();  // admin_units.js
    else if (hash === "#/credits") await openCredits();  // admin_credits.js
    else if (hash === "#/faq") await openFaq();
    else await openQueue();
  } catch (e) {
    if (e.status !== 401) flash(e.message);
  }
}

function setupMe() {
  const me = state.me;
  $("who-name").textContent = me.username + "（" + me.role_label + (me.role === "reviewer"
    ? "：" + me.districts.map((d) => d.name).join("、") : "") + "）";
  const regions = [["", "全部（本人辖区）"]].concat(me.districts.map((d) => [d.code, d.name]));
  fillSelect($("f-region"), regions, "");
  fillSelect($("s-region"), regions, "");
  fillSelect($("f-kind"), Object.entries(me.kinds).map(([k, v]) => [k, v.label]), "collection");
  fillStatuses("submitted");
  fillSelect($("ann-scope"), (me.role === "city_admin" ? [["city", "全市"]] : [])
    .concat(me.districts.map((d) => [d.code, d.name])), "");
  fillSelect($("ann-state"), [["", "全部"]].concat(Object.entries(ANN_STATES)), "");
  const box = clear($("reason-templates"));
  for (const reason of me.reject_reasons) {
    box.append(h("label", {}, h("input", { type: "checkbox", value: reason, name: "reason_code" }), reason));
  }
}

function fillStatuses(value) {
  const kind = state.me.kinds[$("f-kind").value] || state.me.kinds.collection;
  fillSelect($("f-status"), [["", "全部状态"]].concat(Object.entries(kind.states)), value);
}

$("f-kind").addEventListener("change", () => fillStatuses("submitted"));

function actionLabel(action) { return ANN_ACTIONS[action] || (state.me && state.me.actions[action]) || action; }

/* A state as staff read it: the kind's own label (/admin/api/me `kinds`), else the first collection's. */
function stateLabel(kind, status) {
  if (!status) return "—";  // the step that created the application
  if (kind === "announcement") return ANN_RECORD_STATES[status] || status;
  const kinds = (state.me && state.me.kinds) || {};
  const own = (kinds[kind] || {}).states || {};
  return own[status] || ((kinds.collection || {}).states || {})[status] || status;
}

/* An audit entry's state change in words, e.g. "待审核 → 已退回" (the internal versions are not shown). */
function stateChange(e) {
  const before = stateLabel(e.kind, e.before && e.before.status);
  const after = stateLabel(e.kind, e.after && e.after.status);
  return before === after ? after : before + " → " + after;
}

/* ---------- login ---------- */

$("login-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  $("login-error").textContent = "";
  $("login-submit").disabled = true;
  try {
    const me = await api("POST", "/admin/api/login", {
      username: $("login-username").value, password: $("login-password").value });
    state.xsrf = me.xsrf_token;
    state.me = null;
    $("login-password").value = "";
    if (!location.hash || location.hash === "#/login") location.hash = "#/queue";
    await route();
  } catch (e) {
    $("login-error").textContent = e.message;
  } finally {
    $("login-submit").disabled = false;
  }
});

$("logout").addEventListener("click", async () => {
  try { await api("POST", "/admin/api/logout"); } catch (e) { /* signed out anyway */ }
  state.xsrf = "";
  showLogin();
});

/* ---------- queue ---------- */

function queueQuery() {
  const p = new URLSearchParams();
  for (const [k, id] of [["kind", "f-kind"], ["status", "f-status"], ["region", "f-region"], ["q", "f-q"]]) {
    const v = $(id).value.trim();
    if (v) p.set(k, v);
  }
  return p;
}

async function openQueue() {
  show("queue");
  const p = queueQuery();
  const exportParams = new URLSearchParams(p);
  exportParams.delete("q");
  exportParams.delete("kind");
  $("export-link").href = "/admin/api/export.xlsx" + (exportParams.toString() ? "?" + exportParams : "");
  $("q-region-head").textContent = isTransfer(p.get("kind")) ? "调出地 → 调入地" : "所在区";
  p.set("page", state.queue.page);
  p.set("page_size", 20);
  const data = await api("GET", "/admin/api/applications?" + p);
  const body = clear($("queue-table").tBodies[0]);
  if (!data.items.length) body.append(h("tr", {}, h("td", { colspan: 8, class: "muted" }, "没有符合条件的记录")));
  for (const r of data.items) {
    body.append(h("tr", { "data-id": r.id },
      h("td", {}, recordLink(r.id, r.name || "（未填姓名）"), " ", r.rare_name ? rareBadge() : null, unitBadge(r)),
      h("td", {}, r.id_number), h("td", {}, r.mobile), h("td", {}, r.unit_name),
      h("td", { class: "region" }, isTransfer(r.kind) ? transferRoute(r) : r.region_name), h("td", {}, badge(r.status, (r.kind !== "collection" ? r.kind_label + "·" : "") + r.status_label)),
      h("td", {}, fmtTime(r.submitted_at)), h("td", {}, recordLink(r.id, "审核"))));
  }
  pager($("queue-pager"), data, (page) => { state.queue.page = page; openQueue().catch((e) => flash(e.message)); });
}

function pager(el, data, go) {
  clear(el);
  const pages = Math.max(1, Math.ceil(data.total / data.page_size));
  el.append(h("span", { class: "muted" }, "共 " + data.total + " 条，第 " + data.page + " / " + pages + " 页"));
  el.append(h("button", { type: "button", disabled: data.page <= 1, onclick: () => go(data.page - 1) }, "上一页"));
  el.append(h("button", { type: "button", disabled: data.page >= pages, onclick: () => go(data.page + 1) }, "下一页"));
}

$("queue-filters").addEventListener("submit", (ev) => {
  ev.preventDefault();
  state.queue.page = 1;
  if (location.hash !== "#/queue") location.hash = "#/queue";
  else openQueue().catch((e) => flash(e.message));
});

/* ---------- record ---------- */

async function openRecord(id) {
  showRecord(await api("GET", "/admin/api/applications/" + id));
}

function showChange(r) {
  $("r-change-card").hidden = !r.change;
  if (!r.change) return;
  const body = clear($("r-change").tBodies[0]);
  for (const row of r.change.rows) {
    body.append(h("tr", { "data-path": row.path }, h("td", {}, row.label),
      h("td", { class: "old" }, row.old_display || "—"), h("td", { class: "new" }, row.new_display || "—")));
  }
  if (!r.change.rows.length) body.append(h("tr", {}, h("td", { colspan: 3, class: "muted" }, "等待本人提交更正")));
  const ordered = r.change.ordered ? "责令改正（" + r.change.ordered.by + "）：" + r.change.ordered.reason + "。" : "";
  $("r-change-reason").textContent = ordered + (r.change.reason ? "变更说明：" + r.change.reason : "");
}

function showArchive(r) {
  const a = r.archive;
  $("r-archive-card").hidden = !a || r.kind === "change";
  $("spot-card").hidden = !a || r.kind !== "collection" || r.status !== "approved";
  $("spot-error").textContent = "";
  $("spot-reason").value = "";
  if (!a) return;
  const list = clear($("r-versions"));
  const t = r.transfer || {};
  const names = { [t.from_region]: t.from_region_name, [t.to_region]: t.to_region_name };
  const shown = (d, v) => v === null || v === undefined ? "—"
    : d.field === "region_code" ? (names[v] || regionName(v)) : v;
  for (const v of a.versions) {
    const diff = v.diff.map((d) => d.label + "：" + shown(d, d.old) + " → " + shown(d, d.new)).join("；");
    list.append(h("li", {}, "第" + v.version + "版 " + fmtTime(v.at) + "（" + kindLabel(v.kind) +
      "，" + (v.by === "self" ? "本人" : v.by) + "）" + (diff ? "：" + diff : "")));
  }
  for (const c of a.spot_checks || []) {
    list.append(h("li", { class: "muted" }, fmtTime(c.at) + " " + c.label + "（" + c.by + "）" + (c.reason ? "：" + c.reason : "")));
  }
}

function showTransfer(r) {
  const t = r.transfer;
  $("r-transfer-card").hidden = !t;
  const dl = clear($("r-transfer"));
  if (!t) return;
  const row = (label, value, key) => dl.append(h("dt", {}, label), h("dd", { "data-key": key }, value || "—"));
  row("类型", kindLabel(t.kind), "kind");
  row("调出地 → 调入地", (t.from_region_name || OUTSIDE) + " → " + (t.to_region_name || OUTSIDE), "route");
  row("原因", t.reason_label || t.reason, "reason");
  row("说明", t.note, "note");
  if (t.sheet_url) {
    row("调转信息表", h("a", { href: t.sheet_url, download: "", id: "r-transfer-sheet" }, "下载调转信息表（PDF）"), "sheet");
  }
}

/* Who an open transfer waits for when the caller's district has no step in this state ("" otherwise). */
function waitingNote(r) {
  const step = r.transfer && (TRANSFER_WAITING[r.kind] || {})[r.status];
  if (!step) return "";
  const [end, verb] = step;
  const name = end === "调出地" ? r.transfer.from_region_name : r.transfer.to_region_name;
  return "等待" + end + (name ? "（" + name + "）" : "") + "财政局" + verb;
}

/* The closing line of a decided application: a transfer's step in its own words. */
function closedNote(r) {
  if (!r.decision) return "该记录当前为“" + r.status_label + "”，不需要审核。";
  const d = r.decision;
  const step = [...r.history].reverse().find((e) => e.action === d.decision && e.by === d.by);
  const said = refuses(r.kind) && step && step.label
    ? step.label : "已" + (d.decision === "approve" ? "通过" : "退回");
  return said + "（" + d.by + "，" + fmtTime(d.at) + "）" + (d.reason ? "：" + d.reason : "");
}

function historyLine(e) {
  const who = e.by === "self" ? "本人" : e.by;
  return [e.label || actionLabel(e.action || e.status), e.district, who, fmtTime(e.at)].filter(Boolean).join(" · ") +
    (e.reason ? "：" + e.reason : "");
}

function showRecord(r) {
  state.record = r;
  show("record");
  $("r-name").textContent = r.name || "（未填姓名）";
  $("r-name").className = r.rare_name ? "rare" : "";
  const st = $("r-status");
  st.textContent = r.status_label;
  st.className = "badge " + r.status;
  $("r-rare").hidden = !r.rare_name;
  $("r-rare").textContent = "含生僻字：" + r.rare_characters.join(" ");
  $("r-late").hidden = !r.late;
  $("r-meta").textContent = r.kind_label + " · " + r.region_name +
    (r.submitted_at ? " · 提交于 " + fmtTime(r.submitted_at) : "");
  showTransfer(r);
  showChange(r);
  showArchive(r);
  showRecovery(r);
  showAssessments(r);  // admin_assessments.js
  showUnitInfo(r);  // admin_units.js

  const sections = clear($("r-sections"));
  for (const s of r.sections) {
    const dl = h("dl", { class: "fields" });
    for (const f of s.fields) dl.append(h("dt", {}, f.label), h("dd", { "data-path": f.path }, f.display || "—"));
    sections.append(h("div", { class: "card" }, h("h2", {}, s.label), dl));
  }

  showPhoto(r);

  // the document the reviewer was looking at stays selected when the record is shown again (after a decision)
  const tabs = clear($("r-doc-tabs"));
  const view = clear($("r-doc-view"));
  const kept = state.docTab && state.docTab.id === r.id ? state.docTab.kind : null;
  const selected = Math.max(0, r.documents.findIndex((d) => d.kind === kept));
  r.documents.forEach((d, i) => {
    const btn = h("button", { type: "button", "data-kind": d.kind, onclick: () => showDoc(d, btn) }, d.label);
    tabs.append(btn);
    if (i === selected) showDoc(d, btn);
  });
  if (!r.documents.length) view.append(h("p", { class: "muted" }, "未上传证明材料"));

  const hist = clear($("r-history"));
  for (const e of r.history) hist.append(h("li", {}, historyLine(e)));
  const notices = clear($("r-notices"));
  const states = { pending: "待发送", sending: "发送中", sent: "已发送", failed: "发送失败", skipped: "用户未订阅，仅站内消息" };
  for (const n of r.notices) {
    notices.append(h("li", {}, fmtTime(n.created_at) + " " + n.title + " — 微信通知：" +
      (states[n.delivery.state] || n.delivery.state || "") + (n.read_at ? "，已读" : "")));
  }
  if (!r.notices.length) notices.append(h("li", { class: "muted" }, "暂无"));
  loadRecordAudit(r.id);

  const open = r.actions.length > 0;
  $("decision-form").hidden = !open;
  $("decision-closed").hidden = open;
  const buttons = clear($("decision-actions"));
  for (const a of r.actions) {
    const btn = h("button", { type: "button", class: a.needs_reason ? "danger" : "primary", "data-action": a.action,
      "data-label": a.label, id: a.action + "-btn" }, a.label);
    btn.addEventListener("click", () => decide(a.action, btn, a.needs_reason));
    buttons.append(btn);
  }
  const waiting = open ? "" : waitingNote(r);
  $("decision-closed").textContent = waiting || closedNote(r);
  $("decision-closed").classList.toggle("waiting", !!waiting);
  const refuse = refuses(r.kind) ? "不同意" : "退回";
  $("reason-prompt").textContent = refuse + "原因（可多选）：";
  $("reason-text").placeholder = refuses(r.kind) ? "不同意时请说明原因" : "退回时请说明需要修改的内容";
  $("decision-error").textContent = "";
  $("reason-text").value = "";
  for (const c of document.querySelectorAll("#reason-templates input")) c.checked = false;
  resetConfirm();
}

/* An account recovery (账号找回) side by side: the archive's name, ID number, photo and ID documents
   on the left; what the applicant claims and uploaded on the right (the new images are the
   application's `documents`, so the document viewer and the photo card give way to this card). */
const ID_SCANS = ["id_front", "id_back", "passport_info", "passport_validity", "permit_front", "permit_back"];
const NEW_SCANS = ["recovery_selfie", "recovery_id_front", "recovery_id_back"];  // face, front, back: as on the left

function showRecovery(r) {
  const rc = r.recovery;
  $("view-record").classList.toggle("kind-recovery", !!rc);
  $("r-recovery-card").hidden = !rc;
  $("r-doc-card").hidden = !!rc;
  $("r-photo-card").hidden = !!rc;
  if (!rc) return;
  const archiveName = fieldDisplay(r, "profile.name");
  const archiveId = fieldDisplay(r, "profile.id_number");
  const row = (dl, label, value, key, mark) =>
    dl.append(h("dt", {}, label), h("dd", { "data-key": key }, value || "—", mark ? " " : null, mark));
  const match = (a, b) => {  // short, so that the rows stay beside the archive's
    const mark = sameText(a, b) ? badge("approved", "一致") : badge("rejected", "不一致");
    mark.title = "与档案比对";
    return mark;
  };

  const left = $("r-recovery-archive");
  const ldl = clear(left.querySelector("dl"));
  row(ldl, "姓名", archiveName, "name");
  row(ldl, "证件号码", archiveId, "id_number");
  row(ldl, "原微信账号", rc.old_account, "old_account");
  const lthumbs = clear(left.querySelector(".thumbs"));
  const photo = rc.archive_photo_url || (r.photo && r.photo.url);
  lthumbs.append(photo ? zoomFigure(photo, "档案照片", "photo") : h("p", { class: "muted" }, "档案中没有照片"));
  const rank = (d) => { const i = ID_SCANS.indexOf(d.kind); return i < 0 ? ID_SCANS.length : i; };
  const scans = [...rc.archive_documents].sort((a, b) => rank(a) - rank(b));  // front, back: as on the right
  for (const d of scans) lthumbs.append(zoomFigure(d.url, d.label, d.kind));
  if (!rc.archive_documents.length) lthumbs.append(h("p", { class: "muted" }, "档案中没有证件扫描件"));

  const right = $("r-recovery-new");
  const rdl = clear(right.querySelector("dl"));
  row(rdl, "姓名", rc.claimed_name, "name", match(rc.claimed_name, archiveName));
  row(rdl, "证件号码", rc.claimed_id_number, "id_number", match(rc.claimed_id_number, archiveId));
  row(rdl, "申请说明", rc.note, "note");
  const rthumbs = clear(right.querySelector(".thumbs"));
  const pairs = (d) => { const i = NEW_SCANS.indexOf(d.kind); return i < 0 ? NEW_SCANS.length : i; };
  for (const d of [...r.documents].sort((a, b) => pairs(a) - pairs(b))) {  // beside their archive counterparts
    const label = d.label.replace(/^找回申请：/, "");
    rthumbs.append((d.content_type || "").startsWith("image/") ? zoomFigure(d.url, label, d.kind)
      : h("figure", { "data-kind": d.kind }, h("a", { href: d.url, download: "" }, "下载 " + label)));
  }
  if (!r.documents.length) rthumbs.append(h("p", { class: "muted" }, "未上传"));
}

/* The display value of a field of the record's sections ("" when absent). */
function fieldDisplay(r, path) {
  for (const s of r.sections) for (const f of s.fields) if (f.path === path) return f.display || "";
  return "";
}

function sameText(a, b) { return (a || "").trim().toUpperCase() === (b || "").trim().toUpperCase(); }

/* An image with its caption, enlarged on click; a file that is not an image becomes a download link. */
function zoomFigure(url, label, kind) {
  const img = h("img", { src: url, alt: label });
  const fig = h("figure", { "data-kind": kind },
    h("button", { type: "button", class: "zoom", title: "点击查看大图", onclick: () => openPhoto(url) }, img),
    h("figcaption", {}, label));
  img.addEventListener("error", () => {
    clear(fig).append(h("a", { href: url, download: "" }, "下载 " + label), h("figcaption", {}, "（非图片文件，请下载后查看）"));
  });
  return fig;
}

const CHECK_RESULTS = { pass: "通过", fixed: "已自动处理", fail: "未通过" };

/* The photo (click to enlarge) and its checks, one per line. */
function showPhoto(r) {
  const photo = clear($("r-photo"));
  if (!r.photo) {
    photo.append(h("p", { class: "muted" }, "未上传照片"));
    return;
  }
  photo.append(h("button", { type: "button", class: "zoom", id: "r-photo-zoom", title: "点击查看大图",
    onclick: () => openPhoto(r.photo.url) }, h("img", { src: r.photo.url, alt: "证件照片（点击查看大图）" })));
  const checks = (r.photo.checks || []).map((c) => typeof c === "string" ? { message: c } : c);
  if (!checks.length) return;
  photo.append(h("ul", { class: "checks" }, checks.map((c) => h("li", { class: c.result || "", "data-check": c.check || "" },
    c.result ? h("span", { class: "result" }, CHECK_RESULTS[c.result] || c.result) : null,
    c.message || c.check || ""))));
}

function openPhoto(url) {
  state.zoomFrom = document.activeElement;
  $("photo-overlay-img").src = url;
  $("photo-overlay").hidden = false;
  $("photo-overlay-close").focus();
}

function closePhoto() {
  $("photo-overlay").hidden = true;
  const zoom = state.zoomFrom && state.zoomFrom.isConnected ? state.zoomFrom : $("r-photo-zoom");
  if (zoom) zoom.focus();
}

$("photo-overlay").addEventListener("click", closePhoto);
document.addEventListener("keydown", (ev) => { if (ev.key === "Escape" && !$("photo-overlay").hidden) closePhoto(); });

function showDoc(d, btn) {
  for (const b of document.querySelectorAll("#r-doc-tabs button")) b.classList.remove("active");
  btn.classList.add("active");
  state.docTab = { id: state.record && state.record.id, kind: d.kind };
  const view = clear($("r-doc-view"));
  delete view.dataset.loaded;
  if ((d.content_type || "").startsWith("image/")) {
    view.append(h("img", { src: d.url, alt: d.label }));
    view.append(h("p", {}, h("a", { href: d.url, target: "_blank", rel: "noopener" }, "在新窗口打开")));
  } else {
    // stored files are served sandboxed: a PDF is downloaded and opened outside the page
    view.append(h("p", { class: "muted" }, "PDF 文件，请下载后查看（" + Math.ceil((d.size || 0) / 1024) + " KB）"));
    view.append(h("p", {}, h("a", { href: d.url, download: "" }, "下载 " + d.label)));
  }
  if (typeof showHandoff === "function") showHandoff(view, state.docTab.id, d);  // admin_handoff.js
  view.dataset.loaded = "1";
}

async function loadRecordAudit(id) {
  const list = clear($("r-audit"));
  try {
    const data = await api("GET", "/admin/api/records/" + id + "/audit");
    for (const e of data.items) list.append(h("li", {}, auditLine(e, stepLabel(e))));
    if (!data.items.length) list.append(h("li", { class: "muted" }, "暂无"));
  } catch (e) { list.append(h("li", { class: "error" }, e.message)); }
}

/* An audit entry of the open record in its step's own words (an action's label differs by kind and step). */
function stepLabel(e) {
  const r = state.record;
  const step = r && r.id === e.record_id &&
    r.history.find((x) => x.action === e.action && x.from === e.before.status && x.status === e.after.status);
  return step ? step.label : "";
}

function auditLine(e, label) {
  return fmtTime(e.at) + " " + (e.actor === "self" ? "本人" : e.actor) + " " + (label || actionLabel(e.action)) +
    (e.reason ? "：" + e.reason : "") + "（" + stateChange(e) + "）";
}

let confirmTimer = null;
function resetConfirm() {
  clearTimeout(confirmTimer);
  for (const b of document.querySelectorAll("#decision-actions button")) {
    b.textContent = b.dataset.label;
    b.classList.remove("confirming");
  }
}

async function decide(decision, btn, needsReason) {
  $("decision-error").textContent = "";
  const codes = [...document.querySelectorAll("#reason-templates input:checked")].map((c) => c.value);
  const reason = $("reason-text").value.trim();
  if (needsReason && !codes.length && !reason) {
    $("decision-error").textContent = btn.dataset.label + "时请选择或填写原因";
    return;
  }
  if (!needsReason && codes.length) {
    $("decision-error").textContent = btn.dataset.label + "时请不要勾选退回原因";
    return;
  }
  if (!btn.classList.contains("confirming")) {  // second click confirms
    resetConfirm();
    btn.classList.add("confirming");
    btn.textContent = "确认" + btn.dataset.label;
    confirmTimer = setTimeout(resetConfirm, 6000);
    return;
  }
  resetConfirm();
  btn.disabled = true;
  try {
    const r = state.record;
    const after = await api("POST", "/admin/api/applications/" + r.id + "/decision",
                            { decision, version: r.version, reason, reason_codes: needsReason ? codes : [] });
    flash("已" + btn.dataset.label + "，已通知本人", true);
    showRecord(after);  // the decision answers with the updated record
  } catch (e) {
    $("decision-error").textContent = e.message;
    if (e.status === 409) {  // shown again as it is now; the reason stays (e.g. unit_confirmation_required)
      await openRecord(state.record.id).catch(() => {});
      $("decision-error").textContent = e.message;
    }
  } finally {
    btn.disabled = false;
  }
}

async function spotCheck(outcome) {
  $("spot-error").textContent = "";
  try {
    const after = await api("POST", "/admin/api/records/" + state.record.id + "/spot-check",
                            { outcome, reason: $("spot-reason").value.trim() });
    flash(outcome === "correction" ? "已责令改正，已通知本人" : "已登记抽查无误", true);
    showRecord(after);
  } catch (e) { $("spot-error").textContent = e.message; }
}

$("spot-confirmed").addEventListener("click", () => spotCheck("confirmed"));
$("spot-correction").addEventListener("click", () => spotCheck("correction"));

/* ---------- sample ---------- */

$("sample-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const p = new URLSearchParams({ n: $("s-n").value || "10" });
  if ($("s-region").value) p.set("region", $("s-region").value);
  try {
    const data = await api("GET", "/admin/api/records/sample?" + p);
    $("s-population").textContent = "已通过共 " + data.population + " 条，本次抽取 " + data.items.length + " 条";
    const body = clear($("sample-table").tBodies[0]);
    for (const r of data.items) {
      body.append(h("tr", {}, h("td", {}, recordLink(r.id, r.name), " ", r.rare_name ? rareBadge() : null),
        h("td", {}, r.id_number), h("td", {}, r.unit_name), h("td", {}, r.region_name),
        h("td", {}, fmtTime(r.decided_at)), h("td", {}, recordLink(r.id, "查看"))));
    }
  } catch (e) { flash(e.message); }
});

/* ---------- stats ---------- */

async function openStats() {
  show("stats");
  const data = await api("GET", "/admin/api/stats?days=30");
  const statuses = Object.entries(data.statuses);
  const table = $("stats-table");
  clear(table.tHead).append(h("tr", {}, h("th", {}, "所在区"),
    statuses.map(([, label]) => h("th", { class: "num" }, label)), h("th", { class: "num" }, "合计")));
  const body = clear(table.tBodies[0]);
  for (const d of data.districts) {
    body.append(h("tr", {}, h("td", {}, d.region_name),
      statuses.map(([s]) => h("td", { class: "num" }, d.counts[s])), h("td", { class: "num" }, d.total)));
  }
  body.append(h("tr", {}, h("th", {}, "合计"), statuses.map(([s]) => h("th", { class: "num" }, data.totals[s])),
    h("th", { class: "num" }, data.totals.total)));
  showFlows(data.transfer_flows || []);
  statsCharts(data);  // admin_compliance.js: progress per district, submissions per day, compliance per year
}

function showFlows(flows) {
  const body = clear($("stats-transfers").tBodies[0]);
  for (const f of flows) {
    const states = (state.me.kinds[f.kind] || {}).states || {};
    const detail = Object.entries(f.counts).filter(([, n]) => n).map(([s, n]) => (states[s] || s) + " " + n).join("，");
    body.append(h("tr", { "data-kind": f.kind }, h("td", {}, f.kind_label), h("td", {}, f.from_region_name),
      h("td", {}, f.to_region_name), h("td", { class: "num" }, f.pending),
      h("td", { class: "num" }, f.oldest_pending_days ?? "—"), h("td", { class: "num", title: detail }, f.total)));
  }
  if (!flows.length) body.append(h("tr", {}, h("td", { colspan: 6, class: "muted" }, "暂无调转申请")));
}

/* ---------- audit ---------- */

async function openAudit() {
  show("audit");
  const data = await api("GET", "/admin/api/audit?page=" + state.audit.page + "&page_size=50");
  const body = clear($("audit-table").tBodies[0]);
  for (const e of data.items) {
    body.append(h("tr", {}, h("td", {}, fmtTime(e.at)), h("td", {}, e.actor === "self" ? "本人" : e.actor),
      h("td", {}, e.name || ""),
      h("td", {}, regionName(e.region_code)), h("td", {}, actionLabel(e.action)),
      h("td", {}, e.reason || ""), h("td", {}, stateChange(e)),
      h("td", {}, e.kind === "announcement" ? h("a", { href: "#/announcements" }, "查看") : recordLink(e.record_id, "查看"))));
  }
  if (!data.items.length) body.append(h("tr", {}, h("td", { colspan: 8, class: "muted" }, "暂无审核记录")));
  pager($("audit-pager"), data, (page) => { state.audit.page = page; openAudit().catch((e) => flash(e.message)); });
}

/* ---------- announcements (公告) ---------- */

const ANN_STATES = { current: "发布中", scheduled: "待发布", expired: "已过期", withdrawn: "已撤回" };
const ANN_RECORD_STATES = { published: "已发布", withdrawn: "已撤回" };
const ANN_ACTIONS = { announcement_published: "发布公告", announcement_edited: "修改公告",
                      announcement_withdrawn: "撤回公告" };
const ANN_FIELDS = ["title", "body", "scope", "publish_at", "expire_at", "pinned", "push"];

/* <input type="datetime-local"> values are China time; the API takes and gives times with their offset. */
function toLocalInput(iso) {
  return new Date(new Date(iso).getTime() + 8 * 3600e3).toISOString().slice(0, 16);
}
function fromLocalInput(value) { return value ? value + ":00+08:00" : ""; }

async function openAnnouncements() {
  show("announcements");
  const p = new URLSearchParams({ page: state.ann.page, page_size: 20 });
  if ($("ann-state").value) p.set("state", $("ann-state").value);
  const data = await api("GET", "/admin/api/announcements?" + p);
  const body = clear($("ann-table").tBodies[0]);
  for (const a of data.items) {
    const actions = h("div", { class: "actions" });
    if (a.editable) {
      actions.append(h("button", { type: "button", class: "ann-edit", onclick: () => editAnnouncement(a) }, "修改"));
      const btn = h("button", { type: "button", class: "danger ann-withdraw" }, "撤回");
      btn.addEventListener("click", () => withdrawAnnouncement(a, btn));
      actions.append(btn);
    }
    const push = a.push ? a.push_state_label + (a.push_recipients !== null ? "（" + a.push_recipients + " 人）" : "") : "—";
    body.append(h("tr", { "data-id": a.id },
      h("td", { class: "title" }, a.pinned ? h("span", { class: "badge warn" }, "置顶") : null, " ", h("b", {}, a.title),
        h("div", { class: "body" }, a.body)),
      h("td", {}, a.scope_name), h("td", {}, fmtTime(a.publish_at)), h("td", {}, fmtTime(a.expire_at)),
      h("td", {}, badge(a.state, a.state_label)), h("td", {}, push), h("td", {}, a.created_by || ""),
      h("td", {}, actions)));
  }
  if (!data.items.length) body.append(h("tr", {}, h("td", { colspan: 8, class: "muted" }, "暂无公告")));
  pager($("ann-pager"), data, (page) => { state.ann.page = page; openAnnouncements().catch((e) => flash(e.message)); });
}

/* A form's field errors (a 422's `fields`) beside their inputs; the others on the form's error line. */
function formErrors(formId, errorId, list, labels) {
  for (const el of document.querySelectorAll("#" + formId + " [data-error]")) el.textContent = "";
  const rest = [];
  for (const f of list || []) {
    const el = document.querySelector("#" + formId + " [data-error='" + f.field + "']");
    if (el) el.textContent = f.message;
    else rest.push((f.field === "body" ? "" : ((labels || {})[f.field] || f.field) + "：") + f.message);
  }
  $(errorId).textContent = rest.join("；");
}

function fieldsOf(e) { return (e.status === 422 && e.body && e.body.error && e.body.error.fields) || null; }

function annErrors(list) { formErrors("ann-form", "ann-error", list); }

function annPushAllowed() {
  const a = state.ann.editing;
  const started = a && !["none", "pending"].includes(a.push_state);
  const allowed = $("ann-scope").value === "city" && !started;
  $("ann-push").disabled = !allowed;
  if (!allowed && !started) $("ann-push").checked = false;
  $("ann-push-label").classList.toggle("disabled", !allowed);
}

function annCount() { $("ann-body-count").textContent = $("ann-body").value.length + " / 2000"; }

function openAnnouncementForm(a) {
  state.ann.editing = a;
  annErrors([]);
  $("ann-form").hidden = false;
  $("ann-form-title").textContent = a ? "修改公告" : "发布公告";
  $("ann-save").textContent = a ? "保存修改" : "发布";
  const now = new Date().toISOString();
  $("ann-title").value = a ? a.title : "";
  $("ann-body").value = a ? a.body : "";
  $("ann-scope").value = a ? a.scope : $("ann-scope").options[0].value;
  $("ann-scope").disabled = false;
  $("ann-publish").value = toLocalInput(a ? a.publish_at : now);
  $("ann-expire").value = toLocalInput(a ? a.expire_at : new Date(Date.now() + 30 * 86400e3).toISOString());
  $("ann-pinned").checked = a ? a.pinned : false;
  $("ann-push").checked = a ? a.push : false;
  annPushAllowed();
  annCount();
  $("ann-title").focus();
}

function editAnnouncement(a) { openAnnouncementForm(a); $("ann-form").scrollIntoView({ block: "start" }); }

function annValues() {
  return {
    title: $("ann-title").value, body: $("ann-body").value, scope: $("ann-scope").value,
    publish_at: fromLocalInput($("ann-publish").value), expire_at: fromLocalInput($("ann-expire").value),
    pinned: $("ann-pinned").checked, push: $("ann-push").checked,
  };
}

$("ann-new").addEventListener("click", () => openAnnouncementForm(null));
$("ann-cancel").addEventListener("click", () => { $("ann-form").hidden = true; state.ann.editing = null; });
$("ann-scope").addEventListener("change", annPushAllowed);
$("ann-body").addEventListener("input", annCount);
$("ann-state").addEventListener("change", () => { state.ann.page = 1; openAnnouncements().catch((e) => flash(e.message)); });

$("ann-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  annErrors([]);
  const a = state.ann.editing;
  const values = annValues();
  const local = [];
  if (!values.title.trim()) local.push({ field: "title", message: "请填写标题" });
  if (!values.body.trim()) local.push({ field: "body", message: "请填写正文" });
  if (!values.expire_at) local.push({ field: "expire_at", message: "请选择截止时间" });
  if (local.length) { annErrors(local); return; }
  let payload = values;
  if (a) {  // an edit sends what changed (the stored times stay as they are unless edited)
    const before = { title: a.title, body: a.body, scope: a.scope, publish_at: fromLocalInput(toLocalInput(a.publish_at)),
                     expire_at: fromLocalInput(toLocalInput(a.expire_at)), pinned: a.pinned, push: a.push };
    payload = { version: a.version };
    for (const f of ANN_FIELDS) if (values[f] !== before[f]) payload[f] = values[f];
  } else if (!values.publish_at) {
    delete payload.publish_at;
  }
  $("ann-save").disabled = true;
  try {
    await api(a ? "PATCH" : "POST", "/admin/api/announcements" + (a ? "/" + a.id : ""), payload);
    flash(a ? "公告已修改" : "公告已发布", true);
    $("ann-form").hidden = true;
    state.ann.editing = null;
    state.ann.page = 1;
    await openAnnouncements();
  } catch (e) {
    if (e.status === 422) annErrors(e.body.error.fields);
    else $("ann-error").textContent = e.message;
  } finally {
    $("ann-save").disabled = false;
  }
});

/* A destructive button asks twice: the first click arms it (showing `asking`) for 6 s, the second
   confirms. True when this click confirms. */
function confirmed(btn, asking, label) {
  if (btn.classList.contains("confirming")) return true;
  btn.classList.add("confirming");
  btn.textContent = asking;
  setTimeout(() => { btn.classList.remove("confirming"); btn.textContent = label; }, 6000);
  return false;
}

async function withdrawAnnouncement(a, btn) {
  if (!confirmed(btn, "确认撤回", "撤回")) return;  // the first click arms, the second confirms
  btn.disabled = true;
  try {
    await api("DELETE", "/admin/api/announcements/" + a.id);
    flash("公告已撤回", true);
    await openAnnouncements();
  } catch (e) {
    flash(e.message);
    btn.disabled = false;
  }
}

/* ---------- campaign windows (采集时间) ---------- */

const CAMP_STATES = { upcoming: "未开始", open: "进行中", ended: "已结束" };
const CAMP_RULES = { refuse: "逾期拒收", mark_late: "标记逾期" };
const CAMP_FIELDS = ["title", "start", "end", "late_rule", "freeze_transfers", "reminder_days"];
const CAMP_LABELS = { title: "名称", start: "开始日期", end: "结束日期", kinds: "适用业务", late_rule: "截止后提交",
                      freeze_transfers: "暂停调转", reminder_days: "提醒天数", version: "版本", id: "编号" };

/* Today (or `days` from today) in China, as an ISO date. */
function chinaDay(days) { return new Date(Date.now() + 8 * 3600e3 + (days || 0) * 86400e3).toISOString().slice(0, 10); }

function campStateLabel(c) {
  if (c.state !== "open" || c.days_to_end === null || c.days_to_end === undefined) return CAMP_STATES[c.state] || c.state;
  return "进行中（" + (c.days_to_end ? "还有 " + c.days_to_end + " 天截止" : "今日截止") + "）";
}

function campReminder(c) {
  if (!c.reminder_days) return "不提醒";
  const sent = c.reminder && c.reminder.done_at ? "，已提醒 " + c.reminder.queued + " 人" : "";
  return "截止前 " + c.reminder_days + " 天" + (c.reminder_on ? "（" + c.reminder_on + "）" : "") + sent;
}

async function openCampaigns() {
  show("campaigns");
  const data = await api("GET", "/admin/api/campaigns");
  const edit = data.can_edit;
  $("camp-new").hidden = !edit;
  $("camp-readonly").hidden = edit;
  if (!edit) $("camp-form").hidden = true;
  $("camp-current").textContent = "今日规则：" + data.current.message;
  const body = clear($("camp-table").tBodies[0]);
  for (const c of data.campaigns) {
    const actions = h("div", { class: "actions" });
    if (edit) {
      actions.append(h("button", { type: "button", class: "camp-edit", onclick: () => editCampaign(c) }, "修改"));
      const btn = h("button", { type: "button", class: "danger camp-delete" }, "删除");
      btn.addEventListener("click", () => deleteCampaign(c, btn));
      actions.append(btn);
    }
    body.append(h("tr", { "data-id": c.id },
      h("td", {}, h("b", {}, c.title)), h("td", { class: "dates" }, c.label),
      h("td", {}, badge("camp-" + c.state, campStateLabel(c))),
      h("td", { title: c.late_rule_label }, CAMP_RULES[c.late_rule] || c.late_rule),
      h("td", {}, c.freeze_transfers ? "暂停调转" : "否"), h("td", {}, campReminder(c)),
      h("td", {}, c.updated_by ? c.updated_by + " " + fmtTime(c.updated_at) : ""), h("td", {}, actions)));
  }
  if (!data.campaigns.length) {
    body.append(h("tr", {}, h("td", { colspan: 8, class: "muted" }, "尚未设置采集时间（全年可提交）")));
  }
}

function campErrors(list) { formErrors("camp-form", "camp-error", list, CAMP_LABELS); }

function openCampaignForm(c) {
  state.camp.editing = c;
  campErrors([]);
  $("camp-form").hidden = false;
  $("camp-form-title").textContent = c ? "修改采集时间" : "新增采集时间";
  $("camp-title").value = c ? c.title : "";
  $("camp-start").value = c ? c.start : chinaDay(0);
  $("camp-end").value = c ? c.end : chinaDay(60);
  $("camp-reminder").value = c ? c.reminder_days : 7;
  $("camp-rule-" + (c ? c.late_rule : "refuse")).checked = true;
  $("camp-freeze").checked = c ? c.freeze_transfers : false;
  $("camp-title").focus();
}

function editCampaign(c) { openCampaignForm(c); $("camp-form").scrollIntoView({ block: "start" }); }

function campValues() {
  const days = $("camp-reminder").value.trim();
  return {
    title: $("camp-title").value.trim(), start: $("camp-start").value, end: $("camp-end").value,
    late_rule: (document.querySelector("input[name='camp-rule']:checked") || {}).value || "",
    freeze_transfers: $("camp-freeze").checked, reminder_days: /^[0-9]+$/.test(days) ? Number(days) : days,
  };
}

$("camp-new").addEventListener("click", () => openCampaignForm(null));
$("camp-cancel").addEventListener("click", () => { $("camp-form").hidden = true; state.camp.editing = null; });

$("camp-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  campErrors([]);
  const c = state.camp.editing;
  const values = campValues();
  const local = [];
  if (!values.title) local.push({ field: "title", message: "请填写名称" });
  if (!values.start) local.push({ field: "start", message: "请选择开始日期" });
  if (!values.end) local.push({ field: "end", message: "请选择结束日期" });
  if (values.reminder_days === "") local.push({ field: "reminder_days", message: "请填写提醒天数（0为不提醒）" });
  if (local.length) { campErrors(local); return; }
  let payload = values;
  if (c) {  // an edit sends what changed, with the version read
    payload = { version: c.version };
    for (const f of CAMP_FIELDS) if (values[f] !== c[f]) payload[f] = values[f];
    if (Object.keys(payload).length === 1) { $("camp-error").textContent = "没有要修改的内容"; return; }
  }
  $("camp-save").disabled = true;
  try {
    await api(c ? "PATCH" : "POST", "/admin/api/campaigns" + (c ? "/" + c.id : ""), payload);
    flash(c ? "采集时间已修改" : "采集时间已新增", true);
    $("camp-form").hidden = true;
    state.camp.editing = null;
    await openCampaigns();
  } catch (e) {
    if (fieldsOf(e)) campErrors(fieldsOf(e));
    else $("camp-error").textContent = e.message;
    if (e.status === 409) await openCampaigns().catch(() => {});  // changed by someone else: show theirs
  } finally {
    $("camp-save").disabled = false;
  }
});

async function deleteCampaign(c, btn) {
  if (!confirmed(btn, "确认删除", "删除")) return;  // the first click arms, the second confirms
  btn.disabled = true;
  try {
    await api("DELETE", "/admin/api/campaigns/" + c.id);
    flash("采集时间已删除", true);
    if (state.camp.editing && state.camp.editing.id === c.id) { $("camp-form").hidden = true; state.camp.editing = null; }
    await openCampaigns();
  } catch (e) {
    flash(e.message);
    btn.disabled = false;
  }
}

/* ---------- FAQ (常见问题: the chat bot's topics and the questions it could not answer) ---------- */

const FAQ_PAGE = 20;
const FAQ_LISTS = ["keywords", "synonyms", "examples"];
const FAQ_FIELDS = ["title", "answer", "keywords", "synonyms", "examples", "disabled"];
const FAQ_LABELS = { id: "编号", title: "标题", answer: "回答", keywords: "关键词", synonyms: "同义词", examples: "示例问题",
                     disabled: "停用" };

function faqAdmin() { return !!state.me && state.me.role === "city_admin"; }
function faqTopic(id) { return state.faq.topics.find((t) => t.id === id); }
function lines(text) { return [...new Set(text.split("\n").map((s) => s.trim()).filter(Boolean))]; }

async function openFaq() {
  show("faq");
  const admin = faqAdmin();
  $("faq-readonly").hidden = admin;
  $("faq-new").hidden = !admin;
  if (!admin) { $("faq-form").hidden = true; $("faq-add-form").hidden = true; }
  await loadTopics();  // the misses' 加入到话题 lists the topics
  await loadMisses();
  await faqGroupsOpen();  // admin_faq.js: the misses grouped by similarity
}

async function loadMisses() {
  const data = await api("GET", "/admin/api/faq/misses?limit=" + FAQ_PAGE + "&offset=" + state.faq.offset);
  if (!data.items.length && state.faq.offset && data.total) {  // the last page emptied by deletions
    state.faq.offset = Math.floor((data.total - 1) / FAQ_PAGE) * FAQ_PAGE;
    return loadMisses();
  }
  const admin = faqAdmin();
  const body = clear($("faq-misses").tBodies[0]);
  for (const m of data.items) {
    const actions = h("div", { class: "actions" });
    if (admin) {
      actions.append(h("button", { type: "button", class: "faq-add", onclick: () => openAddToTopic(m) }, "加入到话题"));
      const del = h("button", { type: "button", class: "danger faq-miss-delete" }, "删除");
      del.addEventListener("click", () => deleteMiss(m, del));
      actions.append(del);
    }
    const candidates = m.candidates.length
      ? h("div", { class: "chips" }, m.candidates.map((c) => admin
        ? h("button", { type: "button", class: "chip", "data-topic": c.id, title: "加入到此话题",
                        onclick: () => openAddToTopic(m, c.id) }, c.title)
        : h("span", { class: "chip" }, c.title)))
      : h("span", { class: "muted" }, m.out_of_scope ? "超出咨询范围" : "无");
    body.append(h("tr", { "data-id": m.id },
      h("td", { class: "question", title: m.sample ? "最近一次原话：" + m.sample : null }, m.question),
      h("td", { class: "num count" }, m.count), h("td", {}, candidates), h("td", {}, fmtTime(m.last_at)),
      h("td", {}, actions)));
  }
  if (!data.items.length) body.append(h("tr", {}, h("td", { colspan: 5, class: "muted" }, "暂无未能回答的问题")));
  markMiss(!$("faq-add-form").hidden && state.faq.miss ? state.faq.miss.id : null);
  const page = { total: data.total, page_size: FAQ_PAGE, page: Math.floor(state.faq.offset / FAQ_PAGE) + 1 };
  pager($("faq-misses-pager"), page, (n) => {
    state.faq.offset = (n - 1) * FAQ_PAGE;
    loadMisses().catch((e) => flash(e.message));
  });
}

async function deleteMiss(m, btn) {
  if (!confirmed(btn, "确认删除", "删除")) return;  // the first click arms, the second confirms
  btn.disabled = true;
  try {
    await api("DELETE", "/admin/api/faq/misses/" + m.id);
    flash("已删除该问题", true);
    if (state.faq.miss && state.faq.miss.id === m.id) $("faq-add-form").hidden = true;
    await loadMisses();
  } catch (e) {
    flash(e.message);
    btn.disabled = false;
  }
}

/* 加入到话题: the question becomes an example (or a keyword) of a topic, the closest topics first. */
function openAddToTopic(m, topicId) {
  state.faq.miss = m;
  markMiss(m.id);
  $("faq-add-form").hidden = false;
  $("faq-add-question").textContent = m.question;
  const offered = m.candidates.map((c) => c.id);
  const option = (t) => h("option", { value: t.id }, t.title + (t.disabled ? "（已停用）" : ""));
  const select = clear($("faq-add-topic"));
  if (offered.length) {
    select.append(h("optgroup", { label: "相近话题" }, m.candidates.map((c) => option(faqTopic(c.id) || c))));
  }
  select.append(h("optgroup", { label: offered.length ? "其他话题" : "全部话题" },
    state.faq.topics.filter((t) => !offered.includes(t.id)).map(option)));
  select.value = topicId || offered[0] || (state.faq.topics[0] || {}).id || "";
  $("faq-add-as-examples").checked = true;
  $("faq-add-text").value = m.question;
  $("faq-add-delete").checked = true;
  $("faq-add-error").textContent = "";
  $("faq-add-form").scrollIntoView({ block: "nearest" });
  select.focus();
}

/* The question being added stays marked in the list. */
function markMiss(id) {
  for (const tr of $("faq-misses").tBodies[0].rows) tr.classList.toggle("selected", !!id && tr.dataset.id === id);
}

$("faq-add-cancel").addEventListener("click", () => { $("faq-add-form").hidden = true; state.faq.miss = null; markMiss(null); });

$("faq-add-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  $("faq-add-error").textContent = "";
  const m = state.faq.miss;
  const id = $("faq-add-topic").value;
  const field = document.querySelector("input[name='faq-add-as']:checked").value;
  const text = $("faq-add-text").value.trim();
  if (!id) { $("faq-add-error").textContent = "请选择话题"; return; }
  if (!text) { $("faq-add-error").textContent = "请填写要加入的内容"; return; }
  const what = field === "examples" ? "示例问题" : "关键词";
  $("faq-add-save").disabled = true;
  try {
    const topic = await api("GET", "/admin/api/faq/topics/" + id);  // its lists as they are now
    if (!topic[field].includes(text)) {
      await api("PATCH", "/admin/api/faq/topics/" + id, { [field]: topic[field].concat([text]) });
    }
    if ($("faq-add-delete").checked) await api("DELETE", "/admin/api/faq/misses/" + m.id);
    flash("已将“" + text + "”加入话题“" + topic.title + "”的" + what, true);
    $("faq-add-form").hidden = true;
    state.faq.miss = null;
    await loadTopics();
    await loadMisses();
  } catch (e) {
    const fields = fieldsOf(e);
    $("faq-add-error").textContent = fields
      ? fields.map((f) => (FAQ_LABELS[f.field] || f.field) + "：" + f.message).join("；") : e.message;
  } finally {
    $("faq-add-save").disabled = false;
  }
});

async function loadTopics() {
  const data = await api("GET", "/admin/api/faq/topics");
  state.faq.topics = data.topics;
  showTopics();
}

function topicSource(t) { return t.source === "staff" ? "新增" : t.edited ? "内置（已修改）" : "内置"; }

function showTopics() {
  const q = $("faq-filter").value.trim().toLowerCase();
  const admin = faqAdmin();
  const body = clear($("faq-topics").tBodies[0]);
  const shown = state.faq.topics.filter((t) => !q ||
    [t.id, t.title, ...t.keywords, ...t.synonyms, ...t.examples].some((s) => s.toLowerCase().includes(q)));
  for (const t of shown) {
    body.append(h("tr", { "data-id": t.id, class: t.disabled ? "disabled" : null },
      h("td", { class: "title" }, h("b", {}, t.title), h("div", { class: "muted small" }, t.id)),
      h("td", { class: "answer" }, h("div", { class: "body" }, t.answer)),
      h("td", { class: "num", title: "关键词 " + t.keywords.length + " 个，同义词 " + t.synonyms.length + " 个，示例问题 " +
        t.examples.length + " 个" }, t.keywords.length + " / " + t.examples.length),
      h("td", {}, topicSource(t)), h("td", {}, t.disabled ? badge("withdrawn", "已停用") : badge("current", "启用")),
      h("td", {}, t.updated_by ? t.updated_by + " " + fmtTime(t.updated_at) : "—"),
      h("td", {}, admin ? h("button", { type: "button", class: "faq-edit", onclick: () => editTopic(t) }, "修改") : null)));
  }
  if (!shown.length) body.append(h("tr", {}, h("td", { colspan: 7, class: "muted" }, "没有符合条件的话题")));
}

function faqErrors(list) { formErrors("faq-form", "faq-error", list, FAQ_LABELS); }
function faqCount() { $("faq-answer-count").textContent = $("faq-answer").value.length + " / 600"; }

function openTopicForm(t) {
  state.faq.editing = t;
  faqErrors([]);
  $("faq-form").hidden = false;
  $("faq-form-title").textContent = t ? "修改话题：" + t.title : "新增话题";
  $("faq-id-label").hidden = !!t;
  $("faq-id").value = t ? t.id : "";
  $("faq-title").value = t ? t.title : "";
  $("faq-answer").value = t ? t.answer : "";
  for (const f of FAQ_LISTS) $("faq-" + f).value = t ? t[f].join("\n") : "";
  $("faq-disabled").checked = t ? t.disabled : false;
  faqCount();
  (t ? $("faq-title") : $("faq-id")).focus();
}

function editTopic(t) { openTopicForm(t); $("faq-form").scrollIntoView({ block: "start" }); }

function topicValues() {
  const out = { title: $("faq-title").value.trim(), answer: $("faq-answer").value.trim(), disabled: $("faq-disabled").checked };
  for (const f of FAQ_LISTS) out[f] = lines($("faq-" + f).value);
  return out;
}

$("faq-new").addEventListener("click", () => { openTopicForm(null); $("faq-form").scrollIntoView({ block: "start" }); });
$("faq-cancel").addEventListener("click", () => { $("faq-form").hidden = true; state.faq.editing = null; });
$("faq-answer").addEventListener("input", faqCount);
$("faq-filter").addEventListener("input", showTopics);

$("faq-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  faqErrors([]);
  const t = state.faq.editing;
  const values = topicValues();
  const id = $("faq-id").value.trim();
  const local = [];
  if (!t && !id) local.push({ field: "id", message: "请填写编号" });
  if (!values.title) local.push({ field: "title", message: "请填写标题" });
  if (!values.answer) local.push({ field: "answer", message: "请填写回答" });
  if (!values.keywords.length && !values.examples.length) {
    local.push({ field: "keywords", message: "至少填写一个关键词或示例问题" });
  }
  if (local.length) { faqErrors(local); return; }
  let payload = { id, ...values };
  if (t) {  // an edit sends what changed (a built-in topic keeps the rest)
    payload = {};
    for (const f of FAQ_FIELDS) {
      const same = FAQ_LISTS.includes(f) ? values[f].join("\n") === t[f].join("\n") : values[f] === t[f];
      if (!same) payload[f] = values[f];
    }
    if (!Object.keys(payload).length) { $("faq-error").textContent = "没有要修改的内容"; return; }
  }
  $("faq-save").disabled = true;
  try {
    await api(t ? "PATCH" : "POST", "/admin/api/faq/topics" + (t ? "/" + t.id : ""), payload);
    flash((t ? "话题已保存" : "话题已新增") + "，公众号自动回复一分钟内使用新内容", true);
    $("faq-form").hidden = true;
    state.faq.editing = null;
    await loadTopics();
  } catch (e) {
    if (fieldsOf(e)) faqErrors(fieldsOf(e));
    else $("faq-error").textContent = e.message;
  } finally {
    $("faq-save").disabled = false;
  }
});

window.addEventListener("hashchange", route);
route();
