// The usage page (SPEC §11): reads the documented admin routes with the token kept in
// sessionStorage, and draws its chart as SVG itself (a few dozen lines; no library to vendor).
"use strict";

const state = {
  token: sessionStorage.getItem("creditgate-token") || "",
  days: 30, team: "", client: "", vendor: "", measure: "requests",
  viewer: false, catalog: { teams: [], clients: [], vendors: [] }, budgets: [], liveTimer: 0, loadSeq: 0,
};
const $ = (id) => document.getElementById(id);
const MICRO = 1e6;

// ---- numbers and dates ----
const micros = (x) => Math.round(Number(x || 0) * MICRO);  // sums in integer µ: exact, like the ledger's
const fromMicros = (m) => m / MICRO;
const groupInt = (n) => Math.round(n).toLocaleString("en-US");
function amount(x) {  // up to 6 decimals, trailing zeros dropped
  const v = Number(x);
  if (!Number.isFinite(v)) return "—";
  return v.toLocaleString("en-US", { maximumFractionDigits: Math.abs(v) >= 100 ? 2 : 6 });
}
const dollars = (x) => "$" + Number(x).toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
const isoDay = (d) => d.toISOString().slice(0, 10);
function addDays(day, n) { const d = new Date(day + "T00:00:00Z"); d.setUTCDate(d.getUTCDate() + n); return isoDay(d); }
function range() {
  const to = isoDay(new Date());
  const from = addDays(to, 1 - state.days);
  return { from, to, prevFrom: addDays(from, -state.days), prevTo: addDays(from, -1) };
}
function ago(iso) {
  if (!iso) return "never";
  const s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
  if (s < 90) return s + " s ago";
  if (s < 5400) return Math.round(s / 60) + " min ago";
  if (s < 172800) return Math.round(s / 3600) + " h ago";
  return Math.round(s / 86400) + " days ago";
}
const utcMoment = (iso) => new Date(iso).toLocaleString("en-US", { month: "short", day: "numeric", year: "numeric", hour: "2-digit",
  minute: "2-digit", hourCycle: "h23", timeZone: "UTC" }) + " UTC";
function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v;
    else if (k === "text") e.textContent = v;
    else if (k === "style") Object.assign(e.style, v);  // CSSOM, which the page's CSP allows (style attributes it does not)
    else e.setAttribute(k, v);
  }
  for (const c of children) if (c != null) e.append(c);
  return e;
}

// ---- the admin routes ----
class Unauthorized extends Error {}
async function api(path) {
  const r = await fetch(path, { headers: { Authorization: "Bearer " + state.token }, cache: "no-store" });
  if (r.status === 401) throw new Unauthorized();
  if (r.status === 403) return null;  // a viewer on an admin-only route
  const body = await r.json();
  if (!r.ok) throw new Error((body.error && body.error.message) || "HTTP " + r.status);
  return body;
}
function usageQuery(from, to, groupBy) {
  const p = new URLSearchParams({ from, to, group_by: groupBy });
  for (const k of ["team", "client", "vendor"]) if (state[k]) p.set(k, state[k]);
  return "/api/v1/usage?" + p;
}
function total(rows) {
  const t = { requests: 0, succeeded: 0, failed: 0, rejected: 0, credits: 0, usd: 0, latencyWeighted: 0, forwarded: 0 };
  for (const r of rows) {
    t.requests += r.requests; t.succeeded += r.succeeded; t.failed += r.failed; t.rejected += r.rejected;
    t.credits += micros(r.credits); t.usd += micros(r.cost_usd);
    t.latencyWeighted += r.avg_latency_ms * (r.succeeded + r.failed); t.forwarded += r.succeeded + r.failed;
  }
  return t;
}

// ---- login ----
function showLogin(message) {
  clearInterval(state.liveTimer);
  $("usage").hidden = true;
  $("login").hidden = false;
  $("login-error").hidden = !message;
  $("login-error").textContent = message || "";
  $("token").focus();
}
async function start() {
  try {
    const me = await api("/api/v1/token");
    state.viewer = me.role === "viewer";
    state.me = me;
    await loadCatalog();
  } catch (e) {
    sessionStorage.removeItem("creditgate-token");
    return showLogin(e instanceof Unauthorized ? "That token is not valid here." : String(e.message || e));
  }
  $("login").hidden = true;
  $("usage").hidden = false;
  $("who").textContent = (state.viewer ? "Viewer · team " + state.me.team : "Admin") + " (" + state.me.name + ")";
  $("accounts-panel").hidden = state.viewer;
  if (state.viewer) { state.team = state.me.team; state.catalog.teams = [state.me.team]; }
  fillFilters();
  await load();
  clearInterval(state.liveTimer);
  state.liveTimer = setInterval(live, 5000);
}

