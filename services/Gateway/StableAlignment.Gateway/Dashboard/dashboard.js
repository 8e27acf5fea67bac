// The Stable Alignment dashboard: read-only pages over the gateway's API, no build step and no third-party code.
// The API key (a read key is enough) comes from the form, or once from "?key=" in the address, and stays in this tab.
"use strict";

const view = document.getElementById("view");
const params = new URLSearchParams(location.search);
if (params.get("key")) { sessionStorage.setItem("sa-key", params.get("key")); }
document.getElementById("key-form").addEventListener("submit", e => {
  e.preventDefault();
  sessionStorage.setItem("sa-key", document.getElementById("key").value);
  route();
});

async function api(path) {
  const response = await fetch(path, { headers: { "X-Api-Key": sessionStorage.getItem("sa-key") || "" } });
  if (response.status === 401 || response.status === 403) { throw new Error("The API key is missing or not allowed to read: enter one above."); }
  if (!response.ok) { throw new Error(`${path}: ${response.status} ${response.statusText}`); }
  return response.json();
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) { if (k === "class") { node.className = v; } else { node.setAttribute(k, v); } }
  for (const c of children.flat(Infinity)) { node.append(c instanceof Node ? c : document.createTextNode(c ?? "")); }
  return node;
}

function table(headers, rows) {
  return el("table", {}, el("thead", {}, el("tr", {}, headers.map(h => el("th", {}, h)))),
    el("tbody", {}, rows.map(r => el("tr", {}, r.map(c => el("td", {}, c))))));
}

function fmt(x, digits = 3) { return typeof x === "number" && isFinite(x) ? x.toFixed(digits) : "—"; }

