/* 继续教育合规统计 and the charts of 进度统计: inline SVG drawn here (no chart library, nothing
   loaded from elsewhere). Loaded before admin.js; uses its helpers ($, h, clear, api, flash, state,
   show, regionName, fmtTime, pager) only when called. */
"use strict";

/* SVG's namespace as the HTML parser assigns it (this file names no URL at all). */
const SVG_NS = (() => { const d = document.createElement("div"); d.innerHTML = "<svg></svg>"; return d.firstChild.namespaceURI; })();
const CHART_COLORS = ["#1d5fbf", "#1e8449", "#b9770e", "#c0392b", "#7d3c98", "#117a8b", "#616e7c", "#d35400"];
const CE_COLORS = { complete: "#1e8449", incomplete: "#d35400" };

function svg(tag, attrs, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) if (v !== null && v !== undefined) el.setAttribute(k, v);
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

/* The smallest of 2, 4, 10, 20, 40, 100... at or above n (so that half of it is a whole number too). */
function niceMax(n) {
  for (let p = 1; ; p *= 10) for (const m of [2, 4, 10]) if (m * p >= n) return m * p;
}

/* A column chart: one column per category, its series stacked; a legend when there are several series.
   opts: {title, categories: [label], series: [{label, color}], value(ci, si), every (label every nth), unit} */
function columnChart(opts) {
  const n = opts.categories.length;
  const legend = opts.series.length > 1 ? opts.series.map((s) => 28 + 13 * s.label.length) : [];
  const legendW = legend.reduce((a, b) => a + b, 0);
  const width = Math.max(360, 60 + legendW, Math.min(1100, 60 + n * (n > 20 ? 28 : 64)));
  const height = 240, left = 44, right = 12, top = legend.length ? 44 : 20, bottom = 34;
  const plotW = width - left - right, plotH = height - top - bottom;
  const totals = opts.categories.map((_, ci) => opts.series.reduce((s, _x, si) => s + (opts.value(ci, si) || 0), 0));
  const max = niceMax(Math.max(1, ...totals));
  const step = plotW / Math.max(1, n);
  const barW = Math.max(4, Math.min(48, step * 0.7));
  const chart = svg("svg", { class: "chart-svg", viewBox: `0 0 ${width} ${height}`, width, height, role: "img",
                             "aria-label": opts.title });
  chart.append(svg("title", {}, opts.title));
  for (const frac of [0, 0.5, 1]) {  // gridlines with their values
    const y = top + plotH - plotH * frac;
    chart.append(svg("line", { x1: left, x2: width - right, y1: y, y2: y, stroke: "#d9e2ec" }),
      svg("text", { x: left - 6, y: y + 4, "text-anchor": "end", "font-size": 11, fill: "#616e7c" },
        Math.round(max * frac)));
  }
  opts.categories.forEach((label, ci) => {
    const x = left + step * ci + (step - barW) / 2;
    let y = top + plotH;
    const col = svg("g", { class: "col", "data-category": label });
    opts.series.forEach((s, si) => {
      const v = opts.value(ci, si) || 0;
      if (!v) return;
      const hgt = plotH * v / max;
      y -= hgt;
      col.append(svg("rect", { x, y, width: barW, height: Math.max(hgt, 0.5), fill: s.color, "data-series": s.label,
                               "data-value": v },
        svg("title", {}, `${label} ${s.label}：${v}${opts.unit || ""}`)));
    });
    if (totals[ci] && n <= 20) {
      col.append(svg("text", { x: x + barW / 2, y: y - 4, "text-anchor": "middle", "font-size": 11, fill: "#1f2933" },
        totals[ci]));
    }
    if (ci % (opts.every || 1) === 0) {
      col.append(svg("text", { x: x + barW / 2, y: height - bottom + 16, "text-anchor": "middle", "font-size": 11,
                               fill: "#616e7c" }, label));
    }
    chart.append(col);
  });
  let x = left;
  opts.series.forEach((s, i) => {
    if (!legend.length) return;
    chart.append(svg("rect", { x, y: 8, width: 12, height: 12, fill: s.color }),
      svg("text", { x: x + 16, y: 18, "font-size": 12, fill: "#1f2933" }, s.label));
    x += legend[i];
  });
  return chart;
}

/* ---------- 进度统计: the charts of the stats page (called by openStats with its data) ---------- */

function statsCharts(data) {
  const statuses = Object.entries(data.statuses);
  const progress = clear($("stats-progress-chart"));
  progress.append(columnChart({
    title: "各区进度（按状态）",
    categories: data.districts.map((d) => d.region_name),
    series: statuses.map(([, label], i) => ({ label, color: CHART_COLORS[i % CHART_COLORS.length] })),
    value: (ci, si) => data.districts[ci].counts[statuses[si][0]],
    unit: " 人",
  }));
  const days = clear($("stats-days"));
  days.append(columnChart({
    title: "近30天每日提交数",
    categories: data.per_day.map((d) => d.date.slice(5)),
    series: [{ label: "提交数", color: CHART_COLORS[0] }],
    value: (ci) => data.per_day[ci].submitted,
    every: 5,
    unit: " 人",
  }));
  api("GET", "/admin/api/compliance").then((c) => drawCompliancePerYear($("stats-compliance-chart"), c))
    .catch((e) => flash(e.message));
}

