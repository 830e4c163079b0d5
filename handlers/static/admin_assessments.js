/* 年度考评 on a first collection's detail (the `assessments` block of GET /admin/api/applications/{id}):
   the standing the assessment rule gives (在岗 / 非在岗, the years missing, the warning), the results
   per year and unit, and the units' appointment registrations (单位聘任备案). Loaded before admin.js;
   uses its helpers ($, h, clear, fmtTime) only when called from showRecord. */
"use strict";

function showAssessments(r) {
  const a = r.assessments;
  $("r-assessments-card").hidden = !a;
  const box = clear($("r-assessments"));
  if (!a) return;
  const s = a.standing;
  box.append(h("p", { id: "r-standing", "data-code": s.code },
    h("span", { class: "badge " + (s.in_post ? "approved" : "rejected") }, s.label), " ", s.reason));
  if (s.missing_years.length) {
    box.append(h("p", { class: "muted", id: "r-missing-years" }, "没有考评信息的年度：" + s.missing_years.join("、")));
  }
  if (s.warning) box.append(h("p", { class: "muted", id: "r-standing-warning" }, s.warning.message));
  const rows = a.assessments.map((x) => h("tr", { "data-year": x.year },
    h("td", {}, x.year + " 年度"), h("td", {}, x.result_label), h("td", {}, x.unit_name || x.unit_credit_code),
    h("td", {}, x.comment || "—"), h("td", {}, fmtTime(x.recorded_at))));
  if (!rows.length) rows.push(h("tr", {}, h("td", { colspan: 5, class: "muted" }, "尚无单位登记的年度考评")));
  box.append(h("table", { id: "r-assessment-rows" },
    h("thead", {}, h("tr", {}, ["年度", "考评结果", "单位", "评语", "登记时间"].map((t) => h("th", {}, t)))),
    h("tbody", {}, rows)));
  if (a.appointments.length) {
    box.append(h("h3", {}, "单位聘任备案"), h("ul", { class: "plain", id: "r-appointments" },
      a.appointments.map((p) => h("li", {}, p.unit_name + "：" + (p.post_label || "") + "，" + p.from + " 起" +
        (p.to ? "，" + p.to + " 解聘" : "") + "（" + p.status_label + "）"))));
  }
}
