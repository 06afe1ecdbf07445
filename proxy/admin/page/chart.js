// The usage page's chart (SPEC §11): a line-area chart of one value per day, drawn as SVG by
// hand — a few dozen lines instead of a vendored chart library. Loaded before page.js, which
// calls drawChart; `dollars` comes from there and is only called once both are loaded.
"use strict";

// Axis labels: thousands past 1,000 ("1.2k"), millions past 1,000,000.
function short(v) {
  const a = Math.abs(v);
  if (a >= 1e6) return +(v / 1e6).toFixed(1) + "M";
  if (a >= 1000) return +(v / 1000).toFixed(1) + "k";
  return String(+v.toFixed(a < 10 && v % 1 ? 2 : 0));
}
const dayLabel = (day) => new Date(day + "T00:00:00Z").toLocaleDateString("en-US", { month: "short", day: "numeric", timeZone: "UTC" });

// `points`: [day, value] pairs. At most four date markers (the first and last among them), the
// most recent point highlighted and labelled, grid lines at 0, half and the top.
function drawChart(points, { width, money, title }) {
  const NS = "http://www.w3.org/2000/svg";
  const W = Math.max(300, width || 800), H = 260, L = 44, R = 16, T = 24, B = 28;
  const svg = document.createElementNS(NS, "svg");
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  svg.setAttribute("role", "img");
  const add = (tag, attrs, text) => {
    const e = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    if (text != null) e.textContent = text;
    svg.append(e);
    return e;
  };
  const max = Math.max(...points.map((p) => p[1]));
  const top = niceCeil(max);
  const x = (i) => L + (points.length === 1 ? (W - L - R) / 2 : (i * (W - L - R)) / (points.length - 1));
  const y = (v) => T + (H - T - B) * (1 - v / top);
  for (const f of [0, 0.5, 1]) {
    add("line", { class: "grid", x1: L, x2: W - R, y1: y(top * f), y2: y(top * f) });
    add("text", { class: "axis", x: L - 6, y: y(top * f) + 4, "text-anchor": "end" }, (money ? "$" : "") + short(top * f));
  }
  // At most four date markers, the first and last among them.
  const marks = points.length <= 4 ? points.map((_, i) => i) : [0, 1, 2, 3].map((k) => Math.round((k * (points.length - 1)) / 3));
  marks.forEach((i, k) => {
    const anchor = k === 0 ? "start" : k === marks.length - 1 ? "end" : "middle";
    add("text", { class: "axis x-mark", x: x(i), y: H - 8, "text-anchor": anchor }, dayLabel(points[i][0]));
  });
  const line = points.map((p, i) => `${i ? "L" : "M"}${x(i).toFixed(1)},${y(p[1]).toFixed(1)}`).join("");
  add("path", { class: "area", d: `${line}L${x(points.length - 1).toFixed(1)},${y(0)}L${x(0).toFixed(1)},${y(0)}Z` });
  add("path", { class: "line", d: line });
  const last = points.length - 1;
  add("circle", { class: "last", cx: x(last), cy: y(points[last][1]), r: 5 });
  const lastText = money ? dollars(points[last][1]) : points[last][1].toLocaleString("en-US", { maximumFractionDigits: 2 });
  add("text", { class: "last-label", x: x(last) - 8, y: Math.max(T - 8, y(points[last][1]) - 10), "text-anchor": "end" }, lastText);
  svg.setAttribute("aria-label", `${title}: ${points.length} days, most recent ${lastText}`);
  return svg;
}

// The smallest of 1, 2, 2.5, 5, 10 × a power of ten at or above v: the top grid line.
function niceCeil(v) {
  if (v <= 0) return 1;
  const p = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}