// A line chart in SVG: series = [{ name, points: [[x, y], …], color }].
function lineChart(title, series, xLabel) {
  const w = 640, h = 260, m = { l: 48, r: 130, t: 24, b: 36 };
  const all = series.flatMap(s => s.points);
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", `0 0 ${w} ${h}`); svg.setAttribute("width", w); svg.setAttribute("height", h);
  svg.setAttribute("class", "chart"); svg.setAttribute("role", "img"); svg.setAttribute("aria-label", title);
  const add = (name, attrs, text) => {
    const n = document.createElementNS(svg.namespaceURI, name);
    for (const [k, v] of Object.entries(attrs)) { n.setAttribute(k, v); }
    if (text !== undefined) { n.textContent = text; }
    svg.append(n); return n;
  };
  add("text", { x: m.l, y: 16, "font-size": 13, "font-weight": 600 }, title);
  if (all.length === 0) { add("text", { x: m.l, y: h / 2 }, "no data yet"); return svg; }
  const xs = all.map(p => p[0]), ys = all.map(p => p[1]);
  let [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  if (x0 === x1) { x1 = x0 + 1; } if (y0 === y1) { y0 -= 0.5; y1 += 0.5; }
  const X = x => m.l + (x - x0) / (x1 - x0) * (w - m.l - m.r), Y = y => h - m.b - (y - y0) / (y1 - y0) * (h - m.t - m.b);
  add("line", { x1: m.l, y1: h - m.b, x2: w - m.r, y2: h - m.b, stroke: "#999" });
  add("line", { x1: m.l, y1: m.t, x2: m.l, y2: h - m.b, stroke: "#999" });
  for (const v of [y0, (y0 + y1) / 2, y1]) { add("text", { x: 4, y: Y(v) + 4, "font-size": 11 }, fmt(v, 2)); }
  add("text", { x: m.l, y: h - 8, "font-size": 11 }, `${xLabel} ${x0}`);
  add("text", { x: w - m.r - 30, y: h - 8, "font-size": 11 }, `${x1}`);
  series.forEach((s, i) => {
    const color = s.color || ["#3a7bd5", "#e07b39", "#2e9e6b", "#a04fb8"][i % 4];
    add("polyline", { points: s.points.map(p => `${X(p[0])},${Y(p[1])}`).join(" "), fill: "none", stroke: color, "stroke-width": 2, "class": "series" });
    for (const p of s.points) { add("circle", { cx: X(p[0]), cy: Y(p[1]), r: 2.5, fill: color }); }
    add("text", { x: w - m.r + 8, y: m.t + 14 + i * 16, "font-size": 12, fill: color }, s.name);
  });
  return svg;
}

function progress(done, total) {
  const share = total ? Math.min(1, done / total) : 0;
  const fill = el("span");
  fill.style.width = `${(share * 100).toFixed(0)}%`; // CSSOM, not an inline style attribute: the page's CSP allows no inline styles
  return el("span", {}, el("span", { class: "bar" }, fill), ` ${done}/${total ?? "?"}`);
}

async function runsPage() {
  const runs = await api("/api/agents/runs");
  return [el("h2", {}, "Runs"), runs.length === 0 ? el("p", { class: "muted" }, "No runs yet.") :
    table(["run", "kind", "status", "progress", "failed", "created"], runs.map(r => [
      el("a", { href: `#/run/${r.id}` }, r.id), r.kind, r.status, progress(r.completed ?? 0, r.total), `${r.failed ?? "—"}`, r.createdAt]))];
}

function score(rating) { return rating && rating.score >= 1 && rating.score <= 7 && !rating.flag ? rating.score : null; }
function ratingCell(rating) {
  if (!rating) { return "—"; }
  const s = score(rating);
  return s === null ? el("span", { class: "invalid", title: rating.rawReply || "" }, "invalid") : `${s}`;
}
function mean(xs) { const v = xs.filter(x => x !== null); return v.length ? v.reduce((a, b) => a + b, 0) / v.length : null; }

async function runPage(id) {
  const [run, records] = await Promise.all([api(`/api/agents/runs/${id}`), api(`/api/memory/interactions?runId=${id}`).catch(() => [])]);
  const completed = records.filter(r => r.status === "Completed");
  const rounds = [...new Set(completed.map(r => r.round))].sort((a, b) => a - b);
  const per = (pick) => rounds.map(k => [k + 1, mean(completed.filter(r => r.round === k).map(pick))]).filter(p => p[1] !== null);
  const invalid = completed.flatMap(r => [r.draftAlignment, r.draftEngagement, r.revisedAlignment, r.revisedEngagement, ...r.peers.map(p => p.rating)])
    .filter(x => x && score(x) === null).length;
  return [
    el("h2", {}, `Run ${id}`),
    el("p", {}, `${run.status} · ${run.completed ?? 0} completed, ${run.failed ?? 0} failed of ${run.total ?? "?"} · ${invalid} invalid ratings`),
    lineChart("Alignment per round (observer, 1–7)", [
      { name: "before revision", points: per(r => score(r.draftAlignment)) },
      { name: "after revision", points: per(r => score(r.revisedAlignment)) }], "round"),
    lineChart("Engagement per round (observer, 1–7)", [
      { name: "before revision", points: per(r => score(r.draftEngagement)) },
      { name: "after revision", points: per(r => score(r.revisedEngagement)) }], "round"),
    el("h3", {}, `Interactions (${records.length})`),
    records.map(r => el("details", {},
      el("summary", {}, `round ${r.round + 1}, agent ${r.agentId} — ${r.status}: ${r.question}`),
      r.status !== "Completed" ? el("p", { class: "error" }, r.failureReason || "failed") : [
        el("p", {}, el("b", {}, "Draft: "), r.draft || ""),
        table(["peer", "rating", "reason"], r.peers.map(p => [`${p.peerId}`, ratingCell(p.rating), p.rating.reason || ""])),
        el("p", {}, el("b", {}, "Revision: "), r.revised || "—"),
        table(["observer", "before", "after"], [
          ["alignment", ratingCell(r.draftAlignment), ratingCell(r.revisedAlignment)],
          ["engagement", ratingCell(r.draftEngagement), ratingCell(r.revisedEngagement)]]),
      ])),
  ];
}

async function datasetsPage() {
  const datasets = await api("/api/datasets");
  return [el("h2", {}, "Datasets"), datasets.length === 0 ? el("p", { class: "muted" }, "No datasets yet.") :
    table(["dataset", "source", "parameters", "records", "kept (imitation / self-critic / realignment)", "created"], datasets.map(d => {
      const st = d.stats || {};
      const kept = Object.fromEntries(["imitation", "self-critic", "realignment"].map(t =>
        [t, (st.keptTrain ? st.keptTrain[t] ?? 0 : 0) + (st.keptHeldout ? st.keptHeldout[t] ?? 0 : 0)]));
      return [d.datasetId, d.source, d.parameters, `${d.stats ? d.stats.records : "—"}`,
        `${kept.imitation ?? "—"} / ${kept["self-critic"] ?? "—"} / ${kept.realignment ?? "—"}`, d.createdAt];
    }))];
}

async function trainingPage() {
  const jobs = await api("/api/training");
  return [el("h2", {}, "Training jobs"), jobs.length === 0 ? el("p", { class: "muted" }, "No training jobs yet.") :
    jobs.map(j => el("section", {},
      el("h3", {}, `${j.jobId} — ${j.state}${j.reason ? ": " + j.reason : ""}`),
      lineChart(`Loss of ${j.jobId}`, [
        { name: "loss", points: j.metrics.map(m => [m.step, m.loss]) },
        { name: "sft", points: j.metrics.map(m => [m.step, m.sft]) }], "step")))];
}

async function evaluationsPage() {
  const reports = await api("/api/evaluations");
  const benchmarks = [...new Set(reports.flatMap(r => Object.keys(r.scores)))];
  return [el("h2", {}, "Leaderboard"), reports.length === 0 ? el("p", { class: "muted" }, "No evaluations yet.") :
    table(["checkpoint", "step", ...benchmarks], reports.map(r => [r.checkpointId, `${r.step}`,
      ...benchmarks.map(b => r.scores[b] ? `${fmt(r.scores[b].score.value)} [${fmt(r.scores[b].score.low, 2)}, ${fmt(r.scores[b].score.high, 2)}]` : "—")]))];
}

let timer = null;
async function route() {
  clearTimeout(timer);
  const [, page, id] = (location.hash || "#/runs").split("/");
  const pages = { runs: runsPage, run: () => runPage(id), datasets: datasetsPage, training: trainingPage, evaluations: evaluationsPage };
  try {
    const content = await (pages[page] || runsPage)();
    view.replaceChildren(...[content].flat(Infinity));
    if (page === "runs" || page === "run" || page === undefined) { timer = setTimeout(route, 3000); } // live progress
  } catch (e) {
    view.replaceChildren(el("p", { class: "error" }, e.message));
  }
}
window.addEventListener("hashchange", route);
route();
