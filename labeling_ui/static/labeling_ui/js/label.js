// The labeling page: keyboard-first; every answer is retried with its client_id until saved
// or until the labeler has been told plainly that it was not. This module holds the page's
// state, its rendering and its wiring; label/ holds the parts: claims.js (getting items, the
// retry rule), pending.js (saving answers), guideline_dialog.js, flag_dialog.js, keys.js and
// label_list.js (filtering and narrowing long label lists).
import { api, clientId, config } from "./api.js";
import { renderItem } from "./item_render.js";
import { loadNext, prefetch, withRetry } from "./label/claims.js";
import { wireFlagDialog } from "./label/flag_dialog.js";
import { acknowledge, closeGuideline, openGuideline } from "./label/guideline_dialog.js";
import { onKey } from "./label/keys.js";
import { resetLabelView } from "./label/label_list.js";
import { allSaved, enqueueSave, loadPending, retryPending } from "./label/pending.js";

export const $ = (id) => document.getElementById(id);
export const projectId = config.projectId;
export const multi = config.multi;

export const state = {
  current: null,      // {assignmentId, item, suggestion, expiresAt, shownAt, visibleAt}
  ahead: null,        // the following item, claimed ahead (same shape)
  prefetching: false,
  noMoreAhead: false,
  pendings: [],       // answers not yet saved, in order (also in localStorage)
  answered: new Set(), // assignment ids answered in this page (never shown again)
  blocked: false,     // an answer could not be saved: no more answers until it is
  retrying: false,
  last: null,         // {annotationId, item, labels, suggestion, submittedAt}
  selected: new Set(),
  editing: false,
  editStartedAt: 0,
  busy: false,
  done: null,
  left: null,
  guidelineVersion: null,
  mustAck: false,
  finished: false,
  clockSkew: 0,
};

// Latency hook for bench/: [{key, shown, painted, source}], times in performance.now() ms;
// source says whether the item came from the prefetch or had to be requested after the key.
// Tests read `saved` (answers the page reported saved) and `refused` (presses it did not use).
// Present in production on purpose, not behind a flag: bench/bench_labeling_latency.py reads
// it from a production server, and it holds only what this labeler's page already has.
window.skein = { timings: [], state, saved: [], refused: [] };

// A press counts only for an item that has been painted for this long (config/settings:
// SKEIN_MIN_DISPLAY_MS): a press sooner was meant for the item before, or is a burst.
const MIN_DISPLAY_MS = config.minDisplayMs ?? 200;

export function setStatus(text) { $("save-status").textContent = text; }

export function showSaveError(text) {
  $("save-error-text").textContent = text;
  $("save-error").hidden = false;
}

export function hideSaveError() { $("save-error").hidden = true; }

// A key press or click that is not used is never silent: the notice says why, the card flashes.
let refuseTimer = null;
export function refuse(what, why) {
  window.skein.refused.push({ what, why, at: performance.now() });
  const notice = $("key-notice");
  notice.textContent = `${what} not used: ${why}.`;
  notice.hidden = false;
  const card = $("item-card");
  card.classList.remove("refused");
  void card.offsetWidth;  // restart the flash animation
  card.classList.add("refused");
  clearTimeout(refuseTimer);
  refuseTimer = setTimeout(() => { notice.hidden = true; card.classList.remove("refused"); }, 2500);
}

// Whether a press made at `keyTime` may answer the item on screen; if not, says so.
function mayAnswer(what, keyTime) {
  if (state.blocked) { blockedNotice(); refuse(what, "an earlier answer is not saved yet"); return false; }
  if (state.editing) {
    if (state.busy) { refuse(what, "your change is still being saved"); return false; }
    return true;
  }
  const current = state.current;
  if (state.finished && !current) { refuse(what, "nothing is left to label"); return false; }
  if (!current || state.busy || !current.visibleAt || current.answered) {
    refuse(what, "the next item is not on screen yet");
    return false;
  }
  const shown = keyTime - current.visibleAt;
  if (shown < MIN_DISPLAY_MS) {
    refuse(what, `the item had been on screen for ${Math.max(0, Math.round(shown))} ms, `
      + `less than ${MIN_DISPLAY_MS} ms`);
    return false;
  }
  return true;
}

// The moment the entry is painted (the frame after it was put in the page) starts its clock.
function markVisible(entry) {
  entry.visibleAt = 0;
  requestAnimationFrame(() => setTimeout(() => {
    if (state.current !== entry || state.editing) return;
    entry.visibleAt = performance.now();
    if (!entry.shownAt) entry.shownAt = entry.visibleAt;
  }, 0));
}

// ---- rendering ----
function renderLabelsState(labels) {
  for (const button of document.querySelectorAll(".label-btn")) {
    const on = labels.has(button.dataset.label);
    button.classList.toggle("selected", on);
    if (multi) button.setAttribute("aria-pressed", String(on));
  }
}

