/**
 * The dashboard's page, style sheet and script as string constants, so that
 * they are inside compiled executables: no build step, no CDN, no inline
 * script (the Content-Security-Policy allows only same-origin files).
 *
 * @module
 */

/** The HTML shell; the script fills it from `/api/overview` and `/api/failed`. */
export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Queue dashboard</title>
<link rel="stylesheet" href="/assets/dashboard.css">
<script src="/assets/dashboard.js" defer></script>
</head>
<body>
<header class="top">
  <div class="brand"><span class="logo" aria-hidden="true"></span><h1>Queues</h1>
    <span id="target" class="muted"></span></div>
  <div class="auth">
    <span id="mode" class="badge"></span>
    <input id="token" type="password" placeholder="Token for actions" autocomplete="off" aria-label="Token for actions">
    <span id="updated" class="muted"></span>
  </div>
</header>
<main>
  <section class="tiles" id="tiles"></section>
  <section class="card">
    <div class="card-head"><h2>Throughput, last hour</h2>
      <div class="legend"><span class="key ok"></span>processed <span class="key bad"></span>failed
        <select id="chart-queue" aria-label="Queue shown in the chart"><option value="">All queues</option></select></div></div>
    <div id="chart" class="chart"></div>
  </section>
  <section class="card">
    <div class="card-head"><h2>Queues</h2></div>
    <table class="grid" id="queues"><thead><tr>
      <th>Queue</th><th>Status</th><th class="n">Ready</th><th class="n">Delayed</th><th class="n">Reserved</th>
      <th class="n">Failed</th><th class="n">Workers</th><th class="n">Oldest wait</th><th class="n">p50 / p95</th>
      <th class="n">Processed</th><th class="actions">Actions</th></tr></thead><tbody></tbody></table>
  </section>
  <section class="card">
    <div class="card-head"><h2>Live workers</h2></div>
    <table class="grid" id="workers"><thead><tr>
      <th>Worker</th><th>Host</th><th class="n">PID</th><th>Queues</th><th class="n">Up</th>
      <th class="n">Last beat</th><th class="n">Done</th><th class="n">Failed</th><th>Running</th></tr></thead><tbody></tbody></table>
  </section>
  <section class="card">
    <div class="card-head"><h2>Failed jobs <span id="failed-total" class="count"></span></h2>
      <button id="retry-all" class="btn" data-needs-token>Retry all</button></div>
    <div id="failed"></div>
  </section>
  <div id="toast" role="status" aria-live="polite"></div>
