/* openseeker view: one page, hash routes, data from the live API (/api/...) or, in a static export, from
   data/*.js chunks loaded as <script> tags (file:// pages cannot fetch). No framework; cytoscape draws graphs,
   charts are plain SVG. All record text goes into the DOM as text nodes, never as HTML. */
"use strict";

const OSV = (window.OSV = window.OSV || { store: {}, waiters: {} });
OSV.put = function (key, value) {
  OSV.store[key] = value;
  (OSV.waiters[key] || []).forEach((w) => w[0](value));
  delete OSV.waiters[key];
};
const STATIC = !!window.OSV_STATIC;

/* ------------------------------------------------------------------ data access */

function loadKey(key) {
  if (key in OSV.store) return Promise.resolve(OSV.store[key]);
  return new Promise((resolve, reject) => {
    const first = !OSV.waiters[key];
    (OSV.waiters[key] = OSV.waiters[key] || []).push([resolve, reject]);
    if (!first) return;
    const s = document.createElement("script");
    s.src = "data/" + key.split("/").map(encodeURIComponent).join("/") + ".js";
    s.onerror = () => {
      (OSV.waiters[key] || []).forEach((w) => w[1](new Error("missing export file data/" + key + ".js")));
      delete OSV.waiters[key];
    };
    document.head.appendChild(s);
  });
}

function matches(row, filters, q) {  // the same rule as openseeker.view.data.matches
  for (const [k, v] of Object.entries(filters)) if (v && String(row[k]) !== v) return false;
  if (q) {
    const hay = ["id", "key", "question", "answer", "gold", "reason", "seed"].map((k) => String(row[k] ?? "")).join(" ");
    return hay.toLowerCase().includes(q.toLowerCase());
  }
  return true;
}

const staticRows = {};
async function allStaticRows(ds) {
  if (staticRows[ds]) return staticRows[ds];
  const m = await loadKey("manifest");
  const e = m.datasets.find((d) => d.id === ds);
  if (!e) throw new Error("no dataset " + ds);
  const parts = await Promise.all([...Array(Math.max(e.row_chunks, 1)).keys()].map((k) => loadKey(`${ds}/rows-${k}`)));
  return (staticRows[ds] = parts.flat());
}

async function staticCall(route, p) {
  if (route === "manifest") return loadKey("manifest");
  if (route === "summary") return loadKey(`${p.ds}/summary`);
  if (route === "compare") return loadKey(`compare/${p.a}__${p.b}`);
  if (route === "rows") {
    const filters = {};
    for (const [k, v] of Object.entries(p)) if (k.startsWith("f.")) filters[k.slice(2)] = v;
    const rows = (await allStaticRows(p.ds)).filter((r) => matches(r, filters, p.q || ""));
    const off = +p.offset || 0, lim = +p.limit || 50;
    return { total: rows.length, offset: off, rows: rows.slice(off, off + lim) };
  }
  if (route === "item") {
    const m = await loadKey("manifest");
    const e = m.datasets.find((d) => d.id === p.ds);
    const i = +p.i;
    if (!e || i < 0 || i >= e.count) throw new Error(`no record #${p.i} in ${p.ds}`);
    const chunk = await loadKey(`${p.ds}/items-${Math.floor(i / e.item_chunk)}`);
    const it = chunk[i % e.item_chunk];
    if (it.error) throw new Error(it.error);
    return it;
  }
  if (route === "find") {
    const rows = await allStaticRows(p.ds);
    const r = rows.find((x) => x.key === p.id) || rows.find((x) => x.id === p.id);
    return { i: r ? r.i : null };
  }
  throw new Error("unknown route " + route);
}

async function call(route, params = {}) {
  if (STATIC) return staticCall(route, params);
  const qs = new URLSearchParams(params).toString();
  const r = await fetch(`api/${route}?${qs}`);
  const j = await r.json();
  if (!r.ok) throw new Error(j.error || r.statusText);
  return j;
}

/* ------------------------------------------------------------------ DOM helpers */

function h(tag, attrs, ...kids) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else if (k === "style") el.style.cssText = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of kids.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}
const S = (tag, attrs, ...kids) => {
  const el = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v); else el.setAttribute(k, v);
  }
  for (const c of kids.flat()) if (c !== null && c !== undefined) el.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
};
const pct = (x) => (100 * (x || 0)).toFixed(1) + "%";
const fmt = (n) => (n === null || n === undefined ? "-" : Number(n).toLocaleString("en-US"));
const badge = (text, cls) => h("span", { class: "badge " + (cls || "") }, text);
const verdictBadge = (c) => badge(c === true || c === "yes" ? "correct" : c === false || c === "no" ? "wrong" : "ungraded",
  c === true || c === "yes" ? "yes" : c === false || c === "no" ? "no" : "ungraded");
const pre = (x) => h("pre", {}, typeof x === "string" ? x : JSON.stringify(x, null, 2));
const app = () => document.getElementById("app");
const show = (...kids) => app().replaceChildren(...kids.flat().filter((k) => k !== null && k !== undefined && k !== false));

function setCrumbs(...parts) {
  const c = document.getElementById("crumbs");
  c.replaceChildren(...parts.flatMap((p, i) => [i ? h("span", {}, "›") : null,
    p[1] ? h("a", { href: p[1] }, p[0]) : h("span", {}, p[0])]).filter(Boolean));
}

