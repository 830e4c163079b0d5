/* 相似问题分组 (server/chat/miss_groups.py): the questions the chat bot could not answer, grouped by
   similarity, most asked groups first, each group's questions expandable. A city administrator deals
   with a group at once: adds chosen questions (as examples) and typed keywords to a topic, or creates
   a topic from it; the group's questions are then forgotten and the bot answers with the topic.
   Loaded before admin.js; uses its helpers ($, h, clear, api, flash, state, fmtTime, pager, faqAdmin,
   faqTopic, lines, fieldsOf, formErrors, loadTopics, loadMisses, FAQ_LABELS) only when called.
   The card and its form are built here into #view-faq; openFaq() calls faqGroupsOpen(). */
"use strict";

const FAQ_GROUP_PAGE = 10;
const FAQ_GROUP_EXAMPLES = 10;  // members ticked as examples by default (the most asked)
const FAQ_EXAMPLE_MAX = 100;  // characters of an example (server/chat/faq_admin.py LIST_LIMITS)
const faqGroups = { offset: 0, group: null, open: new Set() };

function faqGroupsBuild() {
  if ($("faq-groups")) return;
  const errorOf = (field) => h("span", { class: "error", "data-error": field });
  const card = h("div", { class: "card", id: "faq-groups-card" },
    h("h2", {}, "未能回答的问题（相似问题分组） ",
      h("span", { class: "muted small" }, "（按组内提问总次数从多到少；点击问题展开组内各种问法）")),
    h("p", { class: "muted small", id: "faq-groups-note" }),
    h("table", { class: "grid", id: "faq-groups" },
      h("thead", {}, h("tr", {}, h("th", {}, "代表问题"), h("th", { class: "num" }, "次数"),
        h("th", { class: "num" }, "问法数"), h("th", {}, "相近话题"), h("th", {}, "最近提问"), h("th", {}, ""))),
      h("tbody")),
    h("div", { class: "pager", id: "faq-groups-pager" }));
  const form = h("form", { id: "faq-group-form", class: "card ann-form", hidden: true, novalidate: true },
    h("h2", {}, "处理这组问题"),
    h("p", {}, "代表问题：", h("b", { id: "faq-group-question" }), " ", h("span", { class: "muted", id: "faq-group-count" })),
    h("div", { class: "radios", role: "radiogroup", "aria-label": "处理方式" },
      h("span", { class: "muted" }, "处理方式："),
      h("label", { class: "check" }, h("input", { type: "radio", name: "faq-group-action", id: "faq-group-action-add",
        value: "add_to_topic", checked: true, onchange: faqGroupAction }), "加入已有话题"),
      h("label", { class: "check" }, h("input", { type: "radio", name: "faq-group-action", id: "faq-group-action-create",
        value: "create_topic", onchange: faqGroupAction }), "新建话题")),
    h("div", { id: "faq-group-add" },
      h("label", {}, "话题", h("select", { id: "faq-group-topic" }), errorOf("topic"))),
    h("div", { id: "faq-group-create", hidden: true },
      h("label", {}, "编号（2-40位小写字母、数字或下划线，以字母开头）",
        h("input", { id: "faq-group-id", maxlength: 40, placeholder: "如 water_dispenser" }), errorOf("id")),
      h("label", {}, "标题", h("input", { id: "faq-group-title", maxlength: 40, placeholder: "最多40字" }), errorOf("title")),
      h("label", {}, "回答（纯文字，可换行）",
        h("textarea", { id: "faq-group-answer", rows: 5, maxlength: 600, placeholder: "最多600字" }), errorOf("answer"))),
    h("div", {}, h("span", { class: "muted" }, "勾选的问题加入为示例问题："),
      h("div", { id: "faq-group-members" }), errorOf("examples")),
    h("label", {}, "关键词（每行一个，可不填）", h("textarea", { id: "faq-group-keywords", rows: 3 }), errorOf("keywords")),
    h("p", { class: "muted small" }, "保存后，这组问题（含未列出的）从未回答列表中删除；公众号自动回复立即使用新内容（其他服务进程一分钟内）。"),
    h("p", { class: "error", id: "faq-group-error", role: "alert" }),
    h("div", { class: "actions" },
      h("button", { type: "submit", class: "primary", id: "faq-group-save" }, "保存"),
      h("button", { type: "button", id: "faq-group-cancel", onclick: faqGroupClose }, "取消")));
  form.addEventListener("submit", faqGroupSubmit);
  $("faq-misses").closest(".card").before(card, form);
}

