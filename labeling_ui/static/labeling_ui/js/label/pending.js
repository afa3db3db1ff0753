// The labeler's answers until the server has them: kept in localStorage (a reload sends them
// again), saved one after another in the order given, each retried with its client_id.
import { api, config, errorText } from "../api.js";
import { afterSaved, hideSaveError, setStatus, showSaveError, state } from "../label.js";
import { loadNext, prefetch, retryable, withRetry } from "./claims.js";

// (label.js imports this module, so nothing of label.js is read before the page has started.)
const pendingKey = `skein:pending:${config.username}:${config.projectId}`;

export function loadPending() {
  try { return JSON.parse(localStorage.getItem(pendingKey) || "null"); } catch { return null; }
}
function storePending(p) {
  try {
    if (p) localStorage.setItem(pendingKey, JSON.stringify(p));
    else localStorage.removeItem(pendingKey);
  } catch { /* private mode: memory only */ }
}

function storePendings() {
  storePending(state.pendings.length ? state.pendings : null);
}

async function saveOne(pending) {
  try {
    const { data } = await withRetry(
      () => api("POST", `assignments/${pending.assignmentId}/submit/`, pending.body),
      (n) => setStatus(`Saving… (attempt ${n + 1})`));
    state.pendings = state.pendings.filter((p) => p !== pending);
    storePendings();
    afterSaved(pending, data);
    setStatus(`Saved: ${data.labels.join(", ")} for ${pending.externalId}.`);
    return true;
  } catch (err) {
    if (retryable(err)) {
      state.blocked = true;
      showSaveError(`Your answer for ${pending.externalId} did not reach the server `
        + `(${err.message}). It is kept in this browser and sent again every few seconds; `
        + "labeling continues once it is saved. Do not close the page.");
      setStatus("Not saved yet.");
      scheduleRetry();
    } else {
      state.pendings = state.pendings.filter((p) => p !== pending);
      storePendings();
      showSaveError(`Your answer for ${pending.externalId} was not recorded: `
        + `${errorText(err.body) || err.message}`);
      setStatus("Not saved.");
    }
    return false;
  }
}

// Saves run one after another, in the order they were given.
let saveChain = Promise.resolve(true);

// Settles once every save given so far has finished (true when all were saved).
export function allSaved() { return saveChain; }

export function enqueueSave(pending) {
  state.pendings.push(pending);
  storePendings();
  const result = saveChain.then((ok) => (ok ? saveOne(pending) : false));
  saveChain = result;
  return result;
}

let retryTimer = null;
function scheduleRetry() {
  clearTimeout(retryTimer);
  retryTimer = setTimeout(retryPending, 5000);
}

export async function retryPending() {
  clearTimeout(retryTimer);
  if (!state.pendings.length || state.retrying) return;
  state.retrying = true;
  await saveChain;
  for (const pending of [...state.pendings]) {
    if (!(await saveOne(pending))) { state.retrying = false; return; }
  }
  saveChain = Promise.resolve(true);
  state.blocked = false;
  state.retrying = false;
  hideSaveError();
  if (!state.finished && (!state.current || state.current.answered)) await loadNext();
  else prefetch();
}
