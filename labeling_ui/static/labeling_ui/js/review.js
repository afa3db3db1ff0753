// The review queue: one disputed item (or possible label error) at a time, why it is there,
// every label given and by whom, a decision.
// Item data and annotator names are written as text only (textContent via el / renderItem).
import { api, config, el, errorText, formatDate, toast } from "./api.js";
import { renderItem } from "./item_render.js";

const projectId = config.projectId;
const multi = Boolean(config.multi);
const labels = config.labels || [];
const chosen = new Set();
let queue = [];
let position = 0;
let current = null;
let waiting = 0;  // the server's count, less the decisions made on this page since

function showWaiting() {
  $("review-count").textContent = `${waiting} waiting`;
}

const $ = (id) => document.getElementById(id);

function drawButtons() {
  const box = $("review-labels");
  box.replaceChildren();
  for (const label of labels) {
    const pressed = chosen.has(label.name);
    const button = el("button", {
      type: "button", class: "btn label-btn", "aria-pressed": pressed ? "true" : "false",
      dataset: { label: label.name },
      onclick: () => toggle(label.name),
    }, label.shortcut ? `${label.name} (${label.shortcut})` : label.name);
    box.append(button);
  }
}

function toggle(name) {
  if (multi) {
    if (chosen.has(name)) chosen.delete(name); else chosen.add(name);
  } else {
    chosen.clear();
    chosen.add(name);
  }
  drawButtons();
}

function showError(message) {
  const box = $("review-error");
  box.textContent = message || "";
  box.hidden = !message;
}

function draw() {
  current = queue[position] || null;
  $("review-root").hidden = !current;
  $("review-empty").hidden = Boolean(current);
  chosen.clear();
  showError("");
  $("review-note").value = "";
  drawButtons();
  if (!current) return;
  const meta = [`Item ${current.item.external_id}`, `${current.votes} labels`];
  if (current.tie) meta.push(`tie between ${current.tie.join(", ")}`);
  else if (current.confidence !== null) meta.push(`agreement ${(current.confidence * 100).toFixed(0)}%`);
  $("review-meta").textContent = meta.join(" · ");
  $("review-reason").textContent = current.reason || "";
  $("review-reason").hidden = !current.reason;
  $("review-item").replaceChildren(renderItem(current.item.data));
  const body = $("review-given").querySelector("tbody");
  body.replaceChildren(...current.annotations.map((a) => el("tr", {},
    el("td", {}, a.annotator + (a.counts ? "" : " (not counted)")),
    el("td", {}, (a.labels || []).join(", ")),
    el("td", {}, a.guideline_version === null ? "–" : `v${a.guideline_version}`),
    el("td", {}, formatDate(a.created_at)))));
}

async function load() {
  try {
    const { data } = await api("GET", `projects/${projectId}/review/?limit=100`);
    queue = data.results;
    position = 0;
    waiting = data.count;
    showWaiting();
    draw();
  } catch (err) {
    toast(`Could not load the review queue: ${err.message}`, "error");
  }
}

async function decide(event) {
  event.preventDefault();
  if (!current) return;
  if (!chosen.size) { showError("Choose a label first."); return; }
  const submit = $("review-submit");
  submit.disabled = true;
  try {
    await api("POST", `projects/${projectId}/review/${current.item.id}/`,
      { labels: [...chosen], note: $("review-note").value });
    toast("Decision saved", "ok");
    waiting = Math.max(0, waiting - 1);
    showWaiting();
    queue.splice(position, 1);
    if (!queue.length) await load(); else draw();
  } catch (err) {
    showError(err.body ? errorText(err.body) : err.message);
  } finally {
    submit.disabled = false;
  }
}

document.addEventListener("keydown", (event) => {
  if (event.target.closest("textarea, input") || event.metaKey || event.ctrlKey) return;
  const label = labels.find((l) => l.shortcut && l.shortcut === event.key);
  if (label) { toggle(label.name); event.preventDefault(); }
});
$("review-form").addEventListener("submit", decide);
$("review-skip").addEventListener("click", () => {
  if (!queue.length) return;
  position = (position + 1) % queue.length;
  draw();
});
load();