async function faqGroupsOpen() {
  faqGroupsBuild();
  if (!faqAdmin()) faqGroupClose();
  await faqGroupsLoad();
}

async function faqGroupsLoad() {
  const data = await api("GET", "/admin/api/faq/miss-groups?limit=" + FAQ_GROUP_PAGE + "&offset=" + faqGroups.offset);
  if (!data.items.length && faqGroups.offset && data.total) {  // the last page emptied
    faqGroups.offset = Math.floor((data.total - 1) / FAQ_GROUP_PAGE) * FAQ_GROUP_PAGE;
    return faqGroupsLoad();
  }
  $("faq-groups-note").textContent = data.misses_total > data.misses_grouped
    ? "共 " + data.misses_total + " 个不同问题，按提问次数取前 " + data.misses_grouped + " 个分组；处理后其余问题依次进入分组。"
    : "共 " + data.misses_total + " 个不同问题。";
  const admin = faqAdmin();
  const body = clear($("faq-groups").tBodies[0]);
  for (const g of data.items) {
    const open = faqGroups.open.has(g.id);
    const toggle = h("button", { type: "button", class: "link faq-group-toggle", "aria-expanded": String(open),
                                 title: "展开或收起组内问法" }, (open ? "▾ " : "▸ ") + g.question);
    Object.assign(toggle.style, { color: "inherit", textAlign: "left" });  // CSSOM: the CSP allows no style attributes
    const chips = g.topics.length
      ? h("div", { class: "chips" }, g.topics.map((t) => h("span", { class: "chip", "data-topic": t.id }, t.title)))
      : null;
    const outside = g.out_of_scope_share > 0
      ? h("span", { class: "muted small" }, "超出咨询范围 " + Math.round(g.out_of_scope_share * 100) + "%") : null;
    const row = h("tr", { "data-id": g.id, class: faqGroups.group && faqGroups.group.id === g.id ? "selected" : null },
      h("td", { class: "question", title: g.sample ? "最近一次原话：" + g.sample : null }, toggle),
      h("td", { class: "num count" }, g.count), h("td", { class: "num size" }, g.size),
      h("td", {}, chips, outside, !chips && !outside ? h("span", { class: "muted" }, "无") : null),
      h("td", {}, fmtTime(g.last_at)),
      h("td", {}, admin ? h("button", { type: "button", class: "faq-group-resolve", onclick: () => faqGroupOpen(g) }, "处理") : null));
    const more = g.size > g.members.length ? h("li", { class: "muted" }, "另有 " + (g.size - g.members.length) + " 个问法未列出") : null;
    const members = h("tr", { class: "faq-group-members", "data-group": g.id, hidden: !open },
      h("td", { colspan: 6 }, h("ul", { class: "plain" },
        g.members.map((m) => h("li", { "data-member": m.id, title: m.sample ? "最近一次原话：" + m.sample : null },
          h("span", { class: "member-question" }, m.question), " ",
          h("span", { class: "muted" }, "×" + m.count + (m.out_of_scope ? "（超出咨询范围）" : "") + "，最近 " + fmtTime(m.last_at)))),
        more)));
    toggle.addEventListener("click", () => {
      const now = members.hidden;
      members.hidden = !now;
      toggle.setAttribute("aria-expanded", String(now));
      toggle.textContent = (now ? "▾ " : "▸ ") + g.question;
      if (now) faqGroups.open.add(g.id); else faqGroups.open.delete(g.id);
    });
    body.append(row, members);
  }
  if (!data.items.length) body.append(h("tr", {}, h("td", { colspan: 6, class: "muted" }, "暂无未能回答的问题")));
  const page = { total: data.total, page_size: FAQ_GROUP_PAGE, page: Math.floor(faqGroups.offset / FAQ_GROUP_PAGE) + 1 };
  pager($("faq-groups-pager"), page, (n) => {
    faqGroups.offset = (n - 1) * FAQ_GROUP_PAGE;
    faqGroupsLoad().catch((e) => flash(e.message));
  });
}

function faqGroupAction() {
  const create = $("faq-group-action-create").checked;
  $("faq-group-add").hidden = create;
  $("faq-group-create").hidden = !create;
}

