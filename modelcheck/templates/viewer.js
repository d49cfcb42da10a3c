// The trace viewer: lanes per node, messages as arrows, a state panel per step.
// Self-contained (no network). Rows are virtualised: only the rows and arrows near
// the viewport are in the SVG, so a 10,000-event trace stays quick.
(function () {
  "use strict";
  const SVGNS = "http://www.w3.org/2000/svg";
  const ROW = 20, GUTTER = 112, LANE_W = 150, HEAD_H = 28, PAD = 14, OVERSCAN = 900;
  const data = JSON.parse(document.getElementById("trace-data").textContent);
  const header = data.header || {}, events = data.events || [], snaps = data.snapshots || [];
  const N = events.length;
  const violation = header.violation || null;
  const vStep = violation && Number.isInteger(violation.step) ? violation.step : -1;

  // -- nodes and lanes ----------------------------------------------------------------------
  const names = new Map();
  (header.nodes || []).forEach(n => names.set(n.id, n.name));
  events.forEach(e => { if (e.node >= 0 && !names.has(e.node)) names.set(e.node, "n" + e.node); });
  const nodeIds = Array.from(names.keys()).sort((a, b) => a - b);
  // Nodes whose lives do not overlap (a proposer relaunched as a fresh node) share a column.
  const span = new Map();
  events.forEach((e, i) => {
    if (e.node < 0) return;
    const s = span.get(e.node);
    if (s) s[1] = i; else span.set(e.node, [i, i]);
  });
  const colEnd = [], colOf = new Map();
  nodeIds.forEach(id => {
    const [a, b] = span.get(id) || [0, N];
    const prefix = String(names.get(id)).replace(/[0-9]+$/, "");
    let c = colEnd.findIndex(([end, p]) => end < a && p === prefix);
    if (c < 0) { c = colEnd.length; colEnd.push([b, prefix]); } else colEnd[c] = [b, prefix];
    colOf.set(id, c);
  });
  const laneX = new Map();
  nodeIds.forEach(id => laneX.set(id, GUTTER + LANE_W / 2 + colOf.get(id) * LANE_W));
  const lanesRight = GUTTER + colEnd.length * LANE_W;
  const width = lanesRight + 560;
  const rowY = i => PAD + i * ROW + ROW / 2;
  const height = PAD * 2 + N * ROW;

  // -- messages: pair send with recv / drop by message id -------------------------------------
  const sends = new Map(), arrows = [];
  events.forEach((e, i) => {
    if (e.kind === "send" && e.id != null) sends.set(e.id, i);
  });
  const ended = new Set();
  events.forEach((e, i) => {
    if ((e.kind === "recv" || e.kind === "drop") && e.id != null && sends.has(e.id) && !ended.has(e.id)) {
      const s = sends.get(e.id);
      const src = events[s];
      const to = e.kind === "recv" ? e.node : (src.fields.to != null ? src.fields.to : e.node);
      arrows.push({id: e.id, from: src.node, to: to, s: s, r: i, kind: e.kind === "recv" ? "delivered" : "dropped",
                   msg: String(src.fields.msg != null ? src.fields.msg : "")});
      ended.add(e.id);
    }
  });
  sends.forEach((s, id) => {
    if (!ended.has(id)) {
      const src = events[s];
      arrows.push({id: id, from: src.node, to: src.fields.to, s: s, r: Math.min(N - 1, s + 2), kind: "lost",
                   msg: String(src.fields.msg != null ? src.fields.msg : "")});
    }
  });
  arrows.sort((a, b) => a.s - b.s || a.r - b.r);
  // Arrows by the row where they end, for the viewport query (start <= hi, end >= lo).
  const maxSpan = arrows.reduce((m, a) => Math.max(m, a.r - a.s), 0);

  // -- node status (up / down / exited) and partitions over steps ------------------------------
  const statusChanges = new Map(nodeIds.map(id => [id, []]));
  const partitions = [];
  let openPart = null;
  events.forEach((e, i) => {
    const ch = statusChanges.get(e.node);
    if (e.kind === "crash" && ch) ch.push([i, "down"]);
    else if ((e.kind === "restart" || e.kind === "start") && ch) ch.push([i, "up"]);
    else if (e.kind === "exit" && ch) ch.push([i, "exited"]);
    else if (e.kind === "partition") { if (openPart == null) openPart = i; }
    else if (e.kind === "heal") { if (openPart != null) partitions.push([openPart, i]); openPart = null; }
  });
  if (openPart != null) partitions.push([openPart, N - 1]);
  function lastAt(list, step, key) {  // last entry with entry[key] <= step (binary search)
    let lo = 0, hi = list.length - 1, best = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (list[mid][key] <= step) { best = mid; lo = mid + 1; } else hi = mid - 1;
    }
    return best;
  }
  function statusAt(id, step) {
    const ch = statusChanges.get(id) || [];
    const k = lastAt(ch, step, 0);
    return k < 0 ? "up" : ch[k][1];
  }
  const snapsByNode = new Map();
  snaps.forEach(s => { if (!snapsByNode.has(s.node)) snapsByNode.set(s.node, []); snapsByNode.get(s.node).push(s); });
  function viewAt(id, step) {
    const list = snapsByNode.get(id) || [];
    const k = lastAt(list, step, "step");
    return k < 0 ? undefined : list[k].view;
  }

  // -- header -------------------------------------------------------------------------------
  const bits = [header.scenario || header.driver || "trace"];
  if (header.seed != null) bits.push("seed " + header.seed);
  if (header.mutant) bits.push("mutant " + header.mutant);
  bits.push(N + " events", nodeIds.length + " nodes");
  if (header.outcome) bits.push("outcome " + header.outcome);
  document.getElementById("title").textContent = bits.join(" · ");
  document.getElementById("violation").textContent = violation
    ? (violation.outcome || "violation") + " violation of " + violation.property + " at step " + vStep + ": " + violation.message
    : "";
  if (!violation) document.getElementById("goto-violation").disabled = true;

  const heads = document.getElementById("lane-heads");
  heads.style.width = width + "px";
  nodeIds.forEach(id => {
    const d = document.createElement("div");
    d.className = "lane-head"; d.dataset.node = id; d.textContent = names.get(id);
    d.style.left = laneX.get(id) + "px";
    heads.appendChild(d);
  });
  const canvas = document.getElementById("canvas"), svg = document.getElementById("svg");
  canvas.style.height = height + "px"; canvas.style.width = width + "px";
  svg.setAttribute("width", width);
  const defs = el("defs", {});
  [["arr", "#1f5fbf"], ["arr-drop", "#c62828"], ["arr-lost", "#8c8c8c"]].forEach(([id, c]) => {
    const m = el("marker", {id: id, viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse"});
    m.appendChild(el("path", {d: "M0,0 L10,5 L0,10 z", fill: c}));
    defs.appendChild(m);
  });

  function el(tag, attrs, text) {
    const e = document.createElementNS(SVGNS, tag);
    for (const k in attrs) e.setAttribute(k, attrs[k]);
    if (text != null) e.textContent = text;
    return e;
  }
  function fieldText(e) {
    const f = e.fields || {};
    return Object.keys(f).map(k => k + "=" + (Array.isArray(f[k]) ? "[" + f[k].join(", ") + "]" : f[k] === null ? "None" : f[k])).join(" ");
  }
  function lineOf(e) { return "t=" + e.t + " node=" + e.node + " " + e.kind + (Object.keys(e.fields || {}).length ? " " + fieldText(e) : ""); }
  function markerClass(kind) {
    return ["send", "recv", "drop", "crash", "restart", "start", "timer", "lost"].includes(kind) ? "ev-" + kind : "ev-other";
  }

  // -- rendering the visible window ---------------------------------------------------------
  let selected = vStep >= 0 ? vStep : 0, lastWindow = null;
  function render(force) {
    const dg = document.getElementById("diagram");
    const top = Math.max(0, dg.scrollTop - HEAD_H - OVERSCAN), bottom = dg.scrollTop + dg.clientHeight + OVERSCAN;
    const lo = Math.max(0, Math.floor((top - PAD) / ROW)), hi = Math.min(N - 1, Math.ceil((bottom - PAD) / ROW));
    const key = lo + ":" + hi;
    if (!force && key === lastWindow) return;
    lastWindow = key;
    const shown = new Set();
    heads.querySelectorAll(".lane-head").forEach(h => { h.style.display = "none"; });
    heads.querySelectorAll(".lane-head").forEach(h => {  // prefer the node live at the selected step
      const id = Number(h.dataset.node), [a, b] = span.get(id) || [0, N];
      if (a <= selected && b >= selected && !shown.has(colOf.get(id))) { shown.add(colOf.get(id)); h.style.display = ""; }
    });
    heads.querySelectorAll(".lane-head").forEach(h => {
      const id = Number(h.dataset.node), [a, b] = span.get(id) || [0, N];
      if (!shown.has(colOf.get(id)) && a <= hi && b >= lo) { shown.add(colOf.get(id)); h.style.display = ""; }
    });
    const y0 = lo > 0 ? PAD + lo * ROW : 0, y1 = N ? PAD + (hi + 1) * ROW + PAD : height;
    svg.style.top = y0 + "px"; svg.setAttribute("height", Math.max(1, y1 - y0));
    svg.setAttribute("viewBox", "0 " + y0 + " " + width + " " + Math.max(1, y1 - y0));
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    svg.appendChild(defs);
    const gRows = el("g", {}), gLanes = el("g", {}), gBands = el("g", {}), gArrows = el("g", {}), gEv = el("g", {}), gText = el("g", {});
    for (let i = lo; i <= hi; i++) {
      const cls = "row-bg" + (i === vStep ? " violation" : "") + (i === selected ? " selected" : "");
      const r = el("rect", {x: 0, y: PAD + i * ROW, width: width, height: ROW, class: cls, "data-step": i});
      gRows.appendChild(r);
    }
    // lanes: one segment per run of equal status inside the window
    nodeIds.forEach(id => {
      const x = laneX.get(id), [a, b] = span.get(id) || [0, N - 1];
      const from = Math.max(lo, a), to = Math.min(hi, b);
      if (from > to) return;
      let start = from, st = statusAt(id, from);
      for (let i = from + 1; i <= to + 1; i++) {
        const s = i <= to ? statusAt(id, i) : null;
        if (s !== st) {
          gLanes.appendChild(el("line", {x1: x, x2: x, y1: PAD + start * ROW, y2: PAD + i * ROW,
            class: "lane" + (st === "up" ? "" : " down"), "data-node": id}));
          start = i; st = s;
        }
      }
    });
    partitions.forEach(([a, b]) => {
      if (b < lo || a > hi) return;
      gBands.appendChild(el("rect", {x: 4, y: rowY(a), width: 6, height: Math.max(2, rowY(b) - rowY(a)), class: "part-bar"}));
    });
    for (let k = 0; k < arrows.length; k++) {
      const a = arrows[k];
      if (a.s > hi) break;
      if (a.r < lo || a.s < lo - maxSpan - 1) continue;
      const x1 = laneX.get(a.from), x2 = laneX.has(a.to) ? laneX.get(a.to) : x1 + 40;
      const yA = rowY(a.s), yB = a.kind === "lost" ? rowY(a.s) + ROW * 1.2 : rowY(a.r);
      const xB = a.kind === "lost" ? x1 + (x2 - x1) * 0.35 : x2;
      const p = el("path", {d: "M" + x1 + "," + yA + " L" + xB + "," + yB,
        class: "arrow" + (a.kind === "delivered" ? "" : " " + a.kind), "data-msg": a.id, "data-from": a.from,
        "data-to": a.to, "data-kind": a.kind, "data-send-step": a.s, "data-end-step": a.r,
        "marker-end": "url(#" + (a.kind === "delivered" ? "arr" : a.kind === "dropped" ? "arr-drop" : "arr-lost") + ")"});
      p.appendChild(el("title", {}, "#" + a.id + " " + a.msg + " (" + a.kind + ")"));
      gArrows.appendChild(p);
      if (a.kind === "dropped") {
        const dx = xB, dy = yB;
        gArrows.appendChild(el("path", {d: "M" + (dx - 5) + "," + (dy - 5) + " L" + (dx + 5) + "," + (dy + 5) + " M" + (dx + 5) + "," + (dy - 5) + " L" + (dx - 5) + "," + (dy + 5),
          stroke: "#c62828", "stroke-width": 2}));
      }
    }
    for (let i = lo; i <= hi; i++) {
      const e = events[i], y = rowY(i);
      gText.appendChild(el("text", {x: 16, y: y + 4, class: "gutter"}, i + "  t=" + e.t));
      if (e.node < 0) {  // network-wide: partition / heal
        gEv.appendChild(el("line", {x1: GUTTER, x2: lanesRight, y1: y, y2: y, class: e.kind === "heal" ? "heal-line" : "band-line", "data-step": i, "data-kind": e.kind}));
      } else if (laneX.has(e.node)) {
        const x = laneX.get(e.node), cls = "ev " + markerClass(e.kind);
        let m;
        if (e.kind === "crash") m = el("rect", {x: x - 6, y: y - 6, width: 12, height: 12, class: cls});
        else if (e.kind === "restart" || e.kind === "start") m = el("path", {d: "M" + x + "," + (y - 6) + " L" + (x + 6) + "," + (y + 5) + " L" + (x - 6) + "," + (y + 5) + " z", class: cls});
        else m = el("circle", {cx: x, cy: y, r: e.kind === "send" || e.kind === "recv" ? 4 : 3.5, class: cls});
        m.setAttribute("data-step", i); m.setAttribute("data-kind", e.kind); m.setAttribute("data-node", e.node);
        gEv.appendChild(m);
      }
      const who = e.node < 0 ? "network" : (names.get(e.node) || "n" + e.node);
      let label = who + " " + e.kind + " " + fieldText(e);
      if (label.length > 90) label = label.slice(0, 88) + "…";
      gText.appendChild(el("text", {x: lanesRight + 10, y: y + 4, class: "label" + (i === vStep ? " violation" : "")},
        (i === vStep ? "⚠ " + violation.property + " · " : "") + label));
    }
    [gRows, gBands, gLanes, gArrows, gEv, gText].forEach(g => svg.appendChild(g));
  }

  // -- the state panel ----------------------------------------------------------------------
  function isLsnKey(k) { return /lsn/i.test(k); }
  function fmtScalar(k, v) {
    if (typeof v === "number" && Number.isInteger(v) && v >= 0 && k && isLsnKey(k))
      return Math.floor(v / 4294967296).toString(16).toUpperCase() + "/" + (v % 4294967296).toString(16).toUpperCase();
    if (v === null) return "—";
    return String(v);
  }
  function compact(k, v) {
    if (Array.isArray(v)) return "[" + v.map(x => compact(k, x)).join(", ") + "]";
    if (v && typeof v === "object") {
      return (v._type || "") + "(" + Object.keys(v).filter(x => x !== "_type").map(x => x + "=" + compact(x, v[x])).join(", ") + ")";
    }
    return fmtScalar(k, v);
  }
  function kvTable(obj, prev) {
    const t = document.createElement("table"); t.className = "kv";
    const keys = Object.keys(obj).filter(k => k !== "_type");
    keys.forEach(k => {
      const tr = document.createElement("tr"), tk = document.createElement("td"), tv = document.createElement("td");
      tk.className = "k"; tk.textContent = k; tr.dataset.key = k;
      const v = obj[k], pv = prev && typeof prev === "object" ? prev[k] : undefined;
      if (v && typeof v === "object" && !Array.isArray(v) && Object.keys(v).length > 1) tv.appendChild(kvTable(v, pv));
      else tv.textContent = compact(k, v);
      if (prev !== undefined && JSON.stringify(v) !== JSON.stringify(pv)) tv.classList.add("changed");
      tr.appendChild(tk); tr.appendChild(tv); t.appendChild(tr);
    });
    return t;
  }
  function renderState() {
    const panel = document.getElementById("state-panel");
    panel.textContent = "";
    const e = events[selected];
    document.getElementById("event-detail").textContent = N ? "step " + selected + (selected === vStep ? "  ⚠ violation" : "") + "\n" + lineOf(e) : "(no events)";
    nodeIds.forEach(id => {
      const st = statusAt(id, selected), view = viewAt(id, selected), prev = selected > 0 ? viewAt(id, selected - 1) : undefined;
      const box = document.createElement("div");
      box.className = "node-state " + st; box.dataset.node = id;
      const title = document.createElement("div"); title.className = "title";
      title.textContent = names.get(id) + " (node " + id + ") · " + st;
      box.appendChild(title);
      if (view === undefined) {
        const d = document.createElement("div"); d.className = "empty"; d.textContent = "no recorded view"; box.appendChild(d);
      } else if (view && typeof view === "object" && !Array.isArray(view)) {
        box.appendChild(kvTable(view, prev));
      } else {
        const d = document.createElement("div"); d.className = "empty"; d.textContent = compact("", view); box.appendChild(d);
      }
      panel.appendChild(box);
    });
    panel.dataset.step = selected;
  }

  // -- interaction --------------------------------------------------------------------------
  const slider = document.getElementById("step-slider"), label = document.getElementById("step-label");
  slider.max = Math.max(0, N - 1);
  function select(i, scroll) {
    if (!N) return;
    selected = Math.max(0, Math.min(N - 1, i));
    slider.value = selected;
    label.textContent = "step " + selected + " / " + (N - 1) + "  t=" + events[selected].t + " ms";
    if (scroll) {
      const dg = document.getElementById("diagram"), y = rowY(selected) + HEAD_H;
      if (y < dg.scrollTop + HEAD_H + ROW || y > dg.scrollTop + dg.clientHeight - ROW) dg.scrollTop = y - dg.clientHeight / 2;
    }
    render(true);
    renderState();
  }
  slider.addEventListener("input", () => select(Number(slider.value), true));
  document.getElementById("prev").addEventListener("click", () => select(selected - 1, true));
  document.getElementById("next").addEventListener("click", () => select(selected + 1, true));
  document.getElementById("goto-violation").addEventListener("click", () => select(vStep, true));
  svg.addEventListener("click", ev => {
    const t = ev.target.closest("[data-step]");
    if (t) { select(Number(t.getAttribute("data-step")), false); return; }
    // a click on a label or an arrow: the row under the pointer
    const box = svg.getBoundingClientRect(), y = ev.clientY - box.top + (parseFloat(svg.style.top) || 0);
    const i = Math.floor((y - PAD) / ROW);
    if (i >= 0 && i < N) select(i, false);
  });
  document.addEventListener("keydown", ev => {
    if (ev.key === "ArrowLeft" || ev.key === "ArrowUp") { select(selected - 1, true); ev.preventDefault(); }
    if (ev.key === "ArrowRight" || ev.key === "ArrowDown") { select(selected + 1, true); ev.preventDefault(); }
  });
  let pending = false;
  document.getElementById("diagram").addEventListener("scroll", () => {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => { pending = false; render(false); });
  });
  window.mcViewer = {events: N, nodes: nodeIds, arrows: arrows.length, select: select,
                     selected: () => selected, violationStep: vStep};
  select(selected, true);
  document.body.dataset.ready = "1";
})();