// Teams, clients and vendors to filter by: what the last 90 days and the budgets name. A viewer's
// answers carry its team only, so its filters offer nothing else.
async function loadCatalog() {
  const to = isoDay(new Date());
  const p = new URLSearchParams({ from: addDays(to, -89), to, group_by: "team,client,vendor" });
  const [usage, budgets] = await Promise.all([api("/api/v1/usage?" + p).catch(() => ({ rows: [] })), api("/api/v1/budgets")]);
  const teams = new Set(), clients = new Map(), vendors = new Set();
  for (const r of usage.rows || []) { teams.add(r.team); clients.set(r.client, r.team); vendors.add(r.vendor); }
  for (const b of budgets.budgets) {
    if (b.scope.team) teams.add(b.scope.team);
    if (b.scope.client && !clients.has(b.scope.client)) clients.set(b.scope.client, b.scope.team || "");
    if (b.vendor && b.vendor !== "*") vendors.add(b.vendor);
  }
  state.catalog = { teams: [...teams].sort(), clients: [...clients.entries()].sort(), vendors: [...vendors].sort() };
}
function fillFilters() {
  const fill = (select, all, values) => {
    const keep = select.value;
    select.replaceChildren(el("option", { value: "", text: all }), ...values.map((v) => el("option", { value: v, text: v })));
    select.value = values.includes(keep) ? keep : "";
  };
  fill($("f-team"), state.viewer ? "Team" : "All teams", state.catalog.teams);
  if (state.viewer) { $("f-team").value = state.team; $("f-team").firstChild.remove(); }
  fill($("f-client"), "All clients", state.catalog.clients.filter(([, t]) => !state.team || t === state.team).map(([c]) => c));
  fill($("f-vendor"), "All vendors", state.catalog.vendors);
  state.client = $("f-client").value;
}

// ---- one load of every section ----
async function load() {
  const seq = ++state.loadSeq;
  const { from, to, prevFrom, prevTo } = range();
  $("error").hidden = true;
  try {
    const [days, now, before, budgets, accounts] = await Promise.all([
      api(usageQuery(from, to, "day")), api(usageQuery(from, to, "vendor")), api(usageQuery(prevFrom, prevTo, "")),
      api("/api/v1/budgets"), state.viewer ? null : api("/api/v1/accounts"),
    ]);
    if (seq !== state.loadSeq) return;  // a newer load is on its way
    state.budgets = budgets.budgets;
    const vendorsInRange = new Set(now.rows.map((r) => r.vendor));
    const singleVendor = state.vendor || (vendorsInRange.size === 1 ? [...vendorsInRange][0] : "");
    renderCards(total(now.rows), total(before.rows), singleVendor);
    renderChart(days.rows, from, to, singleVendor);
    renderBudgets();
    if (accounts) renderAccounts(accounts.accounts);
    document.body.dataset.loaded = from + ".." + to + "|" + state.team + "|" + state.client + "|" + state.vendor + "|" + seq;
  } catch (e) {
    if (e instanceof Unauthorized) return showLogin("The token is no longer valid.");
    $("error").textContent = "Could not load: " + (e.message || e);
    $("error").hidden = false;
  }
  live();
}

function setValue(id, text, raw) { $(id).textContent = text; $(id).dataset.value = raw; }