/* The form for one group: the closest topics first, the most asked questions ticked as examples. */
function faqGroupOpen(g) {
  faqGroups.group = g;
  for (const tr of $("faq-groups").tBodies[0].rows) tr.classList.toggle("selected", tr.dataset.id === g.id);
  formErrors("faq-group-form", "faq-group-error", []);
  $("faq-group-form").hidden = false;
  $("faq-group-question").textContent = g.question;
  $("faq-group-count").textContent = "（" + g.size + " 种问法，共 " + g.count + " 次）";
  $("faq-group-action-add").checked = true;
  faqGroupAction();
  const offered = g.topics.map((t) => t.id);
  const option = (t) => h("option", { value: t.id }, t.title + (t.disabled ? "（已停用）" : ""));
  const select = clear($("faq-group-topic"));
  if (offered.length) select.append(h("optgroup", { label: "相近话题" }, g.topics.map((t) => option(faqTopic(t.id) || t))));
  select.append(h("optgroup", { label: offered.length ? "其他话题" : "全部话题" },
    state.faq.topics.filter((t) => !offered.includes(t.id)).map(option)));
  select.value = offered[0] || (state.faq.topics[0] || {}).id || "";
  const list = clear($("faq-group-members"));
  g.members.forEach((m, i) => list.append(h("label", { class: "check" },
    h("input", { type: "checkbox", value: m.question, "data-member": m.id,
                 checked: i < FAQ_GROUP_EXAMPLES && m.question.length <= FAQ_EXAMPLE_MAX }),
    m.question + "（" + m.count + " 次）")));
  $("faq-group-keywords").value = "";
  $("faq-group-id").value = "";
  $("faq-group-title").value = g.question.slice(0, 40);
  $("faq-group-answer").value = "";
  $("faq-group-form").scrollIntoView({ block: "nearest" });
  select.focus();
}

function faqGroupClose() {
  const form = $("faq-group-form");
  if (form) form.hidden = true;
  faqGroups.group = null;
  if ($("faq-groups")) for (const tr of $("faq-groups").tBodies[0].rows) tr.classList.remove("selected");
}

async function faqGroupSubmit(ev) {
  ev.preventDefault();
  const g = faqGroups.group;
  if (!g) return;
  const errors = (list) => formErrors("faq-group-form", "faq-group-error", list, FAQ_LABELS);
  errors([]);
  const create = $("faq-group-action-create").checked;
  const examples = [...document.querySelectorAll("#faq-group-members input:checked")].map((i) => i.value);
  const keywords = lines($("faq-group-keywords").value);
  const body = create
    ? { action: "create_topic", id: $("faq-group-id").value.trim(), title: $("faq-group-title").value.trim(),
        answer: $("faq-group-answer").value.trim(), keywords, examples }
    : { action: "add_to_topic", topic: $("faq-group-topic").value, keywords, examples };
  const local = [];
  if (!create && !body.topic) local.push({ field: "topic", message: "请选择话题" });
  if (create && !body.id) local.push({ field: "id", message: "请填写编号" });
  if (create && !body.title) local.push({ field: "title", message: "请填写标题" });
  if (create && !body.answer) local.push({ field: "answer", message: "请填写回答" });
  if (!keywords.length && !examples.length) local.push({ field: "examples", message: "请勾选问题或填写关键词" });
  if (local.length) { errors(local); return; }
  $("faq-group-save").disabled = true;
  try {
    const done = await api("POST", "/admin/api/faq/miss-groups/" + g.id + "/resolve", body);
    const added = done.added.examples.length + done.added.keywords.length;
    flash((create ? "已新建话题“" : "已加入话题“") + done.topic.title + "”（新增 " + added + " 项），" +
          "删除了 " + done.forgotten + " 个未回答问题", true);
    faqGroupClose();
    await loadTopics();
    await loadMisses();
    await faqGroupsLoad();
  } catch (e) {
    if (fieldsOf(e)) errors(fieldsOf(e));
    else $("faq-group-error").textContent = e.message;
    if (e.code === "faq_miss_group_not_found" || e.code === "faq_miss_group_changed") {
      faqGroupClose();
      flash(e.message);
      await faqGroupsLoad().catch(() => {});
    }
  } finally {
    $("faq-group-save").disabled = false;
  }
}