function parseHash() {
  const raw = location.hash.replace(/^#\/?/, "");
  const [path, query] = raw.split("?");
  return { parts: path ? path.split("/").map(decodeURIComponent) : [], params: Object.fromEntries(new URLSearchParams(query || "")) };
}
function hashFor(parts, params) {
  const q = new URLSearchParams(Object.entries(params || {}).filter(([, v]) => v !== "" && v !== undefined && v !== null)).toString();
  return "#/" + parts.map(encodeURIComponent).join("/") + (q ? "?" + q : "");
}
const go = (parts, params) => { location.hash = hashFor(parts, params); };

/* ------------------------------------------------------------------ charts (plain SVG) */

function barChart(items, { width = 520, label = (d) => d.label, value = (d) => d.value, text, onclick, cls, ci } = {}) {
  const longest = Math.max(4, ...items.map((d) => Math.min(32, String(label(d)).length)));
  const rowH = 22, left = Math.min(200, 12 + 6.2 * longest), right = ci ? 150 : 90, H = items.length * rowH + 8;
  const max = Math.max(1e-9, ...items.map((d) => (ci ? 1 : value(d))));
  const svg = S("svg", { width, height: H, viewBox: `0 0 ${width} ${H}`, role: "img", style: "max-width:100%;height:auto" });
  items.forEach((d, k) => {
    const y = 4 + k * rowH, w = ((width - left - right) * value(d)) / max;
    const g = S("g", onclick ? { class: "clickable", onclick: () => onclick(d), "data-testid": "bar-" + label(d) } : {});
    g.appendChild(S("text", { x: left - 6, y: y + 14, "text-anchor": "end" }, String(label(d)).slice(0, 32)));
    g.appendChild(S("rect", { x: left, y: y + 3, width: Math.max(w, 1), height: rowH - 7, class: "bar " + (cls ? cls(d) : "") }));
    if (ci) {
      const [lo, hi] = ci(d), sx = (v) => left + ((width - left - right) * v) / max;
      g.appendChild(S("line", { x1: sx(lo), x2: sx(hi), y1: y + 11, y2: y + 11, class: "ci" }));
      g.appendChild(S("line", { x1: sx(lo), x2: sx(lo), y1: y + 6, y2: y + 16, class: "ci" }));
      g.appendChild(S("line", { x1: sx(hi), x2: sx(hi), y1: y + 6, y2: y + 16, class: "ci" }));
    }
    const end = ci ? Math.max(w, ((width - left - right) * ci(d)[1]) / max) : w;
    g.appendChild(S("text", { x: left + Math.max(end, 1) + 6, y: y + 14 }, text ? text(d) : fmt(value(d))));
    svg.appendChild(g);
  });
  return svg;
}

function histogram(bins, { width = 420, height = 150, xlabel = "" } = {}) {
  const svg = S("svg", { width, height: height + 30, viewBox: `0 0 ${width} ${height + 30}`, role: "img", style: "max-width:100%;height:auto" });
  if (!bins.length) { svg.appendChild(S("text", { x: 10, y: 20 }, "no data")); return svg; }
  const max = Math.max(...bins.map((b) => b.n)), bw = (width - 20) / bins.length;
  bins.forEach((b, k) => {
    const bh = max ? ((height - 16) * b.n) / max : 0, x = 10 + k * bw;
    svg.appendChild(S("rect", { x: x + 1, y: height - bh, width: Math.max(bw - 2, 1), height: bh, class: "bar" },
      S("title", {}, `${b.lo}${b.hi !== b.lo ? "–" + b.hi : ""}: ${b.n}`)));
    if (b.n) svg.appendChild(S("text", { x: x + bw / 2, y: height - bh - 3, "text-anchor": "middle" }, b.n));
    const every = b.hi - b.lo > 9 ? Math.ceil(bins.length / 4) : Math.ceil(bins.length / 12);
    if (k % every === 0)
      svg.appendChild(S("text", { x: x + bw / 2, y: height + 13, "text-anchor": "middle" }, b.lo === b.hi ? b.lo : `${b.lo}–${b.hi}`));
  });
  svg.appendChild(S("text", { x: width / 2, y: height + 27, "text-anchor": "middle" }, xlabel));
  return svg;
}

/* ------------------------------------------------------------------ list pages */

async function listView(ds, summary, params, columns, onRow, { extraTop } = {}) {
  const offset = +params.offset || 0, limit = 50;
  const filters = {};
  for (const [k, v] of Object.entries(params)) if (k.startsWith("f.")) filters[k] = v;
  const q = params.q || "";
  const toolbar = h("div", { class: "toolbar" });
  const search = h("input", { type: "search", placeholder: "search id, question, answer…", value: q, "data-testid": "search" });
  let timer = null;
  search.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(() => go(["ds", ds], { ...params, q: search.value, offset: 0 }), 300); });
  toolbar.appendChild(search);
  for (const [facet, counts] of Object.entries(summary.facets || {})) {
    const sel = h("select", { "data-testid": "filter-" + facet, onchange: (e) => go(["ds", ds], { ...params, ["f." + facet]: e.target.value, offset: 0 }) },
      h("option", { value: "" }, facet + ": all"),
      Object.entries(counts).map(([v, n]) => h("option", { value: v, selected: filters["f." + facet] === v }, `${facet}: ${v} (${n})`)));
    toolbar.appendChild(sel);
  }
  const t0 = performance.now();
  const res = await call("rows", { ds, offset, limit, q, ...filters });
  const table = h("table", { "data-testid": "rows" },
    h("thead", {}, h("tr", {}, columns.map((c) => h("th", {}, c[0])))),
    h("tbody", {}, res.rows.map((r) => h("tr", { class: "click", "data-testid": "row", "data-i": r.i, onclick: () => onRow(r) },
      columns.map((c) => h("td", {}, r.bad && c[0] === "question" ? h("span", { class: "err" }, r.question) : c[1](r)))))));
  const pager = h("div", { class: "pager" },
    h("button", { disabled: offset <= 0, onclick: () => go(["ds", ds], { ...params, offset: Math.max(0, offset - limit) }) }, "‹ prev"),
    h("span", { class: "muted", "data-testid": "range" }, res.total ? `${offset + 1}–${Math.min(offset + limit, res.total)} of ${fmt(res.total)}` : "no rows match"),
    h("button", { disabled: offset + limit >= res.total, onclick: () => go(["ds", ds], { ...params, offset: offset + limit }) }, "next ›"),
    h("span", { class: "muted small" }, `(${Math.round(performance.now() - t0)} ms)`));
  return h("div", {}, extraTop || null, toolbar, table, pager);
}

/* ------------------------------------------------------------------ home */

function detailOf(s) {
  const facets = (f) => Object.entries((s.facets || {})[f] || {}).slice(0, 4).map(([k, n]) => `${k} ${fmt(n)}`).join(", ");
  if (s.kind === "qa") return `languages: ${facets("language")} · difficulty: ${facets("difficulty")} · hops: ${facets("hops")}`;
  if (s.kind === "rejected" && s.yield) return `${fmt(s.yield.candidates)} candidates → ${fmt(s.yield.accepted)} accepted · top reasons: ${(s.yield.reasons || []).slice(0, 3).map((r) => `${r.reason} ${r.count}`).join(", ")}`;
  if (s.kind === "eval" && s.report) return `${s.report.benchmark} · accuracy ${pct(s.report.accuracy)} [${pct((s.report.ci95 || [0, 0])[0])}, ${pct((s.report.ci95 || [0, 0])[1])}] · ${s.report.n_questions} questions × ${s.report.runs} run(s)`;
  if (s.kind === "traj" && s.summary_file && s.summary_file.summary) {
    const f = s.summary_file.summary, c = s.summary_file.config || {};
    return `teacher ${c.teacher || "-"}${c.summarize ? " (summaries on)" : ""} · mean tool calls ${f.mean_tool_calls ?? "-"} · stop ${Object.entries(f.stop_reasons || {}).map(([k, n]) => `${k} ${n}`).join(", ")}`;
  }
  return "";
}