function renderCards(t, prev, singleVendor) {
  setValue("c-requests", groupInt(t.requests), t.requests);
  const trend = $("c-trend");
  trend.replaceChildren();
  if (prev.requests > 0) {
    const pct = ((t.requests - prev.requests) / prev.requests) * 100;
    const up = pct >= 0;
    trend.append(el("span", { class: up ? "up" : "down", text: (up ? "▲ " : "▼ ") + Math.abs(pct).toFixed(1) + "%" }),
      " vs previous " + state.days + " days");
    trend.dataset.value = pct.toFixed(1);
  } else {
    trend.textContent = t.requests > 0 ? "no calls in the previous " + state.days + " days" : "—";
    trend.dataset.value = "";
  }
  const settled = t.succeeded + t.failed;
  setValue("c-success", settled ? ((t.succeeded / settled) * 100).toFixed(1) + "%" : "—", settled ? (t.succeeded / settled).toFixed(4) : "");
  $("c-success-sub").textContent = settled ? groupInt(t.succeeded) + " of " + groupInt(settled) + " answered · " + groupInt(t.rejected) + " refused" : "no forwarded calls";
  // Credits are one vendor's unit; across vendors only dollars add up (SPEC §8).
  const inCredits = Boolean(singleVendor);
  $("c-credits-title").textContent = inCredits ? "Credits used" : "Spend";
  setValue("c-credits", inCredits ? amount(fromMicros(t.credits)) : dollars(fromMicros(t.usd)), fromMicros(inCredits ? t.credits : t.usd));
  const budget = cycleBudget(inCredits ? singleVendor : null);
  const cycle = $("c-cycle");
  if (budget) {
    const fmt = budget.kind === "money" ? dollars : amount;
    cycle.textContent = fmt(budget.used) + " of " + fmt(budget.limit) + " this cycle (" + budget.id + ")";
    cycle.dataset.budget = budget.id;
  } else {
    cycle.textContent = inCredits ? singleVendor + " credits in the range" : "no budget covers this selection";
    cycle.dataset.budget = "";
  }
  setValue("c-latency", t.forwarded ? Math.round(t.latencyWeighted / t.forwarded).toLocaleString("en-US") + " ms" : "—",
    t.forwarded ? (t.latencyWeighted / t.forwarded).toFixed(1) : "");
}

// The budget the credits card measures against: of the right kind and vendor, the most specific
// scope that covers the selection; with no team or client chosen, everyone's budget, else the
// first narrower one (the card names it).
function cycleBudget(vendor) {
  const clientTeam = (state.catalog.clients.find(([c]) => c === state.client) || [])[1];
  const filtered = Boolean(state.team || state.client);
  const rank = (b) => {
    const s = b.scope;
    if (s.account || s.path_prefix) return -1;
    if (s.client) return state.client === s.client ? 3 : filtered ? -1 : 0;
    if (s.team) return state.team === s.team || clientTeam === s.team ? 2 : filtered ? -1 : 0;
    return 1;  // everyone's: covers any selection
  };
  const fits = state.budgets.filter((b) => vendor ? b.kind === "credits" && b.vendor === vendor : b.kind === "money");
  return fits.map((b) => [rank(b), b]).filter(([r]) => r >= 0).sort((a, b) => b[0] - a[0]).map(([, b]) => b)[0] || null;
}

const chartOptions = () => ({ width: $("chart").clientWidth, money: state.measure === "usd", title: $("chart-title").textContent });

function renderChart(rows, from, to, singleVendor) {
  const box = $("chart");
  const credits = $("chart").parentElement.querySelector('[data-measure="credits"]');
  credits.disabled = !singleVendor;
  credits.title = singleVendor ? "" : "Credits are per vendor: pick one vendor";
  if (!singleVendor && state.measure === "credits") setMeasure("usd", false);
  const label = { requests: "Requests per day", credits: (singleVendor || "") + " credits per day", usd: "Spend per day ($)" }[state.measure];
  $("chart-title").textContent = label;
  const byDay = new Map(rows.map((r) => [r.day, r]));
  const points = [];
  for (let d = from; d <= to; d = addDays(d, 1)) {
    const r = byDay.get(d);
    const v = !r ? 0 : state.measure === "requests" ? r.requests : fromMicros(micros(state.measure === "credits" ? r.credits : r.cost_usd));
    points.push([d, v]);
  }
  box.dataset.points = JSON.stringify(points);
  state.points = null;
  if (!rows.some((r) => r.requests > 0)) {
    box.replaceChildren(el("div", { class: "empty", role: "status" },
      el("p", {}, el("strong", { text: "No usage data" }), "No requests found for this period.")));
    return;
  }
  state.points = points;
  box.replaceChildren(drawChart(points, chartOptions()));
}

