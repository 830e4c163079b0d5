/* 上报图片 (hand-off image) of the document shown in a record's document viewer: all its pages merged
   into one JPEG for the national platform (/admin/api/records/<id>/documents/<key>[/handoff]).
   showHandoff(view, recordId, doc) is called by admin.js's showDoc; it reads the document (page
   count, an existing image: "已生成") and adds a button "生成上报图片" that asks for the image and
   shows it (size in KB, pixel size, pages) with a link to open it. Loaded before admin.js; uses its
   helpers ($, h, api, state) only when called. */
"use strict";

function handoffBase(recordId, kind) {
  return "/admin/api/records/" + recordId + "/documents/" + encodeURIComponent(kind);
}

function handoffFacts(img) {
  return Math.max(1, Math.round((img.size || 0) / 1024)) + " KB，" + img.width + "×" + img.height + " 像素，" +
    img.pages + " 页";
}

function handoffShowImage(box, img) {
  const url = img.url + "?v=" + encodeURIComponent(img.sha256 || "");
  box.replaceChildren(
    h("p", { class: "handoff-facts" }, h("strong", {}, "上报图片已生成"), "：" + handoffFacts(img) + " ",
      h("a", { href: url, target: "_blank", rel: "noopener" }, "在新窗口打开")),
    h("img", { src: url, alt: "上报图片", class: "handoff-img" }),
  );
}

/* Still showing the same document of the same record? (the reviewer may have moved on meanwhile) */
function handoffCurrent(recordId, kind) {
  return !!(state.docTab && state.docTab.id === recordId && state.docTab.kind === kind);
}

async function showHandoff(view, recordId, d) {
  if (!recordId || !d || !d.kind) return;
  const box = h("div", { class: "handoff", "data-kind": d.kind });
  const status = h("span", { class: "muted handoff-status" }, "");
  const btn = h("button", { type: "button", class: "handoff-make" }, "生成上报图片");
  const error = h("p", { class: "error handoff-error" });
  const result = h("div", { class: "handoff-result" });
  box.append(h("p", {}, btn, " ", status), error, result);
  view.append(box);

  btn.addEventListener("click", async () => {
    btn.disabled = true;
    error.textContent = "";
    status.textContent = "正在生成…";
    try {
      const img = await api("POST", handoffBase(recordId, d.kind) + "/handoff", {});
      if (!handoffCurrent(recordId, d.kind)) return;
      status.textContent = "已生成";
      handoffShowImage(result, img);
      box.dataset.made = "1";
    } catch (e) {
      status.textContent = "";
      error.textContent = e.message;
    } finally {
      btn.disabled = false;
    }
  });

  try {
    const doc = await api("GET", handoffBase(recordId, d.kind));
    if (!handoffCurrent(recordId, d.kind)) return;
    box.dataset.pages = String(doc.page_count || 1);
    if (doc.handoff) {
      status.textContent = "已生成";
      handoffShowImage(result, doc.handoff);
      box.dataset.made = "1";
    } else {
      const files = doc.page_count > 1 ? "共 " + doc.page_count + " 个文件，" : "";
      status.textContent = files + "可将全部页面合成为一张 20–500 KB 的 JPEG 图片";
    }
  } catch (e) {
    status.textContent = "";  // the button still works; a failed read is not worth a message
  }
  box.dataset.loaded = "1";
}