async function home() {
  setCrumbs();
  const m = await call("manifest");
  const sums = Object.fromEntries((await Promise.all(m.datasets.map((d) => call("summary", { ds: d.id })))).map((s) => [s.id, s]));
  const byKind = {};
  m.datasets.forEach((d) => (byKind[d.kind] = byKind[d.kind] || []).push(d));
  const names = { qa: "QA samples", rejected: "Rejections & yield", traj: "Trajectories", sft: "SFT exports", eval: "Evaluation runs" };
  const out = [h("h1", {}, "Pipeline outputs")];
  for (const kind of ["qa", "rejected", "traj", "sft", "eval"]) {
    if (!byKind[kind]) continue;
    out.push(h("h2", {}, names[kind]));
    out.push(h("table", { style: "table-layout:fixed" }, h("colgroup", {}, h("col", { style: "width:32%" }), h("col", { style: "width:12%" }), h("col", {})),
      h("tbody", {}, byKind[kind].map((d) =>
        h("tr", { class: "click", "data-testid": "ds-" + d.id, onclick: () => go(["ds", d.id]) },
          h("td", {}, h("a", { href: hashFor(["ds", d.id]) }, d.name)), h("td", { class: "muted" }, fmt(d.count) + " records"),
          h("td", { class: "small" }, detailOf(sums[d.id])))))));
  }
  const evals = m.compare.map((id) => sums[id]);
  if (evals.length) {
    out.push(h("h2", {}, "Accuracy per run and benchmark (95% CI)"));
    out.push(h("div", { class: "card" }, barChart(evals.flatMap((s) => Object.entries(s.by_benchmark || {}).map(([b, x]) => ({ label: `${s.name} · ${b}`, value: x.accuracy, ci: x.ci95, id: s.id }))),
      { ci: (d) => d.ci, cls: () => "ok", text: (d) => `${pct(d.value)} [${pct(d.ci[0])}, ${pct(d.ci[1])}]`, onclick: (d) => go(["ds", d.id]), width: 640 })));
  }
  if (m.web) out.push(h("p", { class: "muted small" }, "cited page text from the local web " + m.web));
  if (m.skipped.length) out.push(h("details", {}, h("summary", {}, `${m.skipped.length} file(s) not shown`), h("ul", {}, m.skipped.map((s) => h("li", {}, s)))));
  show(...out);
}

/* ------------------------------------------------------------------ QA */

async function qaList(ds, s, params) {
  setCrumbs([s.name]);
  const top = h("div", {}, h("h1", {}, `QA samples · ${s.name}`),
    h("p", { class: "muted" }, `${fmt(s.count)} accepted samples`, s.rejected_ds ? [" · ", h("a", { href: hashFor(["ds", s.rejected_ds]), "data-testid": "to-yield" }, "yield & rejections →")] : null),
    s.bad_lines.length ? h("div", { class: "err" }, `${s.bad_lines.length} malformed line(s): ${s.bad_lines[0]}`) : null,
    s.indexing ? h("p", { class: "small muted", "data-testid": "indexing" }, "Indexing the whole file for filters and search… (pages are served meanwhile)") : null);
  if (s.indexing) {
    const here = location.hash;
    const poll = async () => {
      if (location.hash !== here) return;
      const again = await call("summary", { ds });
      if (location.hash !== here) return;
      if (again.indexing) setTimeout(poll, 700); else render();
    };
    setTimeout(poll, 700);
  }
  const cols = [["question", (r) => r.question], ["answer", (r) => r.answer], ["lang", (r) => r.language],
    ["difficulty", (r) => r.difficulty], ["hops", (r) => r.hops], ["selector", (r) => r.selector]];
  show(await listView(ds, s, params, cols, (r) => go(["ds", ds, r.i], params), { extraTop: top }));
}

function chainNames(rec) {
  const chain = rec.chain || [];
  const names = [];
  // a chain is [[a, b], [b, c]] (accepted samples), [a, b, c] (a proposed chain) or [{src, dst}, ...]
  chain.forEach((e) => (typeof e === "string" ? [e] : Array.isArray(e) ? e : [e.src, e.dst]).forEach((n) => { if (n && names[names.length - 1] !== n) names.push(String(n)); }));
  return names;
}

function markText(text, marks) {  // marks: [[needle, cls, n]]: every case-insensitive occurrence, longest first
  const spans = [];
  const lower = text.toLowerCase();
  marks.slice().sort((a, b) => b[0].length - a[0].length).forEach(([needle, cls, n]) => {
    if (!needle) return;
    let at = lower.indexOf(needle.toLowerCase());
    while (at >= 0) {
      if (!spans.some((s) => at < s[1] && at + needle.length > s[0])) spans.push([at, at + needle.length, cls, n]);
      at = lower.indexOf(needle.toLowerCase(), at + needle.length);
    }
  });
  spans.sort((a, b) => a[0] - b[0]);
  const out = [];
  let pos = 0;
  for (const [a, b, cls, n] of spans) {
    out.push(text.slice(pos, a), h("mark", { class: cls, "data-testid": "mark-" + cls }, text.slice(a, b), n ? h("sup", { class: "n" }, n) : null));
    pos = b;
  }
  out.push(text.slice(pos));
  return out;
}