</main>
</body>
</html>
`;

/** The style sheet. */
export const DASHBOARD_CSS =
  `:root{--bg:#f5f6f8;--card:#fff;--ink:#1d2330;--muted:#6b7385;--line:#e3e6ec;
--ok:#2f9e6e;--bad:#d64545;--warn:#c98a12;--accent:#3b5bdb;--chip:#eef1f6}
*{box-sizing:border-box}body{margin:0;background:var(--bg);color:var(--ink);
font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif}
.top{display:flex;justify-content:space-between;align-items:center;gap:16px;padding:14px 28px;
background:#161b26;color:#fff}.brand{display:flex;align-items:center;gap:12px}
.logo{width:22px;height:22px;border-radius:6px;background:linear-gradient(135deg,#5c7cfa,#2f9e6e)}
h1{font-size:18px;margin:0;font-weight:650}.top .muted{color:#9aa3b5}
.auth{display:flex;align-items:center;gap:10px}
#token{background:#222a3a;border:1px solid #39435a;color:#fff;border-radius:6px;padding:6px 10px;width:190px}
main{max-width:1280px;margin:0 auto;padding:22px 28px 40px}
.tiles{display:grid;grid-template-columns:repeat(6,1fr);gap:14px;margin-bottom:18px}
.tile{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:14px 16px}
.tile .label{color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.04em}
.tile .value{font-size:26px;font-weight:650;margin-top:2px;font-variant-numeric:tabular-nums}
.tile.bad .value{color:var(--bad)}.tile.ok .value{color:var(--ok)}
.card{background:var(--card);border:1px solid var(--line);border-radius:10px;margin-bottom:18px;overflow:hidden}
.card-head{display:flex;justify-content:space-between;align-items:center;padding:12px 16px;border-bottom:1px solid var(--line)}
h2{font-size:15px;margin:0;font-weight:620}.count{color:var(--muted);font-weight:500}
.legend{display:flex;align-items:center;gap:8px;color:var(--muted);font-size:12px}
.key{display:inline-block;width:10px;height:10px;border-radius:2px}.key.ok{background:var(--ok)}.key.bad{background:var(--bad)}
select{border:1px solid var(--line);border-radius:6px;padding:4px 6px;background:#fff;margin-left:8px}
.chart{padding:10px 16px 6px}.chart svg{display:block;width:100%;height:170px}
.chart text{fill:var(--muted);font-size:11px}.chart .gridline{stroke:var(--line)}
table.grid{width:100%;border-collapse:collapse}
.grid th{text-align:left;font-size:12px;color:var(--muted);font-weight:600;padding:8px 16px;background:#fafbfc;
border-bottom:1px solid var(--line)}
.grid td{padding:9px 16px;border-bottom:1px solid var(--line);font-variant-numeric:tabular-nums;vertical-align:middle}
.grid tr:last-child td{border-bottom:0}.n{text-align:right}.actions{text-align:right;white-space:nowrap}
.grid td.empty{color:var(--muted);text-align:center;padding:18px}
.name{font-weight:600}.mono{font-family:ui-monospace,"DejaVu Sans Mono",Menlo,monospace;font-size:12.5px}
.badge{display:inline-block;border-radius:999px;padding:2px 9px;font-size:12px;font-weight:600;background:var(--chip);color:var(--muted)}
.badge.run{background:#e6f6ee;color:var(--ok)}.badge.paused{background:#fff4dc;color:var(--warn)}
.badge.ro{background:#2a3245;color:#c5cbe0}.badge.rw{background:#1f3b2f;color:#8fe0b7}
.chip{display:inline-block;background:var(--chip);border-radius:4px;padding:1px 6px;margin-right:4px;font-size:12px}
.btn{border:1px solid var(--line);background:#fff;color:var(--ink);border-radius:6px;padding:4px 10px;font-size:12.5px;
cursor:pointer;margin-left:6px}.btn:hover{border-color:#b9c0ce}.btn.danger{color:var(--bad)}
.btn:disabled{opacity:.45;cursor:not-allowed}.bad{color:var(--bad)}
.job{border-bottom:1px solid var(--line);padding:11px 16px}.job:last-child{border-bottom:0}
.job-head{display:flex;justify-content:space-between;align-items:center;gap:12px}
.job .error{color:var(--bad);font-weight:560;margin:4px 0 2px;word-break:break-word}
.job .meta{color:var(--muted);font-size:12px}
details summary{cursor:pointer;color:var(--accent);font-size:12px;margin-top:4px}
pre{background:#f7f8fa;border:1px solid var(--line);border-radius:6px;padding:10px;overflow:auto;max-height:240px;
font:12px/1.5 ui-monospace,"DejaVu Sans Mono",Menlo,monospace;white-space:pre-wrap;word-break:break-word}
.none{color:var(--muted);padding:18px;text-align:center}
#toast{position:fixed;right:24px;bottom:24px;background:#161b26;color:#fff;border-radius:8px;padding:10px 14px;
opacity:0;transition:opacity .2s}#toast.show{opacity:.95}#toast.error{background:var(--bad)}
@media (max-width:900px){.tiles{grid-template-columns:repeat(3,1fr)}}
`;

/** The script: polls the JSON API and renders with DOM calls (never innerHTML of data). */
export const DASHBOARD_JS = `"use strict";
const state = { overview: null, failed: null, busy: false };
const $ = (id) => document.getElementById(id);
function h(tag, attrs, ...kids) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") el.className = v; else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (v !== false && v !== undefined) el.setAttribute(k, v === true ? "" : v);
  }
  for (const kid of kids.flat()) if (kid !== null && kid !== undefined) el.append(kid.nodeType ? kid : String(kid));
  return el;
}
const fmt = (n) => Number(n).toLocaleString("en-US");
function dur(ms) {
  if (ms === null || ms === undefined) return "–";
  if (ms < 1000) return Math.round(ms) + " ms";
  const s = ms / 1000; if (s < 60) return s.toFixed(s < 10 ? 1 : 0) + " s";
  const m = Math.floor(s / 60); if (m < 60) return m + " min " + Math.floor(s % 60) + " s";
  return Math.floor(m / 60) + " h " + (m % 60) + " min";
}
const ago = (t, now) => dur(Math.max(0, now - t)) + " ago";
function token() { return $("token").value.trim(); }
function toast(text, bad) {
  const el = $("toast"); el.textContent = text; el.className = "show" + (bad ? " error" : "");
  clearTimeout(toast.t); toast.t = setTimeout(() => el.className = "", 2600);
}
async function getJson(path) {
  const res = await fetch(path, { headers: { accept: "application/json" } });
  if (!res.ok) throw new Error(path + ": HTTP " + res.status);
  return res.json();
}
async function act(path, label) {
  try {
    const res = await fetch(path, { method: "POST", headers: { "x-queue-token": token() } });
    const body = await res.json().catch(() => ({}));
    if (!res.ok) throw new Error(body.error || ("HTTP " + res.status));
    toast(label + ": done"); await refresh();
  } catch (e) { toast(label + " refused: " + e.message, true); }
}
function button(text, path, label, danger) {
  const ro = state.overview && state.overview.readOnly;
  return h("button", { class: "btn" + (danger ? " danger" : ""), disabled: ro, "data-needs-token": true,
    title: ro ? "Read-only: the server has no token configured" : "",
    onclick: () => (!danger || confirm(label + "?")) && act(path, label) }, text);
}
function tiles(o) {
  const sum = (k) => o.queues.reduce((a, q) => a + q[k], 0);
  const hour = o.queues.reduce((a, q) => a + q.minutes.processed.reduce((x, y) => x + y, 0), 0);
  const items = [["Ready", sum("ready")], ["Delayed", sum("delayed")], ["Reserved", sum("reserved")],
    ["Failed", sum("failed"), sum("failed") > 0 ? "bad" : ""], ["Workers alive", o.workers.length, o.workers.length ? "ok" : "bad"],
    ["Processed, 1 h", hour]];
  $("tiles").replaceChildren(...items.map(([l, v, c]) =>
    h("div", { class: "tile " + (c || ""), "data-tile": l }, h("div", { class: "label" }, l), h("div", { class: "value" }, fmt(v)))));
}
function chart(o) {
  const pick = $("chart-queue").value;
  const qs = o.queues.filter((q) => !pick || q.name === pick);
  const n = 60, ok = new Array(n).fill(0), bad = new Array(n).fill(0);
  for (const q of qs) q.minutes.processed.forEach((v, i) => ok[i] += v), q.minutes.failed.forEach((v, i) => bad[i] += v);
  const max = Math.max(1, ...ok.map((v, i) => v + bad[i]));
  const W = 1000, H = 170, L = 44, B = 20, T = 8, bw = (W - L) / n;
  const ns = "http://www.w3.org/2000/svg", svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", "0 0 " + W + " " + H); svg.setAttribute("preserveAspectRatio", "none");
  const add = (tag, a, text) => { const e = document.createElementNS(ns, tag);
    for (const k in a) e.setAttribute(k, a[k]); if (text !== undefined) e.textContent = text; svg.append(e); return e; };
  const y = (v) => H - B - (v / max) * (H - B - T);
  for (const f of [0, 0.5, 1]) { add("line", { x1: L, x2: W, y1: y(max * f), y2: y(max * f), class: "gridline" });
    add("text", { x: L - 6, y: y(max * f) + 4, "text-anchor": "end" }, fmt(Math.round(max * f))); }
  for (let i = 0; i < n; i++) {
    const x = L + i * bw + 1, w = Math.max(1, bw - 2);
    if (ok[i]) add("rect", { x, width: w, y: y(ok[i]), height: y(0) - y(ok[i]), fill: "#2f9e6e", rx: 1.5 });
    if (bad[i]) add("rect", { x, width: w, y: y(ok[i] + bad[i]), height: y(0) - y(bad[i]), fill: "#d64545", rx: 1.5 });
  }
  add("text", { x: L, y: H - 4 }, "60 min ago"); add("text", { x: W, y: H - 4, "text-anchor": "end" }, "now");
  $("chart").replaceChildren(svg);
  const sel = $("chart-queue"), names = o.queues.map((q) => q.name).join(",");
  if (sel.dataset.names !== names) { sel.dataset.names = names;
    sel.replaceChildren(h("option", { value: "" }, "All queues"), ...o.queues.map((q) => h("option", { value: q.name }, q.name)));
    sel.value = pick; }
}
function queues(o) {
  const rows = o.queues.map((q) => h("tr", { "data-queue": q.name },
    h("td", { class: "name" }, q.name, q.configured ? "" : h("span", { class: "chip", title: "not in queue.queues" }, "ad hoc")),
    h("td", {}, h("span", { class: "badge " + (q.paused ? "paused" : "run") }, q.paused ? "paused" : "running")),
    h("td", { class: "n", "data-col": "ready" }, fmt(q.ready)), h("td", { class: "n", "data-col": "delayed" }, fmt(q.delayed)),
    h("td", { class: "n", "data-col": "reserved" }, fmt(q.reserved)),
    h("td", { class: "n" + (q.failed ? " bad" : ""), "data-col": "failed" }, fmt(q.failed)),
    h("td", { class: "n", "data-col": "workers" }, q.workersAlive + (q.processes ? " / " + q.processes : "")),
    h("td", { class: "n" }, q.oldestWaitMs ? dur(q.oldestWaitMs) : "–"),
    h("td", { class: "n" }, dur(q.durationP50) + " / " + dur(q.durationP95)),
    h("td", { class: "n" }, fmt(q.processedTotal)),
    h("td", { class: "actions" }, q.paused ? button("Resume", "/api/queues/" + encodeURIComponent(q.name) + "/resume", "Resume " + q.name)
      : button("Pause", "/api/queues/" + encodeURIComponent(q.name) + "/pause", "Pause " + q.name),
      button("Clear", "/api/queues/" + encodeURIComponent(q.name) + "/clear", "Clear " + q.name, true))));
  $("queues").tBodies[0].replaceChildren(...(rows.length ? rows : [h("tr", {}, h("td", { colspan: 11, class: "empty" }, "No queues yet"))]));
}
function workers(o) {
  const rows = o.workers.map((w) => h("tr", { "data-worker": w.id },
    h("td", { class: "mono" }, w.id), h("td", {}, w.host), h("td", { class: "n" }, w.pid),
    h("td", {}, w.queues.map((q) => h("span", { class: "chip" }, q))), h("td", { class: "n" }, dur(o.now - w.startedAt)),
    h("td", { class: "n" }, ago(w.lastBeatAt, o.now)), h("td", { class: "n" }, fmt(w.processed)),
    h("td", { class: "n" + (w.failed ? " bad" : "") }, fmt(w.failed)), h("td", { class: "mono" }, w.currentJob ? w.currentJob.slice(0, 8) : "idle")));
  $("workers").tBodies[0].replaceChildren(...(rows.length ? rows : [h("tr", {}, h("td", { colspan: 9, class: "empty" }, "No live workers"))]));
}
function failed(f, o) {
  $("failed-total").textContent = "(" + fmt(f.total) + ")";
  $("retry-all").disabled = o.readOnly || f.total === 0;
  const items = f.jobs.map((j) => h("div", { class: "job", "data-failed": j.id },
    h("div", { class: "job-head" }, h("div", {}, h("span", { class: "chip" }, j.queue), h("span", { class: "mono" }, j.id)),
      h("div", {}, button("Retry", "/api/failed/" + encodeURIComponent(j.id) + "/retry", "Retry job"),
        button("Forget", "/api/failed/" + encodeURIComponent(j.id) + "/forget", "Forget job", true))),
    h("div", { class: "error" }, j.error),
    h("div", { class: "meta" }, "attempts " + j.attempts + " · failed " + ago(j.failedAt, o.now)),
    h("details", {}, h("summary", {}, "stack and payload"), h("pre", {}, j.stack || "(no stack)"), h("pre", {}, j.payload))));
  $("failed").replaceChildren(...(items.length ? items : [h("div", { class: "none" }, "No failed jobs")]));
}
async function refresh() {
  if (state.busy) return; state.busy = true;
  try {
    const [o, f] = await Promise.all([getJson("/api/overview"), getJson("/api/failed?limit=50")]);
    state.overview = o; state.failed = f;
    $("target").textContent = o.driver + " · " + o.target;
    $("mode").textContent = o.readOnly ? "read-only" : "actions need token";
    $("mode").className = "badge " + (o.readOnly ? "ro" : "rw");
    $("token").hidden = o.readOnly;
    tiles(o); chart(o); queues(o); workers(o); failed(f, o);
    $("updated").textContent = "updated " + new Date().toLocaleTimeString("en-GB");
    document.body.dataset.loaded = "1";
  } catch (e) { $("updated").textContent = "offline: " + e.message; }
  finally { state.busy = false; }
}
document.addEventListener("DOMContentLoaded", () => {
  $("token").value = sessionStorage.getItem("queue-token") || "";
  $("token").addEventListener("change", () => sessionStorage.setItem("queue-token", token()));
  $("chart-queue").addEventListener("change", () => state.overview && chart(state.overview));
  $("retry-all").addEventListener("click", () => confirm("Retry all failed jobs?") && act("/api/failed/retry-all", "Retry all"));
  refresh(); setInterval(refresh, 2000);
});
`;