function drawCompliancePerYear(el, data) {
  clear(el);
  if (!data.per_year.length) {
    el.append(h("p", { class: "muted" }, "暂无继续教育统计数据"));
    return;
  }
  el.append(columnChart({
    title: "各年度继续教育完成情况",
    categories: data.per_year.map((y) => y.year + (y.in_progress ? "（进行中）" : "")),
    series: [{ label: "已完成", color: CE_COLORS.complete }, { label: "未完成", color: CE_COLORS.incomplete }],
    value: (ci, si) => (si ? data.per_year[ci].incomplete : data.per_year[ci].complete),
    unit: " 人",
  }));
}

/* ---------- 继续教育合规统计 ---------- */

const CE = { year: null, people: null };

function credits(v) { return v === null || v === undefined ? "—" : String(Math.round(v * 10) / 10); }
function percent(rate) { return rate === null || rate === undefined ? "—" : (rate * 100).toFixed(1) + "%"; }

async function openCompliance() {
  show("compliance");
  await loadCompliance(CE.year);
}

async function loadCompliance(year) {
  const data = await api("GET", "/admin/api/compliance" + (year ? "?year=" + year : ""));
  CE.year = data.year;
  const years = [...new Set([...data.years, data.current_year, data.current_year - 1])].sort((a, b) => b - a);
  fillSelect($("ce-year"), years.map((y) => [String(y), y + "年度" + (y === data.current_year ? "（进行中）" : "")]),
    String(data.year));
  $("ce-built").textContent = data.building ? "正在统计…" : (data.built_at ? "统计时间：" + fmtTime(data.built_at)
    : "尚未统计");
  $("ce-rebuild").hidden = !(state.me && state.me.role === "city_admin");
  $("ce-export").href = "/admin/api/compliance/export.xlsx?year=" + data.year;
  const body = clear($("ce-table").tBodies[0]);
  const cell = (d, category) => {
    const n = category ? d[category] : d.people;
    if (!category || !n || !d.region_code) return h("td", { class: "num" }, n);
    return h("td", { class: "num" }, h("a", { href: "#/compliance", class: "ce-count", "data-region": d.region_code,
      "data-category": category, onclick: (ev) => { ev.preventDefault(); openPeople(d.region_code, category, 1); } }, n));
  };
  for (const d of data.districts) {
    body.append(h("tr", { "data-region": d.region_code }, h("td", {}, d.region_name), cell(d, null),
      cell(d, "complete"), cell(d, "incomplete"), h("td", { class: "num" }, percent(d.rate)),
      cell(d, "abnormal"), cell(d, "not_in_post")));
  }
  const t = data.totals;
  body.append(h("tr", { class: "total" }, h("th", {}, "合计"), h("th", { class: "num" }, t.people),
    h("th", { class: "num" }, t.complete), h("th", { class: "num" }, t.incomplete),
    h("th", { class: "num" }, percent(t.rate)), h("th", { class: "num" }, t.abnormal),
    h("th", { class: "num" }, t.not_in_post)));
  drawCompliancePerYear($("ce-chart"), data);
  $("ce-people-card").hidden = true;
}

async function openPeople(region, category, page) {
  const q = new URLSearchParams({ region, category, year: String(CE.year), page: String(page), page_size: "20" });
  const data = await api("GET", "/admin/api/compliance/people?" + q);
  CE.people = { region, category };
  const yearly = category === "complete" || category === "incomplete";
  $("ce-people-title").textContent = regionName(region) + " · " + (yearly ? data.year + "年度" : "当前")
    + data.category_label + "（" + data.total + " 人）";
  const body = clear($("ce-people").tBodies[0]);
  for (const p of data.items) {
    const done = p.complete ? "已完成" : (p.in_progress ? "进行中" : "未完成");
    body.append(h("tr", {}, h("td", {}, p.record_id ? h("a", { href: "#/record/" + p.record_id }, p.name) : p.name),
      h("td", {}, p.archive_no), h("td", {}, p.unit_name),
      h("td", { class: "num" }, credits(p.credits_total)), h("td", { class: "num" }, credits(p.credits_professional)),
      h("td", { class: "num" }, credits(p.required_total)), h("td", {}, p.complete === null ? "—" : done),
      h("td", {}, p.standing_label), h("td", {}, (p.incomplete_years || []).join("、"))));
  }
  if (!data.items.length) body.append(h("tr", {}, h("td", { colspan: 9, class: "muted" }, "没有人员")));
  pager($("ce-pager"), data, (p) => openPeople(region, category, p).catch((e) => flash(e.message)));
  $("ce-people-card").hidden = false;
  $("ce-people-card").scrollIntoView({ block: "nearest" });
}

function setupCompliance() {
  $("ce-year").addEventListener("change", () => loadCompliance($("ce-year").value).catch((e) => flash(e.message)));
  $("ce-rebuild").addEventListener("click", async () => {
    try {
      await api("POST", "/admin/api/compliance/rebuild");
      flash("已开始重新统计，稍后刷新查看", true);
      $("ce-built").textContent = "正在统计…";
    } catch (e) { flash(e.message); }
  });
}

document.addEventListener("DOMContentLoaded", setupCompliance);