function drawGraph(container, rec) {
  const sub = rec.subgraph || {}, eg = rec.entity_graph || {};
  const urls = sub.urls || [], titles = sub.titles || [], hops = sub.hops || {};
  const byName = {};
  titles.forEach((t, k) => { byName[String(t).toLowerCase()] = urls[k]; });  // a page stands for its title entity
  (eg.nodes || []).forEach((n) => { if (n.page_url) byName[String(n.name).toLowerCase()] = n.page_url; });
  const chainUrls = chainNames(rec).map((n) => byName[n.toLowerCase()]).filter(Boolean);
  const answerUrl = ((eg.nodes || []).find((n) => n.is_answer) || {}).page_url;
  const els = urls.map((u, k) => ({ data: { id: u, label: `${titles[k] || u.split("/").pop()}\nhop ${hops[u] ?? "?"}` + (chainUrls.includes(u) ? ` · #${chainUrls.indexOf(u) + 1}` : "") },
    classes: [chainUrls.includes(u) ? "chain" : "", u === answerUrl ? "answer" : "", u === sub.seed ? "seed" : ""].join(" ") }));
  const seen = new Set(), chainPairs = new Set();
  for (let k = 0; k + 1 < chainUrls.length; k++) { chainPairs.add(chainUrls[k] + " " + chainUrls[k + 1]); chainPairs.add(chainUrls[k + 1] + " " + chainUrls[k]); }
  (sub.edges || []).forEach(([a, b]) => {
    if (!urls.includes(a) || !urls.includes(b)) return;
    const key = a < b ? a + " " + b : b + " " + a;
    if (seen.has(key)) return;
    seen.add(key);
    els.push({ data: { id: "e" + els.length, source: a, target: b }, classes: chainPairs.has(a + " " + b) ? "chain" : "" });
  });
  for (let k = 0; k + 1 < chainUrls.length; k++) {  // a chain step with no hyperlink between its pages: dashed
    const a = chainUrls[k], b = chainUrls[k + 1], key = a < b ? a + " " + b : b + " " + a;
    if (a !== b && !seen.has(key) && urls.includes(a) && urls.includes(b)) els.push({ data: { id: "c" + k, source: a, target: b }, classes: "chain virtual" });
  }
  if (typeof cytoscape === "undefined") { container.replaceChildren(h("p", { class: "err" }, "graph library failed to load")); return; }
  const cy = cytoscape({
    container, elements: els, wheelSensitivity: 0.3,
    style: [
      { selector: "node", style: { label: "data(label)", "text-wrap": "wrap", "font-size": 10, "background-color": "#9aa9bb", width: 18, height: 18, "text-valign": "bottom", "text-margin-y": 4 } },
      { selector: "node.seed", style: { "border-width": 2, "border-color": "#333" } },
      { selector: "node.chain", style: { "background-color": "#e8590c", width: 24, height: 24 } },
      { selector: "node.answer", style: { "background-color": "#1f8a4c", shape: "star", width: 30, height: 30 } },
      { selector: "edge", style: { width: 1.2, "line-color": "#c7ced8", "curve-style": "bezier" } },
      { selector: "edge.chain", style: { width: 4, "line-color": "#e8590c" } },
      { selector: "edge.virtual", style: { "line-style": "dashed" } },
    ],
    layout: { name: "breadthfirst", roots: sub.seed ? [sub.seed] : undefined, directed: false, spacingFactor: 1.1, padding: 20 },
  });
  container._cy = cy;
}

async function qaItem(ds, s, i, params) {
  const it = await call("item", { ds, i });
  const r = it.record;
  setCrumbs([s.name, hashFor(["ds", ds], params)], [`#${i}`]);
  const ob = Object.entries(r.obfuscation || {});
  const pagePanel = h("div", { class: "card", "data-testid": "page-panel" }, h("span", { class: "muted" }, "Click “page” beside a fact to read the cited page text."));
  function showPage(url, fact) {
    const p = (it.pages || {})[url];
    pagePanel.replaceChildren(h("h3", {}, p ? p.title : url), h("div", { class: "small muted" }, url),
      p ? h("pre", { class: "page-text", "data-testid": "page-text" }, markText(p.text, [[fact || "", "cite"]]))
        : h("p", { class: "muted" }, "Page text not available: no local web next to these files (pass --web DIR). The cited fact: ", h("mark", { class: "cite" }, fact)));
    pagePanel.scrollIntoView({ block: "nearest" });
  }
  const graphBox = h("div", { id: "graph", "data-testid": "graph" });
  const ver = r.verification || {};
  const attempts = ((ver.difficulty || {}).attempts || []);
  const sol = ver.solvability || {};
  const nav = h("div", { class: "toolbar" },
    h("button", { disabled: i <= 0, onclick: () => go(["ds", ds, i - 1], params), "data-testid": "prev" }, "‹ previous"),
    h("button", { disabled: i + 1 >= it.total, onclick: () => go(["ds", ds, i + 1], params), "data-testid": "next" }, "next ›"),
    h("span", { class: "muted small" }, `record ${i + 1} of ${fmt(it.total)} · line ${it.line} · ${r.id} · keys j / k`));
  show(
    nav,
    h("div", { class: "card" }, h("div", { class: "q", "data-testid": "question" }, r.question),
      h("p", {}, h("b", {}, "Answer: "), h("span", { "data-testid": "answer" }, r.answer)),
      badge("lang " + r.language), badge("difficulty " + (r.difficulty || "-")), badge(`${(r.chain || []).length} hops`),
      badge("selector " + ((r.controls || {}).selector || (r.subgraph || {}).selector || "-"))),
    h("div", { class: "grid2" },
      h("div", {}, h("h2", {}, "Subgraph"), graphBox,
        h("div", { class: "legend small" }, h("span", {}, h("span", { class: "dot", style: "background:#e8590c" }), "chain (#1 = far end → answer)"),
          h("span", {}, h("span", { class: "dot", style: "background:#1f8a4c" }), "answer"), h("span", {}, h("span", { class: "dot", style: "background:#9aa9bb;border:2px solid #333" }), "seed"),
          h("span", {}, "chain: " + chainNames(r).join(" → ")))),
      h("div", {}, h("h2", {}, "Question before and after obfuscation"),
        h("div", { class: "card", "data-testid": "q-init" }, h("div", { class: "role" }, "q_init"), markText(r.q_init || "", ob.map(([k], n) => [k, "from", n + 1]))),
        h("div", { class: "card", "data-testid": "q-final" }, h("div", { class: "role" }, "obfuscated question"), markText(r.question || "", ob.map(([, v], n) => [v, "to", n + 1]))),
        h("table", {}, h("thead", {}, h("tr", {}, h("th", {}, "#"), h("th", {}, "entity"), h("th", {}, "replaced by"))),
          h("tbody", {}, ob.map(([k, v], n) => h("tr", {}, h("td", {}, n + 1), h("td", {}, h("mark", { class: "from" }, k)), h("td", {}, h("mark", { class: "to" }, v)))))))),
    h("div", { class: "grid2" },
      h("div", {}, h("h2", {}, "Entity graph facts"), h("div", { class: "card", "data-testid": "facts" },
        ((r.entity_graph || {}).nodes || []).map((n) => h("div", {}, h("h3", {}, n.name, n.is_answer ? badge("answer", "ok") : null),
          (n.facts || []).map((f) => h("div", { class: "fact" }, f.text, " ", h("span", { class: "muted small" }, `(${f.by || "?"}, grounding ${f.grounding ?? "?"})`),
            h("button", { "data-testid": "cite", onclick: () => showPage(f.url, f.text) }, "page"))))))),
      h("div", {}, h("h2", {}, "Cited page"), pagePanel)),
    h("h2", {}, "Verification"),
    h("div", { class: "grid2", "data-testid": "verification" },
      h("div", { class: "card" }, h("h3", {}, "Closed-book attempts (must fail)"),
        attempts.map((a, k) => h("div", {}, h("b", {}, `attempt ${k + 1}: `), a.response, " ", verdictBadge(a.correct),
          h("details", {}, h("summary", {}, "raw replies"), pre((a.raw || []).join("\n---\n")), a.verdict ? pre(a.verdict.raw || a.verdict) : null)))),
      h("div", { class: "card" }, h("h3", {}, "With the entity graph (must succeed)"),
        h("div", {}, sol.response || "-", " ", verdictBadge(sol.correct), " ", h("span", { class: "muted small" }, sol.method || "")),
        h("details", {}, h("summary", {}, "raw replies"), pre((sol.raw || []).join("\n---\n"))),
        sol.control ? h("details", {}, h("summary", {}, "control question"), pre(sol.control)) : null,
        h("p", { class: "small muted" }, `leak ${ver.leak || "-"} · dedup ${ver.dedup || "-"} · judge mode ${ver.judge_mode || "-"}`))),
    h("details", {}, h("summary", {}, "full record (JSON)"), pre(r)));
  drawGraph(graphBox, r);
}

