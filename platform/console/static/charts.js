// Sluice console: throughput and lag charts drawn as plain SVG from the
// node's own history (GET /v1/stats/history: a sample every few seconds,
// the last 15 minutes). No chart library, nothing loaded from elsewhere.
"use strict";

const SVG_NS = "http://www.w3.org/2000/svg";
const CHART_W = 560, CHART_H = 160, CHART_PAD = { l: 56, r: 8, t: 10, b: 22 };

function svg(tag, attrs, ...kids) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) if (v != null) el.setAttribute(k, String(v));
  for (const c of kids.flat(Infinity)) if (c != null) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

// niceMax rounds a maximum up to 1, 2 or 5 × a power of ten.
function niceMax(v) {
  if (!(v > 0)) return 1;
  const p = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [1, 2, 5, 10]) if (v <= m * p) return m * p;
  return 10 * p;
}

function fmtRate(v) {
  if (v >= 1e6) return `${(v / 1e6).toFixed(1)} M`;
  if (v >= 1e3) return `${(v / 1e3).toFixed(1)} k`;
  return v >= 10 || v === 0 ? String(Math.round(v)) : v.toFixed(1);
}

// lineChart draws series [{name, cls, values}] over times (ms).
function lineChart(id, title, unit, times, series) {
  const iw = CHART_W - CHART_PAD.l - CHART_PAD.r, ih = CHART_H - CHART_PAD.t - CHART_PAD.b;
  const t0 = times[0], t1 = times[times.length - 1];
  const span = Math.max(t1 - t0, 1);
  const top = niceMax(Math.max(0, ...series.flatMap((s) => s.values)));
  const x = (t) => CHART_PAD.l + ((t - t0) / span) * iw;
  const y = (v) => CHART_PAD.t + ih - (v / top) * ih;
  const grid = [0, 0.5, 1].map((f) => [
    svg("line", { x1: CHART_PAD.l, x2: CHART_PAD.l + iw, y1: y(top * f), y2: y(top * f), class: "grid-line" }),
    svg("text", { x: CHART_PAD.l - 6, y: y(top * f) + 4, "text-anchor": "end", class: "axis" }, fmtRate(top * f)),
  ]);
  const lines = series.map((s) => svg("polyline", {
    class: `series ${s.cls}`, "data-series": s.name, "data-points": s.values.length,
    "data-last": s.values.length ? s.values[s.values.length - 1] : 0,
    "data-max": Math.max(0, ...s.values),
    points: s.values.map((v, i) => `${x(times[i]).toFixed(1)},${y(v).toFixed(1)}`).join(" "),
  }, svg("title", null, `${s.name}: last ${fmtRate(s.values[s.values.length - 1] || 0)} ${unit}`)));
  const mins = Math.round(span / 60000);
  const axis = [
    svg("text", { x: CHART_PAD.l, y: CHART_H - 6, class: "axis" }, clock(new Date(t0)).slice(0, 8)),
    svg("text", { x: CHART_PAD.l + iw, y: CHART_H - 6, "text-anchor": "end", class: "axis" }, `${clock(new Date(t1)).slice(0, 8)} (${mins ? `${mins} min` : `${Math.round(span / 1000)} s`})`),
  ];
  return h("figure", { class: "chart", id },
    h("figcaption", null, title, " ", h("span", { class: "muted" }, `(${unit})`), " ",
      series.map((s) => h("span", { class: `legend ${s.cls}` }, `■ ${s.name} ${fmtRate(s.values[s.values.length - 1] || 0)}`))),
    svg("svg", { viewBox: `0 0 ${CHART_W} ${CHART_H}`, width: CHART_W, height: CHART_H, role: "img", "aria-label": title }, grid, lines, axis));
}

// charts draws the node's history: records/s, bytes/s and group lag.
function charts(hist) {
  const s = hist.samples || [];
  if (s.length < 2) {
    return h("p", { class: "muted", id: "charts-empty" },
      `Collecting samples (one every ${Math.round(hist.interval_ms / 1000)} s); the charts appear after the second.`);
  }
  const times = s.map((x) => x.time);
  const col = (k) => s.map((x) => x[k] || 0);
  return h("div", { class: "charts", id: "charts" },
    lineChart("chart-records", "Records", "per second", times, [
      { name: "produce", cls: "s1", values: col("produce_records_per_sec") },
      { name: "fetch", cls: "s2", values: col("fetch_records_per_sec") }]),
    lineChart("chart-bytes", "Bytes", "per second, HTTP", times, [
      { name: "produce", cls: "s1", values: col("produce_bytes_per_sec") },
      { name: "fetch", cls: "s2", values: col("fetch_bytes_per_sec") }]),
    lineChart("chart-lag", "Consumer group lag", "records, groups this node coordinates", times, [
      { name: "lag", cls: "s3", values: col("lag") }]));
}