// ---- budgets and accounts ----
function budgetVisible(b) {
  if (state.vendor && b.vendor !== "*" && b.vendor !== state.vendor) return false;
  const clientTeam = (state.catalog.clients.find(([c]) => c === state.client) || [])[1];
  if (state.client) return !b.scope.client || b.scope.client === state.client ? !b.scope.team || b.scope.team === clientTeam : false;
  if (state.team) return b.scope.team === state.team || (b.scope.client && (state.catalog.clients.find(([c]) => c === b.scope.client) || [])[1] === state.team);
  return true;
}
function scopeText(b) {
  const s = b.scope;
  const who = s.client ? "client " + s.client : s.team ? "team " + s.team : s.account ? "account " + s.account : "everyone";
  return who + (s.path_prefix ? " " + s.path_prefix : "") + " · " + (b.vendor === "*" ? "all vendors" : b.vendor);
}
function renderBudgets() {
  const body = $("budgets").tBodies[0];
  const rows = state.budgets.filter(budgetVisible).map((b) => {
    const limit = Number(b.limit), used = Number(b.used), frozen = Number(b.frozen);
    const pct = (v) => (limit > 0 ? Math.min(100, Math.max(0, (v / limit) * 100)) : 0);
    const bar = el("div", { class: "bar" + (used + frozen > limit ? " over" : ""), role: "img" });
    let figures;
    if (b.kind === "rate") {
      bar.append(el("span", { class: "used", style: { width: pct(limit - Number(b.remaining)) + "%" } }));
      figures = amount(b.remaining) + " of " + amount(limit) + " tokens left (" + b.rate + ")";
    } else if (b.kind === "concurrency") {
      bar.append(el("span", { class: "used", style: { width: pct(frozen) + "%" } }));
      figures = amount(frozen) + " in flight of " + amount(limit);
    } else {
      const fmt = b.kind === "money" ? dollars : amount;
      bar.append(el("span", { class: "used", style: { width: pct(used) + "%" } }),
        el("span", { class: "frozen", style: { left: pct(used) + "%", width: Math.min(pct(frozen), 100 - pct(used)) + "%" } }));
      if (b.soft_limit != null) bar.append(el("span", { class: "soft", style: { left: `calc(${Math.min(100, Number(b.soft_limit) * 100)}% - 1px)` } }));
      figures = fmt(used) + " used · " + fmt(frozen) + " frozen of " + fmt(limit) + (b.unit && b.kind === "credits" ? " " + b.unit : "");
    }
    bar.setAttribute("aria-label", figures);
    const tags = [el("span", { class: "tag", text: b.kind })];
    if (b.mode === "shadow") tags.push(" ", el("span", { class: "tag", text: "shadow" }));
    if (b.soft_limit_reached) tags.push(" ", el("span", { class: "tag warn", text: "soft limit" }));
    if (b.kind !== "rate" && b.kind !== "concurrency" && Number(b.remaining) <= 0) tags.push(" ", el("span", { class: "tag bad", text: "exhausted" }));
    const forecast = b.forecast_exhausted_at ? utcMoment(b.forecast_exhausted_at) : "—";
    const tr = el("tr", { "data-budget": b.id },
      el("td", {}, el("div", { text: b.id }), ...tags), el("td", { text: scopeText(b) }),
      el("td", { class: "bar-cell" }, bar, el("div", { class: "figures", text: figures })),
      el("td", { text: b.period_end ? utcMoment(b.period_end) : b.period === "none" ? "never (lifetime)" : "—" }), el("td", { text: forecast }));
    tr.dataset.used = b.used; tr.dataset.frozen = b.frozen; tr.dataset.limit = b.limit;
    return tr;
  });
  body.replaceChildren(...(rows.length ? rows : [el("tr", {}, el("td", { colspan: 5, class: "muted", text: "No budget applies to this selection." }))]));
  labelCells($("budgets"));
}
// Each cell carries its column's name: the narrow layout shows rows as cards with these labels.
function labelCells(table) {
  const names = [...table.tHead.rows[0].cells].map((c) => c.textContent);
  for (const row of table.tBodies[0].rows) [...row.cells].forEach((c, i) => { if (row.cells.length > 1) c.dataset.label = names[i]; });
}
function renderAccounts(accounts) {
  const body = $("accounts").tBodies[0];
  // "unregistered" stands for calls with keys no account names: only worth a row once it holds something.
  const worth = (a) => a.id !== "unregistered" || a.remaining != null || Number(a.frozen) !== 0 || Number(a.drift) !== 0;
  const rows = accounts.filter((a) => worth(a) && (!state.vendor || a.vendor === state.vendor)).map((a) => {
    const stateCell = el("td", {});
    if (a.exhausted) stateCell.append(el("span", { class: "tag bad", text: "exhausted" }));
    else if (a.poll_error) stateCell.append(el("span", { class: "tag warn", text: "poll failing", title: a.poll_error }));
    else stateCell.append(el("span", { class: "tag good", text: "ok" }));
    if (a.poll_error && a.exhausted) stateCell.append(" ", el("span", { class: "tag warn", text: "poll failing", title: a.poll_error }));
    return el("tr", { "data-account": a.id }, el("td", { text: a.id }), el("td", { text: a.vendor }),
      el("td", { class: "num", text: a.remaining == null ? "unknown" : amount(a.remaining) }), el("td", { text: a.source }),
      el("td", { text: ago(a.updated_at) }), el("td", { class: "num", text: amount(a.drift) }), stateCell);
  });
  body.replaceChildren(...(rows.length ? rows : [el("tr", {}, el("td", { colspan: 7, class: "muted", text: "No vendor accounts configured." }))]));
  labelCells($("accounts"));
}