/* ------------------------------------------------------------------ rejections & yield */

async function rejectedList(ds, s, params) {
  setCrumbs([s.name]);
  const y = s.yield || {};
  const cand = y.candidates || 1;
  const funnel = barChart((y.funnel || []).map((f) => ({ label: f.stage, value: f.out, inn: f.in })),
    { text: (d) => `${fmt(d.inn)} → ${fmt(d.value)}` + (d.inn - d.value ? ` (−${d.inn - d.value})` : ""), width: 560 });
  const reasons = barChart((y.reasons || []).map((r) => ({ label: `${r.stage}: ${r.reason}`, value: r.count, r })),
    { cls: () => "drop", width: 560, onclick: (d) => go(["ds", ds], { "f.stage": d.r.stage, "f.reason": d.r.reason }) });
  const top = h("div", {}, h("h1", {}, `Yield · ${s.name}`),
    h("p", {}, `${fmt(y.candidates)} candidates → ${fmt(y.accepted)} accepted`, y.candidates ? ` (yield ${pct((y.accepted || 0) / cand)})` : "",
      y.report ? h("span", { class: "muted small" }, ` · from ${y.report}`) : null),
    (y.notes || []).map((n) => h("p", { class: "small muted" }, "Note: " + n)),
    h("div", { class: "grid2" }, h("div", { class: "card", "data-testid": "funnel" }, h("h3", {}, "Funnel per stage (candidates in → out)"), funnel),
      h("div", { class: "card", "data-testid": "reasons" }, h("h3", {}, "Rejection reasons (click for examples)"), reasons)),
    h("h2", {}, params["f.reason"] ? `Examples: ${params["f.stage"] || ""} / ${params["f.reason"]}` : "All rejected candidates"));
  const cols = [["stage", (r) => r.stage], ["reason", (r) => badge(r.reason, "bad")], ["seed page", (r) => r.seed], ["question", (r) => r.question || h("span", { class: "muted" }, "(none yet at this stage)")]];
  show(await listView(ds, s, params, cols, (r) => go(["ds", ds, r.i], params), { extraTop: top }));
}

async function rejectedItem(ds, s, i, params) {
  const it = await call("item", { ds, i });
  const r = it.record, d = r.detail || {};
  setCrumbs([s.name, hashFor(["ds", ds], params)], [`#${i}`]);
  const keys = Object.keys(d).filter((k) => !["subgraph", "usage", "extraction"].includes(k));
  const graphBox = h("div", { id: "graph", "data-testid": "graph" });
  show(
    h("div", { class: "card", "data-testid": "rejection" }, h("h1", {}, `Rejected at ${r.stage}: `, badge(r.reason, "bad")),
      h("div", { class: "kv" }, h("div", {}, "id"), h("div", {}, r.id), h("div", {}, "seed"), h("div", {}, d.seed_title || "", " ", h("span", { class: "muted small" }, d.seed_url || "")),
        keys.filter((k) => !["seed_title", "seed_url"].includes(k)).flatMap((k) => [h("div", {}, k), h("div", {},
          Array.isArray(d[k]) && d[k].length && d[k].every((x) => typeof x === "string") && k.includes("raw")
            ? pre(d[k].join("\n--- next reply ---\n"))  // the model's raw replies, as it wrote them
            : typeof d[k] === "object" ? pre(d[k]) : String(d[k]))]))),
    d.q_init && d.question ? h("div", { class: "grid2" },
      h("div", { class: "card" }, h("div", { class: "role" }, "q_init"), markText(d.q_init, Object.keys(d.obfuscation || {}).map((k, n) => [k, "from", n + 1]))),
      h("div", { class: "card" }, h("div", { class: "role" }, "obfuscated question"), markText(d.question,
        Object.values(d.obfuscation || {}).map((v, n) => [v, "to", n + 1])
          .concat([].concat(d.leaked || []).map((x) => [String(x), "leak", "leak"]))))) : null,  // what gave the answer away
    d.subgraph ? h("div", {}, h("h2", {}, "Subgraph"), graphBox) : null,
    d.usage ? h("details", {}, h("summary", {}, "LLM usage spent on this candidate"), pre(d.usage)) : null,
    h("details", {}, h("summary", {}, "full record (JSON)"), pre(r)));
  if (d.subgraph) drawGraph(graphBox, { subgraph: d.subgraph, entity_graph: {}, chain: d.chain || d.proposed_chain || [] });
}

