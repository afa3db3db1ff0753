// The dashboard's model panel: the active model and its metrics, a learning curve (metric
// against labels, one point per version, drawn as SVG by hand), versions with roll-back,
// the stopping signal, and "Train now". Data: GET projects/{id}/models/. Text only (no HTML
// from the server).
import { svg } from "./charts.js";

let ctx = null;
const fmt = (v, d = 2) => (v === null || v === undefined ? "–" : Number(v).toFixed(d));
const pct = (v) => (v === null || v === undefined ? "–" : `${(Number(v) * 100).toFixed(0)}%`);
const q = (name) => ctx.section.querySelector(`[data-m="${name}"]`);

function curve(points) {
  const box = q("curve");
  const usable = points.filter((p) => p.accuracy !== null && p.accuracy !== undefined);
  if (!usable.length) {
    box.replaceChildren(ctx.el("p", { class: "muted small", text: "No trained model with metrics yet." }));
    return;
  }
  const W = 520, H = 220, L = 44, R = 12, T = 12, B = 34;
  const xs = usable.map((p) => p.n_labels);
  const xMin = Math.min(0, ...xs), xMax = Math.max(...xs, 1);
  const x = (n) => L + ((n - xMin) / (xMax - xMin || 1)) * (W - L - R);
  const y = (v) => T + (1 - v) * (H - T - B);
  const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", style: `max-width: ${W}px`,
    "aria-label": "Learning curve" });
  for (const tick of [0, 0.25, 0.5, 0.75, 1]) {
    root.append(svg("line", { x1: L, x2: W - R, y1: y(tick), y2: y(tick), stroke: "#ddd" }));
    root.append(svg("text", { x: L - 6, y: y(tick) + 4, "text-anchor": "end", "font-size": 11 }, pct(tick)));
  }
  for (const n of [xMin, Math.round((xMin + xMax) / 2), xMax]) {
    root.append(svg("text", { x: x(n), y: H - 16, "text-anchor": "middle", "font-size": 11 }, String(n)));
  }
  root.append(svg("text", { x: (L + W - R) / 2, y: H - 2, "text-anchor": "middle", "font-size": 11 }, "labels"));
  const series = [["accuracy", "#2463eb", "accuracy"], ["macro_f1", "#d97706", "macro-F1"]];
  series.forEach(([key, color, name], i) => {
    const pts = usable.filter((p) => p[key] !== null && p[key] !== undefined);
    if (pts.length > 1) {
      root.append(svg("polyline", { fill: "none", stroke: color, "stroke-width": 2,
        points: pts.map((p) => `${x(p.n_labels)},${y(p[key])}`).join(" ") }));
    }
    for (const p of pts) {
      const dot = svg("circle", { cx: x(p.n_labels), cy: y(p[key]), r: p.state === "active" ? 5 : 3.5, fill: color });
      dot.append(svg("title", {}, `v${p.version}: ${name} ${pct(p[key])} at ${p.n_labels} labels`));
      root.append(dot);
    }
    root.append(svg("rect", { x: L + 8 + i * 110, y: T + 2, width: 10, height: 10, fill: color }));
    root.append(svg("text", { x: L + 22 + i * 110, y: T + 11, "font-size": 11 }, name));
  });
  box.replaceChildren(root);
}

function versions(list) {
  const body = q("versions").querySelector("tbody");
  if (!list.length) {
    body.replaceChildren(ctx.el("tr", { class: "empty-row" },
      ctx.el("td", { colspan: "8", text: "No model yet." })));
    return;
  }
  body.replaceChildren(...list.map((v) => {
    const action = ctx.el("td", {});
    if (["retired", "failed", "ready"].includes(v.state) && v.trained_at) {
      const button = ctx.el("button", { type: "button", class: "btn btn-small", text: "Activate" });
      button.addEventListener("click", () => act(`models/${v.id}/activate/`, `Re-scoring with v${v.version}…`));
      action.append(button);
    }
    const state = ctx.el("td", {}, ctx.el("span", {
      class: v.state === "active" ? "badge badge-ok" : v.state === "failed" ? "badge badge-warn" : "badge",
      text: v.state + (["scoring"].includes(v.state) ? ` ${v.chunks_done}/${v.chunks_total}` : ""),
      title: v.error || "" }));
    return ctx.el("tr", {}, ctx.el("td", { text: `v${v.version}` }), state,
      ctx.el("td", { class: "num", text: String(v.n_labels) }),
      ctx.el("td", { class: "num", text: pct(v.metrics?.accuracy) }),
      ctx.el("td", { class: "num", text: pct(v.metrics?.macro_f1) }),
      ctx.el("td", { text: v.strategy || "–" }),
      ctx.el("td", { text: v.trained_at ? new Date(v.trained_at).toLocaleString() : "–" }), action);
  }));
}