// ---- the live strip ----
async function live() {
  try {
    const [res, budgets] = await Promise.all([api("/api/v1/reservations"), api("/api/v1/budgets")]);
    const list = res.reservations.filter((r) => (!state.client || r.client === state.client) && (!state.vendor || r.vendor === state.vendor) &&
      (!state.team || r.team === state.team));
    const byVendor = new Map();
    for (const r of list) byVendor.set(r.vendor, (byVendor.get(r.vendor) || 0) + micros(r.amount));
    $("live-flight").textContent = groupInt(list.length);
    $("live-frozen").textContent = byVendor.size ? [...byVendor].map(([v, m]) => amount(fromMicros(m)) + " " + v).join(" · ") : "0";
    $("live-queued").textContent = groupInt(budgets.budgets.filter(budgetVisible).reduce((n, b) => n + b.queued, 0));
    $("live-at").textContent = "updated " + new Date().toLocaleTimeString("en-GB", { timeZone: "UTC" }) + " UTC";
  } catch (e) {
    if (e instanceof Unauthorized) showLogin("The token is no longer valid.");
  }
}

// ---- controls ----
function setMeasure(measure, reload = true) {
  state.measure = measure;
  for (const b of document.querySelectorAll(".switch button")) b.setAttribute("aria-pressed", String(b.dataset.measure === measure));
  if (reload) load();
}
document.addEventListener("DOMContentLoaded", () => {
  $("login").addEventListener("submit", (ev) => {
    ev.preventDefault();
    state.token = $("token").value.trim();
    sessionStorage.setItem("creditgate-token", state.token);
    $("token").value = "";
    start();
  });
  $("logout").addEventListener("click", () => {
    sessionStorage.removeItem("creditgate-token");
    state.token = "";
    showLogin("");
  });
  for (const b of document.querySelectorAll(".range button")) {
    b.addEventListener("click", () => {
      state.days = Number(b.dataset.days);
      for (const o of document.querySelectorAll(".range button")) o.setAttribute("aria-pressed", String(o === b));
      load();
    });
  }
  for (const b of document.querySelectorAll(".switch button")) b.addEventListener("click", () => setMeasure(b.dataset.measure));
  $("f-team").addEventListener("change", () => { state.team = $("f-team").value; fillFilters(); load(); });
  $("f-client").addEventListener("change", () => { state.client = $("f-client").value; load(); });
  $("f-vendor").addEventListener("change", () => { state.vendor = $("f-vendor").value; load(); });
  let resize = 0;
  // A new width redraws the chart from the points it has; nothing is fetched again.
  window.addEventListener("resize", () => {
    clearTimeout(resize);
    resize = setTimeout(() => { if (state.points && !$("usage").hidden) $("chart").replaceChildren(drawChart(state.points, chartOptions())); }, 150);
  });
  if (state.token) start(); else showLogin("");
});