/* ------------------------------------------------------------------ trajectories */

function trajView(t, { mode = "raw", onMode } = {}) {
  const totalP = t.steps.reduce((a, s) => a + s.prompt_tokens, 0), totalC = t.steps.reduce((a, s) => a + s.completion_tokens, 0);
  const head = h("div", { class: "card" }, h("div", { class: "q", "data-testid": "traj-question" }, t.question),
    h("div", { class: "kv", style: "margin-top:6px" },
      h("div", {}, "final answer"), h("div", { "data-testid": "final-answer" }, h("b", {}, t.final_answer ?? "(none)"), " ", t.correct !== undefined && t.correct !== null ? verdictBadge(t.correct) : null,
        t.gold ? h("span", { class: "muted" }, ` gold: ${Array.isArray(t.gold) ? t.gold.join(" | ") : t.gold}`) : null),
      h("div", {}, "stop"), h("div", {}, t.stop_reason, ` · ${t.num_tool_calls} tool calls · ${t.num_turns} turns · ${t.steps.length} steps · ${(t.wall_s || 0).toFixed ? (t.wall_s || 0).toFixed(1) : t.wall_s} s`),
      h("div", {}, "tokens"), h("div", {}, `prompt ${fmt(totalP)} · completion ${fmt(totalC)} (sum over steps)`),
      h("div", {}, t.metadata.teacher ? "teacher" : "model"), h("div", {}, t.metadata.teacher ? `${t.metadata.teacher} ${t.metadata.teacher_model || t.metadata.model || ""}` : (t.metadata.model || "-"))),
    t.verdict ? h("details", {}, h("summary", {}, "verdict (judge reply)"), pre(t.verdict)) : null);
  const toggle = h("div", { class: "toolbar", "data-testid": "mode-toggle" },
    h("button", { class: mode === "raw" ? "on" : "", "data-testid": "mode-raw", onclick: () => onMode && onMode("raw") }, "Student view: raw observations (H^train)"),
    h("button", { class: mode === "teacher" ? "on" : "", "data-testid": "mode-teacher", disabled: !t.has_summaries, onclick: () => onMode && onMode("teacher") }, "Teacher view: H_t (summaries)"),
    h("span", { class: "muted small" }, t.has_summaries ? "The teacher saw each older observation as its summary; the student trains on the raw text."
      : "No retrospective summaries in this trajectory: the teacher saw the raw observations."));
  const list = h("div", { class: "steps", "data-testid": "steps" });
  const CH = 40;
  let shown = 0;
  const sentinel = h("div", { class: "muted small" }, "…");
  function stepCard(s) {
    const obs = s.observations.join("\n\n");
    const teacher = mode === "teacher" && s.summary;
    const card = h("div", { class: "step", "data-testid": "step", "data-index": s.index },
      h("div", { class: "step-head", onclick: () => { card.classList.toggle("open"); card.classList.toggle("sel"); } },
        h("b", {}, `step ${s.index}`),
        s.tool_calls.map((c) => h("span", { class: "call" }, c.name === "code_exec" && c.arguments && typeof c.arguments.cmd === "string"
          ? `code_exec: ${c.arguments.cmd.split("\n")[0].slice(0, 120)}` : `${c.name}(${JSON.stringify(c.arguments).slice(0, 160)})`)),
        h("span", { class: "muted small", style: "margin-left:auto", "data-testid": "tokens" },
          `prompt ${fmt(s.prompt_tokens)} · completion ${fmt(s.completion_tokens)} tok`, s.context_messages ? ` · context ${s.context_messages} msgs` : "", ` · obs ${fmt(obs.length)} chars`)),
      s.reasoning ? h("div", { class: "reasoning" }, s.reasoning) : null,
      s.text ? h("div", {}, s.text) : null,
      s.code && s.code.length && !teacher ? codeRuns(s.code) : null,
      s.observations.length && !(s.code && s.code.length === s.observations.length && !teacher) ? h("div", { class: "obs" },
        teacher ? [h("span", { class: "summary-tag" }, "summary"), h("pre", { "data-testid": "obs-summary" }, s.summary)]
          : [mode === "teacher" ? h("span", { class: "raw-tag" }, "raw (not summarized)") : null, h("pre", { "data-testid": "obs-raw" }, obs)]) : null);
    return card;
  }
  function codeRuns(runs) {  // code_exec: the command as written, then what it printed (unescaped), exit code first
    return h("div", { class: "code-runs" }, runs.map((c) => h("div", { class: "code-run", "data-testid": "code-run" },
      h("pre", { class: "code-cmd", "data-testid": "code-cmd" }, c.cmd),
      c.raw !== null ? h("pre", { class: "code-err", "data-testid": "code-raw" }, c.raw)
        : [h("div", { class: "small " + (c.exit_code === "0" ? "muted" : "code-fail"), "data-testid": "code-exit" }, `exit code ${c.exit_code}`),
          c.stdout ? h("pre", { "data-testid": "code-stdout" }, c.stdout) : null,
          c.stderr ? h("pre", { class: "code-err", "data-testid": "code-stderr" }, c.stderr) : null])));
  }
  function more() {
    const next = t.steps.slice(shown, shown + CH);
    next.forEach((s) => list.insertBefore(stepCard(s), sentinel));
    shown += next.length;
    if (shown >= t.steps.length) sentinel.remove();
  }
  list.appendChild(sentinel);
  more();
  if (shown < t.steps.length) {
    const io = new IntersectionObserver((ents) => {
      if (!ents.some((e) => e.isIntersecting)) return;
      more();
      io.unobserve(sentinel);  // observing again reports the sentinel's new state: keeps filling a tall screen
      if (shown < t.steps.length) io.observe(sentinel);
    }, { rootMargin: "800px" });
    io.observe(sentinel);
  }
  function jump(k) {  // render up to step k, then bring it into view
    while (shown <= k && shown < t.steps.length) more();
    const card = list.querySelector(`[data-index="${t.steps[Math.min(k, t.steps.length - 1)].index}"]`);
    if (card) { list.querySelectorAll(".step.sel").forEach((c) => c.classList.remove("sel")); card.classList.add("sel", "open"); card.scrollIntoView({ block: "start" });
      // cards painted on the way have their real heights only now: settle on the target again
      requestAnimationFrame(() => requestAnimationFrame(() => card.scrollIntoView({ block: "start" }))); }
  }
  const jumper = t.steps.length > 12 ? h("span", { class: "small" }, "go to step ",
    h("input", { type: "number", min: 0, max: t.steps.length - 1, style: "width:5em", "data-testid": "goto-step",
      onchange: (e) => jump(Math.max(0, +e.target.value || 0)) }), ` of ${t.steps.length}`) : null;
  if (jumper) toggle.appendChild(jumper);
  return h("div", {}, head, toggle, t.system ? h("details", {}, h("summary", {}, "system prompt"), pre(t.system)) : null, list);
}