function renderSuggestion(suggestion) {
  const box = $("suggestion");
  if (!suggestion || !suggestion.labels || !suggestion.labels.length) { box.hidden = true; return; }
  $("suggestion-label").textContent = suggestion.labels.join(", ");
  $("suggestion-confidence").textContent = suggestion.confidence === null
    || suggestion.confidence === undefined ? "" : `${Math.round(suggestion.confidence * 100)}%`;
  box.hidden = false;
}

function showItem(entry, keyTime, source) {
  const body = $("item");
  body.replaceChildren(renderItem(entry.item.data));
  $("item-id").textContent = entry.item.external_id;
  $("item-card").setAttribute("aria-busy", "false");
  renderSuggestion(entry.suggestion);
  if (keyTime !== undefined) {
    const timing = { key: keyTime, shown: performance.now(), painted: null, source };
    window.skein.timings.push(timing);
    requestAnimationFrame(() => setTimeout(() => { timing.painted = performance.now(); }, 0));
  }
}

export function showCurrent(keyTime, source) {
  resetLabelView();
  state.selected = new Set();
  renderLabelsState(state.selected);
  $("item-state").hidden = true;
  if (state.current) {
    showItem(state.current, keyTime, source);
    markVisible(state.current);
  }
  setButtonsEnabled(Boolean(state.current));
  $("back-btn").disabled = !canGoBack();
}

// Label, submit and skip buttons work only while an item is there to answer.
function setButtonsEnabled(on) {
  for (const button of document.querySelectorAll(".label-btn")) button.disabled = !on;
  $("skip-btn").disabled = !on;
  if ($("submit-btn")) $("submit-btn").disabled = !on;
}

export function showFinished() {
  state.finished = true;
  state.current = null;
  $("item").replaceChildren(Object.assign(document.createElement("p"), {
    className: "finished", textContent: "Nothing left for you in this project. Thank you!" }));
  $("item-id").textContent = "";
  $("suggestion").hidden = true;
  $("item-card").setAttribute("aria-busy", "false");
  $("lease-left").textContent = "–";
  setButtonsEnabled(false);
  $("back-btn").disabled = !canGoBack();
}

function renderCounts() {
  $("count-done").textContent = state.done ?? "–";
  $("count-left").textContent = state.left ?? "–";
}

let lastProgressFetch = 0;
export async function refreshProgress(force = false) {
  const now = Date.now();
  if (!force && now - lastProgressFetch < 5000) return;
  lastProgressFetch = now;
  try {
    const { data } = await api("GET", `projects/${projectId}/progress/`);
    state.done = data.me.done;
    state.left = data.me.remaining + (state.current ? 1 : 0);
    renderCounts();
  } catch { /* counts are a nicety; the next refresh catches up */ }
}