// The stopping signal: do successive models still change their predictions on the stop set?
function stopping(signal) {
  const badges = { stop: ["badge badge-ok", "enough labels"], changing: ["badge badge-warn", "still changing"],
    too_early: ["badge", "too early"], no_model: ["badge", "no model"] };
  const [cls, text] = badges[signal?.state] || ["badge", "–"];
  q("stopping-badge").className = cls;
  q("stopping-badge").textContent = text;
  const recent = (signal?.recent || []).map((k) => fmt(k, 3)).join(", ");
  q("stopping-reading").textContent = (signal?.reading || "") + (recent ? ` Recent κ: ${recent}.` : "");
}

function draw(data) {
  const active = data.active;
  const running = data.results.find((v) => ["queued", "training", "scoring"].includes(v.state));
  const failed = data.results.find((v) => v.state === "failed");
  const parts = [];
  if (running) parts.push(`v${running.version} is ${running.state}.`);
  if (!data.training_enabled) parts.push("Automatic training is off for this project.");
  else if (data.labels_since_last_model >= data.retrain_every) {
    parts.push(`${data.labels_since_last_model} new labels since the last model: training is due and starts on the next check.`);
  } else {
    parts.push(`${data.labels_since_last_model} of ${data.retrain_every} new labels until the next automatic training.`);
  }
  if (failed && (!active || failed.version > active.version)) parts.push(`v${failed.version} failed: ${failed.error}`);
  // The team's own predictions: whether they serve, the latest comparison, the endpoint.
  const team = data.team_predictions || {};
  if (team.items_with_predictions) {
    const until = team.suggestion_source === "predictions" ? "" : " until the project's model beats them";
    parts.push(team.in_charge
      ? `Your team's predictions (${team.items_with_predictions} items) are the suggestions and the queue order${until}.`
      : `Your team's predictions cover ${team.items_with_predictions} items; they are not serving.`);
  }
  const decided = data.results.find((v) => v.takeover && v.takeover.decision);
  if (decided) parts.push(`v${decided.version}: ${decided.takeover.reason}.`);
  const run = team.latest_run;
  if (run) {
    const last = run.errors.length ? ` Last problem: ${run.errors[run.errors.length - 1].message}` : "";
    parts.push(`Endpoint run ${run.id}: ${run.state}, ${run.items_predicted} of ${run.items_total} items predicted.${last}`);
  }
  q("status").textContent = parts.join(" ");
  q("active").textContent = active ? `v${active.version}` : "none";
  q("active-note").textContent = active ? `${active.n_labels} labels, ${active.strategy}`
    : team.in_charge ? "team predictions" : "random order";
  const m = active?.metrics || {};
  q("accuracy").textContent = pct(m.accuracy);
  q("f1").textContent = pct(m.macro_f1);
  q("logloss").textContent = fmt(m.log_loss);
  q("ece").textContent = fmt(m.ece);
  const a = data.suggestion_agreement || {};
  q("agreement").textContent = `${pct(a.shown?.rate)} / ${pct(a.hidden?.rate)}`;
  q("train").disabled = Boolean(running);
  stopping(data.stopping);
  curve(data.learning_curve || []);
  versions(data.results);
}

async function act(path, message) {
  try {
    await ctx.api("POST", path);
    q("status").textContent = message;
  } catch (err) {
    q("status").textContent = err.message;
  }
  await refresh();
}

export async function refresh() {
  try {
    const { data } = await ctx.api("GET", `projects/${ctx.projectId}/models/?limit=100`);
    draw(data);
  } catch (err) {
    q("status").textContent = `Could not load models: ${err.message}`;
  }
}

export async function init(context) {
  ctx = context;
  q("train").addEventListener("click", () => act(`projects/${ctx.projectId}/models/train/`, "Training queued."));
  await refresh();
}
