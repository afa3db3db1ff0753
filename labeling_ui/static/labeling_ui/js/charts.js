// Small hand-written SVG charts (no library): hourly bars and a horizontal label distribution.
const NS = "http://www.w3.org/2000/svg";

export function svg(tag, attrs = {}, text) {
  const node = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) {
    // Through the CSSOM: a style attribute would be refused by the CSP (config/csp.py).
    if (k === "style") node.style.cssText = String(v); else node.setAttribute(k, String(v));
  }
  if (text !== undefined) node.textContent = text;
  return node;
}

function niceMax(value) {
  if (value <= 5) return 5;
  const step = 10 ** Math.floor(Math.log10(value));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * step >= value) return m * step;
  return 10 * step;
}

function empty(container, message) {
  const p = document.createElement("p");
  p.className = "chart-empty";
  p.textContent = message;
  container.replaceChildren(p);
}

// series: [{hour: iso, count}] -> vertical bars, one per hour.
export function hourlyChart(container, series) {
  if (!series.length) { empty(container, "No annotations yet."); return; }
  const W = 560, H = 220, left = 40, right = 10, top = 10, bottom = 34;
  const max = niceMax(Math.max(...series.map((d) => d.count)));
  const plotW = W - left - right, plotH = H - top - bottom;
  const step = plotW / series.length;
  const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img",
    "aria-label": `Annotations per hour over the last ${series.length} hours` });
  const ticks = max <= 5 ? max : 4;
  for (let i = 0; i <= ticks; i++) {
    const y = top + plotH - (plotH * i) / ticks;
    root.append(svg("line", { class: "gridline", x1: left, x2: W - right, y1: y, y2: y }));
    root.append(svg("text", { x: left - 6, y: y + 4, "text-anchor": "end" }, String((max * i) / ticks)));
  }
  const every = Math.ceil(series.length / 8);
  series.forEach((d, i) => {
    const h = (d.count / max) * plotH;
    const x = left + i * step;
    const bar = svg("rect", { x: x + step * 0.12, y: top + plotH - h, width: Math.max(1, step * 0.76),
      height: h, rx: 2, fill: "#2f5bd3" });
    const when = new Date(d.hour);
    bar.append(svg("title", {}, `${when.toLocaleString()}: ${d.count}`));
    root.append(bar);
    if (i % every === 0) {
      const label = when.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" });
      root.append(svg("text", { x: x + step / 2, y: H - bottom + 16, "text-anchor": "middle" }, label));
    }
  });
  root.append(svg("line", { class: "axis", x1: left, x2: W - right, y1: top + plotH, y2: top + plotH }));
  container.replaceChildren(root);
}

// labels: [{name, color, count}] -> horizontal bars with counts and shares.
export function labelChart(container, labels) {
  const total = labels.reduce((s, l) => s + l.count, 0);
  if (!total) { empty(container, "No labels given yet."); return; }
  const row = 26, left = 110, right = 90, W = 560;
  const H = labels.length * row + 8;
  const max = Math.max(...labels.map((l) => l.count));
  const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img",
    "aria-label": `Label distribution over ${total} labels given` });
  labels.forEach((l, i) => {
    const y = 4 + i * row;
    const w = ((W - left - right) * l.count) / max;
    const name = l.name.length > 16 ? `${l.name.slice(0, 15)}…` : l.name;
    root.append(svg("text", { class: "bar-label", x: left - 8, y: y + 16, "text-anchor": "end" }, name));
    const bar = svg("rect", { x: left, y: y + 3, width: Math.max(l.count ? 2 : 0, w), height: row - 8,
      rx: 3, fill: l.color || "#4e79a7" });
    bar.append(svg("title", {}, `${l.name}: ${l.count}`));
    root.append(bar);
    const share = Math.round((100 * l.count) / total);
    root.append(svg("text", { x: left + w + 6, y: y + 16 }, `${l.count} (${share}%)`));
  });
  container.replaceChildren(root);
}