async function trajList(ds, s, params) {
  setCrumbs([s.name]);
  const top = h("div", {}, h("h1", {}, `Trajectories · ${s.name}`), h("p", { class: "muted" }, `${fmt(s.count)} trajectories`));
  const cols = [["question", (r) => r.question], ["steps", (r) => r.steps], ["tool calls", (r) => r.tool_calls],
    ["final answer", (r) => r.final_answer], ["verdict", (r) => verdictBadge(r.correct)], ["stop", (r) => r.stop_reason], ["teacher", (r) => r.teacher]];
  show(await listView(ds, s, params, cols, (r) => go(["ds", ds, r.i], params), { extraTop: top }));
}

async function trajItem(ds, s, i, params) {
  const t0 = performance.now();
  const it = await call("item", { ds, i });
  setCrumbs([s.name, hashFor(["ds", ds])], [`#${i}`]);
  const mode = params.view === "teacher" ? "teacher" : "raw";
  const nav = h("div", { class: "toolbar" },
    h("button", { disabled: i <= 0, onclick: () => go(["ds", ds, i - 1], params), "data-testid": "prev" }, "‹ previous"),
    h("button", { disabled: i + 1 >= it.total, onclick: () => go(["ds", ds, i + 1], params), "data-testid": "next" }, "next ›"),
    h("span", { class: "muted small" }, `record ${i + 1} of ${fmt(it.total)} · line ${it.line} · ${it.record.id}`));
  show(nav, trajView(it.record, { mode, onMode: (m) => go(["ds", ds, i], { ...params, view: m }) }));
  document.body.dataset.rendered = String(Math.round(performance.now() - t0));
}

/* ------------------------------------------------------------------ SFT */

async function sftList(ds, s, params) {
  setCrumbs([s.name]);
  const top = h("div", {}, h("h1", {}, `SFT examples · ${s.name}`), h("p", { class: "muted" }, `${fmt(s.count)} examples (what the student trains on: raw observations)`));
  const cols = [["question", (r) => r.question], ["messages", (r) => r.messages], ["tool calls", (r) => r.tool_calls], ["verdict", (r) => verdictBadge(r.correct)], ["teacher", (r) => r.teacher]];
  show(await listView(ds, s, params, cols, (r) => go(["ds", ds, r.i], params), { extraTop: top }));
}

async function sftItem(ds, s, i, params) {
  const it = await call("item", { ds, i });
  const r = it.record;
  setCrumbs([s.name, hashFor(["ds", ds], params)], [`#${i}`]);
  show(h("h1", {}, r.id), h("p", { class: "muted small" }, JSON.stringify(r.metadata || {})),
    h("div", { "data-testid": "messages" }, (r.messages || []).map((m) => h("div", { class: "msg " + m.role },
      h("div", { class: "role" }, m.role + (m.name ? ` · ${m.name}` : "")),
      m.reasoning_content ? h("div", { class: "reasoning" }, m.reasoning_content) : null,
      m.role === "tool" || m.role === "system" ? h("details", { open: m.role === "tool" && (m.content || "").length < 600 }, h("summary", {}, `${(m.content || "").length} chars`), pre(m.content || ""))
        : h("div", { style: "white-space:pre-wrap" }, m.content || ""),
      (m.tool_calls || []).map((c) => h("div", { class: "call" }, `${(c.function || c).name}(${JSON.stringify((c.function || c).arguments)})`))))));
}

/* ------------------------------------------------------------------ evaluation */

function accTable(blocks) {
  return h("table", {}, h("thead", {}, h("tr", {}, ["group", "n", "correct", "accuracy", "95% CI"].map((x) => h("th", {}, x)))),
    h("tbody", {}, Object.entries(blocks || {}).map(([g, b]) => h("tr", {}, h("td", {}, g), h("td", {}, b.n), h("td", {}, b.correct), h("td", {}, pct(b.accuracy)), h("td", {}, `${pct(b.ci95[0])} – ${pct(b.ci95[1])}`)))));
}