export function tickLease() {
  const out = $("lease-left");
  if (!state.current) { out.textContent = "–"; return; }
  const ms = state.current.expiresAt - (Date.now() + state.clockSkew);
  if (ms <= 0) {
    out.textContent = "expired";
    out.classList.add("warn");
    return;
  }
  const s = Math.floor(ms / 1000);
  out.textContent = `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
  out.classList.toggle("warn", s < 60);
}

export function afterSaved(pending, saved) {
  window.skein.saved.push({ externalId: pending.externalId, labels: saved.labels });
  state.last = { annotationId: saved.id, item: pending.item, labels: saved.labels,
    suggestion: pending.suggestion, submittedAt: Date.now() };
  state.done = (state.done ?? 0) + 1;
  if (state.left !== null) state.left = Math.max(0, state.left - 1);
  renderCounts();
  $("back-btn").disabled = !canGoBack();
}

function blockedNotice() {
  setStatus("An earlier answer is not saved yet; press r to retry now.");
}

async function submit(labels, keyTime) {
  const current = state.current;
  if (!current || state.busy || !labels.length) return;
  if (state.blocked) { blockedNotice(); return; }
  const pending = {
    assignmentId: current.assignmentId, externalId: current.item.external_id,
    item: current.item, suggestion: current.suggestion,
    body: { labels, duration_ms: Math.max(0, Math.round(performance.now() - current.shownAt)),
      client_id: clientId() },
  };
  current.answered = true;
  state.answered.add(current.assignmentId);
  const saved = enqueueSave(pending);
  if (state.ahead) {
    loadNext(keyTime);  // shown at once; the answer is saved meanwhile
    if (await saved) prefetch();
  } else {
    state.busy = true;
    renderLabelsState(new Set(labels));
    try {
      const ok = await saved;
      if (ok || !state.blocked) await loadNext(keyTime);
    } finally {
      state.busy = false;
    }
  }
  refreshProgress();
}

export async function skip(keyTime, what = "Skip") {
  if (state.editing || !mayAnswer(what, keyTime)) return;
  const current = state.current;
  state.busy = true;
  try {
    await allSaved();
    await withRetry(() => api("POST", `assignments/${current.assignmentId}/skip/`, {}));
    if (state.left !== null) state.left = Math.max(0, state.left - 1);
    renderCounts();
    setStatus(`Skipped ${current.item.external_id}.`);
    await loadNext(keyTime);
  } catch (err) {
    setStatus(`Could not skip: ${err.message}`);
  } finally {
    state.busy = false;
  }
}

function canGoBack() {
  return Boolean(state.last)
    && Date.now() - state.last.submittedAt < config.leaseSeconds * 1000;
}

export async function startEdit() {
  if (state.pendings.length && !state.blocked) await allSaved();  // the last answer first
  if (!canGoBack() || state.busy || state.editing) {
    if (state.last && !canGoBack()) setStatus("The last answer can no longer be changed.");
    return;
  }
  state.editing = true;
  state.editStartedAt = performance.now();
  $("edit-banner").hidden = false;
  showItem(state.last);
  setButtonsEnabled(true);
  $("skip-btn").disabled = true;
  state.selected = new Set(state.last.labels);
  renderLabelsState(state.selected);
  $("item-state").textContent = `your answer: ${state.last.labels.join(", ")}`;
  $("item-state").hidden = false;
  setStatus(`Changing your answer for ${state.last.item.external_id}.`);
}

export function endEdit() {
  if (!state.editing) return;
  state.editing = false;
  $("edit-banner").hidden = true;
  // The time spent on the old item does not count against the current one.
  if (state.current?.shownAt) state.current.shownAt += performance.now() - state.editStartedAt;
  if (state.finished) showFinished(); else showCurrent();
}

async function saveEdit(labels) {
  if (state.busy || !labels.length) return;
  state.busy = true;
  const last = state.last;
  try {
    const { data } = await withRetry(
      () => api("PATCH", `annotations/${last.annotationId}/`, { labels }));
    last.labels = data.labels;
    setStatus(`Changed ${last.item.external_id} to ${data.labels.join(", ")}.`);
    endEdit();
  } catch (err) {
    setStatus(`Could not change the answer: ${err.message}`);
    showSaveError(`Your change to ${last.item.external_id} was not saved: ${err.message}`);
  } finally {
    state.busy = false;
  }
}

export function chooseLabel(name, keyTime, what = `“${name}”`) {
  if (!mayAnswer(what, keyTime)) return;
  if (multi) {
    if (state.selected.has(name)) state.selected.delete(name); else state.selected.add(name);
    renderLabelsState(state.selected);
    return;
  }
  if (state.editing) saveEdit([name]); else submit([name], keyTime);
}

export function confirmMulti(keyTime, what = "Submit") {
  if (!multi || !mayAnswer(what, keyTime)) return;
  const labels = config.labels.map((l) => l.name).filter((n) => state.selected.has(n));
  if (!labels.length) { setStatus("Choose at least one label first."); return; }
  if (state.editing) saveEdit(labels); else submit(labels, keyTime);
}

// ---- wiring ----
document.addEventListener("keydown", onKey);
for (const button of document.querySelectorAll(".label-btn")) {
  // The colour comes as data, set through the CSSOM (the CSP refuses style attributes).
  button.style.setProperty("--label-color", button.dataset.color);
  button.addEventListener("click", (e) => chooseLabel(button.dataset.label, e.timeStamp));
}
$("submit-btn")?.addEventListener("click", (e) => confirmMulti(e.timeStamp));
$("skip-btn").addEventListener("click", (e) => skip(e.timeStamp));
$("back-btn").addEventListener("click", () => (state.editing ? endEdit() : startEdit()));
$("guideline-btn").addEventListener("click", () => openGuideline({ required: false }));
$("guideline-close").addEventListener("click", closeGuideline);
$("guideline-ack").addEventListener("click", acknowledge);
$("guideline").addEventListener("cancel", (e) => { if (state.mustAck) e.preventDefault(); });
$("retry-btn").addEventListener("click", () => retryPending());
wireFlagDialog();
window.addEventListener("beforeunload", (e) => {
  if (state.pendings.length) { e.preventDefault(); e.returnValue = ""; }
});
setInterval(() => { tickLease(); $("back-btn").disabled = !canGoBack(); }, 1000);

async function start() {
  refreshProgress(true);
  const kept = loadPending();
  if (Array.isArray(kept) && kept.length) {
    state.pendings = kept;
    setStatus("Sending answers that were not saved before…");
    await retryPending();
    if (state.pendings.length) return;
  }
  let guideline = null;
  try {
    ({ data: guideline } = await api("GET", `projects/${projectId}/guidelines/current/`));
  } catch { /* no guideline yet, or a hiccup: next/ says so with 409 if one is needed */ }
  if (guideline && !guideline.acknowledged) {
    await openGuideline({ required: true });
    return;
  }
  if (!state.current) await loadNext();
}

start();
