// The manager's dashboard: progress, charts, annotators, leases; panels added by other modules.
import { api, config, el, formatDate } from "./api.js";
import { hourlyChart, labelChart } from "./charts.js";

const $ = (id) => document.getElementById(id);
const projectId = config.projectId;
const panels = [];

function fillTable(tbody, rows, emptyText, cells) {
  if (!rows.length) {
    tbody.replaceChildren(el("tr", { class: "empty-row" },
      el("td", { colspan: tbody.closest("table").querySelectorAll("thead th").length, text: emptyText })));
    return;
  }
  tbody.replaceChildren(...rows.map((row) => el("tr", {}, cells(row))));
}

function render(data) {
  const p = data.progress;
  for (const key of ["items", "complete", "in_progress", "open", "annotations", "gold_items"]) {
    $(`kpi-${key}`).textContent = p[key].toLocaleString();
  }
  const flags = data.flags;
  $("kpi-flags").textContent = flags.open.toLocaleString();
  const reasons = Object.entries(flags.by_reason).filter(([, n]) => n)
    .map(([reason, n]) => `${n} ${reason.replace("_", " ")}`);
  $("kpi-flags-caption").textContent = reasons.length ? `open flags (${reasons.join(", ")})`
    : "open flags";
  const total = Math.max(1, p.items);
  const segment = (n, color, label) => el("span", {
    style: `width:${(100 * n) / total}%;background:${color}`, title: `${label}: ${n}` });
  $("progressbar").replaceChildren(segment(p.complete, "#1d7a46", "complete"),
    segment(p.in_progress, "#f0a500", "in progress"), segment(p.open, "#c9cfda", "open"));
  $("progressbar").setAttribute("aria-label",
    `${p.complete} of ${p.items} items complete, ${p.in_progress} in progress, ${p.open} open`);
  hourlyChart($("chart-hourly"), data.per_hour);
  labelChart($("chart-labels"), data.labels);
  fillTable($("annotators").tBodies[0], data.annotators, "No annotations yet.", (a) => [
    el("td", { text: a.username }), el("td", { class: "num", text: a.done }),
    el("td", { class: "num", text: a.done_today }),
    el("td", { class: "num", text: a.median_seconds ?? "–" }),
    el("td", { class: "num", text: a.skips }), el("td", { text: formatDate(a.last_active) }),
  ]);
  const leases = data.leases;
  $("lease-open").textContent = leases.open;
  $("lease-expired").textContent = leases.expired;
  $("lease-expired-total").textContent = leases.expired_total;
  fillTable($("leases").tBodies[0], leases.leases, "No open leases.", (l) => [
    el("td", { text: l.username }), el("td", { class: "mono", text: l.external_id }),
    el("td", { text: formatDate(l.since) }), el("td", { text: formatDate(l.expires_at) }),
    el("td", {}, el("span", { class: l.expired ? "badge badge-warn" : "badge badge-ok",
      text: l.expired ? "expired" : "open" })),
  ]);
  $("updated").textContent = `Updated ${new Date(data.generated_at).toLocaleTimeString()}`;
}

async function refresh() {
  try {
    const { data } = await api("GET", `projects/${projectId}/dashboard/`);
    $("dash-error").hidden = true;
    render(data);
  } catch (err) {
    $("dash-error").textContent = `Could not load the dashboard: ${err.message}`;
    $("dash-error").hidden = false;
  }
  for (const panel of panels) {
    try { await panel.refresh?.(); } catch (err) { console.error(err); }
  }
}

// Panels (model, quality, ...) name their script with data-panel-script; see the partials.
async function loadPanels() {
  for (const section of document.querySelectorAll("[data-panel-script]")) {
    try {
      const module = await import(section.dataset.panelScript);
      await module.init?.({ projectId, section, api, el });
      panels.push(module);
    } catch (err) {
      console.error("panel failed to load", section.dataset.panelScript, err);
      section.append(el("p", { class: "alert alert-error", text: `This panel failed to load: ${err.message}` }));
    }
  }
}

$("refresh").addEventListener("click", refresh);
window.skeinDashboard = { refresh };
refresh();
loadPanels();
setInterval(() => { if (!document.hidden) refresh(); }, 30000);