async function evalPage(ds, s, params) {
  setCrumbs([s.name]);
  const rep = s.report || {};
  const m = await call("manifest");
  const others = m.compare.filter((x) => x !== ds);
  const ciChart = (blocks) => barChart(Object.entries(blocks || {}).map(([g, b]) => ({ label: g, value: b.accuracy, ci: b.ci95 })),
    { ci: (d) => d.ci, cls: () => "ok", text: (d) => `${pct(d.value)} [${pct(d.ci[0])}, ${pct(d.ci[1])}]`, width: 400 });
  const top = h("div", {},
    h("h1", {}, `Evaluation · ${s.name}`),
    h("div", { class: "card", "data-testid": "eval-summary" }, h("span", { class: "q" }, `Accuracy ${pct(rep.accuracy)}`),
      ` (95% CI ${pct((rep.ci95 || [0, 0])[0])} – ${pct((rep.ci95 || [0, 0])[1])}, ${rep.ci_method || ""}) on ${rep.n_questions} questions × ${rep.runs} run(s); ungraded ${rep.ungraded}`,
      h("div", { class: "small muted" }, `student ${JSON.stringify((s.config || {}).models || {})} · judge ${(s.config || {}).judge || "-"}`),
      others.length ? h("div", { class: "toolbar" }, "Compare with ",
        h("select", { "data-testid": "compare-select", onchange: (e) => e.target.value && go(["compare", ds, e.target.value]) },
          h("option", { value: "" }, "another run…"), others.map((o) => h("option", { value: o }, m.datasets.find((d) => d.id === o).name)))) : null),
    h("div", { class: "grid3" },
      h("div", { class: "card" }, h("h3", {}, "Per benchmark"), ciChart(s.by_benchmark)),
      h("div", { class: "card" }, h("h3", {}, "Per language"), ciChart(rep.by_language)),
      h("div", { class: "card" }, h("h3", {}, "Per category"), ciChart(rep.by_category))),
    h("div", { class: "grid3" },
      h("div", { class: "card", "data-testid": "hist-tools" }, h("h3", {}, "Tool calls per question-run"), histogram(s.hist_tool_calls, { xlabel: "tool calls" })),
      h("div", { class: "card", "data-testid": "hist-tokens" }, h("h3", {}, "Tokens per question-run"), histogram(s.hist_tokens, { xlabel: "tokens" })),
      h("div", { class: "card", "data-testid": "stop-reasons" }, h("h3", {}, "Stop reasons"),
        barChart(Object.entries(rep.stop_reasons || {}).map(([k, v]) => ({ label: k, value: v })), { width: 380 }))),
    h("details", {}, h("summary", {}, "accuracy tables"), h("div", { class: "grid2" }, accTable(rep.by_language), accTable(rep.by_category))),
    h("h2", {}, "Items"));
  const cols = [["question", (r) => r.question], ["gold", (r) => r.gold], ["answer", (r) => r.answer], ["verdict", (r) => verdictBadge(r.correct)],
    ["run", (r) => r.run], ["tool calls", (r) => r.tool_calls], ["tokens", (r) => fmt(r.tokens)], ["stop", (r) => r.stop_reason]];
  show(await listView(ds, s, params, cols, (r) => go(["ds", ds, r.i], params), { extraTop: top }));
}

async function evalItem(ds, s, i, params) {
  const it = await call("item", { ds, i });
  const r = it.record;
  setCrumbs([s.name, hashFor(["ds", ds], params)], [r.key || `#${i}`]);
  const mode = params.view === "teacher" ? "teacher" : "raw";
  show(
    h("div", { class: "card", "data-testid": "eval-item" }, h("div", { class: "q" }, r.question),
      h("div", { class: "kv", style: "margin-top:6px" }, h("div", {}, "gold"), h("div", {}, (r.gold || []).join(" | ")),
        h("div", {}, "answer"), h("div", {}, h("b", {}, r.answer || "(none)"), " ", verdictBadge(r.correct)),
        h("div", {}, "run"), h("div", {}, `${r.run} · ${r.stop_reason} · ${r.num_tool_calls} tool calls · ${fmt((r.tokens || {}).total)} tokens`)),
      r.verdict ? h("details", {}, h("summary", {}, "verdict"), pre(r.verdict)) : null,
      it.traj_ds ? h("p", {}, h("a", { href: hashFor(["ds", it.traj_ds, it.traj_i]) }, "open in the trajectory viewer →")) : null),
    h("h2", {}, "Trajectory"),
    it.trajectory ? trajView(it.trajectory, { mode, onMode: (m) => go(["ds", ds, i], { ...params, view: m }) })
      : h("p", { class: "muted" }, "No saved trajectory for this item."));
}

async function comparePage(a, b) {
  const c = await call("compare", { a, b });
  setCrumbs([c.a.name, hashFor(["ds", a])], ["vs " + c.b.name]);
  const card = (x) => h("div", { class: "card" }, h("h3", {}, x.name), h("span", { class: "q" }, pct(x.accuracy)), ` (${x.correct}/${x.n}; 95% CI ${pct(x.ci95[0])} – ${pct(x.ci95[1])})`);
  show(h("h1", {}, "Two runs side by side"),
    h("div", { class: "grid2" }, card(c.a), card(c.b)),
    h("p", { "data-testid": "flip-summary" }, `${c.shared} shared question-runs: ${c.flips.length} flipped (${c.gained} wrong → right, ${c.lost} right → wrong)`,
      c.only_a || c.only_b ? `; only in A ${c.only_a}, only in B ${c.only_b}` : ""),
    h("table", { "data-testid": "flips" }, h("thead", {}, h("tr", {}, ["question", "gold", c.a.name, c.b.name].map((x) => h("th", {}, x)))),
      h("tbody", {}, c.flips.map((f) => h("tr", {}, h("td", {}, f.question), h("td", {}, f.gold),
        h("td", {}, h("a", { href: hashFor(["ds", a, f.i_a]) }, f.answer_a || "(none)"), " ", verdictBadge(f.a)),
        h("td", {}, h("a", { href: hashFor(["ds", b, f.i_b]) }, f.answer_b || "(none)"), " ", verdictBadge(f.b)))))));
}

/* ------------------------------------------------------------------ router */

const LISTS = { qa: qaList, rejected: rejectedList, traj: trajList, sft: sftList, eval: evalPage };
const ITEMS = { qa: qaItem, rejected: rejectedItem, traj: trajItem, sft: sftItem, eval: evalItem };
let renderSeq = 0;

async function render() {
  const seq = ++renderSeq;
  const { parts, params } = parseHash();
  document.body.dataset.ready = "0";
  try {
    if (!parts.length) await home();
    else if (parts[0] === "compare") await comparePage(parts[1], parts[2]);
    else if (parts[0] === "ds") {
      const s = await call("summary", { ds: parts[1] });
      if (parts.length > 2) await ITEMS[s.kind](parts[1], s, +parts[2], params);
      else await LISTS[s.kind](parts[1], s, params);
    } else throw new Error("unknown page " + location.hash);
  } catch (e) {
    if (seq === renderSeq) show(h("div", { class: "err", "data-testid": "error" }, String(e.message || e)), h("p", {}, h("a", { href: "#/" }, "back to the start page")));
  }
  if (seq === renderSeq) document.body.dataset.ready = "1";
}

// j / k (or the arrow keys) step through records on an item page
window.addEventListener("keydown", (e) => {
  if (e.target.closest && e.target.closest("input, select, textarea") || e.ctrlKey || e.metaKey || e.altKey) return;
  const which = { j: "next", ArrowRight: "next", k: "prev", ArrowLeft: "prev" }[e.key];
  const btn = which && document.querySelector(`[data-testid=${which}]`);
  if (btn && !btn.disabled) btn.click();
});
document.getElementById("mode").textContent = STATIC ? "static export" : "live · 127.0.0.1";
window.addEventListener("hashchange", () => { window.scrollTo(0, 0); render(); });
render();
