// Getting items: the claim of the next item (retried on network and server errors), the item
// after it claimed ahead, and the retry rule every request of the page uses.
import { api, ApiError, sleep } from "../api.js";
import {
  $, projectId, refreshProgress, setStatus, showCurrent, showFinished, state, tickLease,
} from "../label.js";
import { openGuideline } from "./guideline_dialog.js";

const RETRY_DELAYS = [0, 400, 1200, 3000];

export function retryable(err) {
  return !(err instanceof ApiError) || err.status >= 500 || err.status === 429;
}

export async function withRetry(call, onRetry) {
  let lastError;
  for (const [n, delay] of RETRY_DELAYS.entries()) {
    if (delay) await sleep(delay);
    try {
      return await call();
    } catch (err) {
      lastError = err;
      if (!retryable(err)) throw err;
      if (onRetry) onRetry(n + 1, err);
    }
  }
  throw lastError;
}

function claimFrom(response) {
  const { assignment, item, suggestion } = response.data;
  const serverDate = Date.parse(response.headers.get("Date") || "");
  if (!Number.isNaN(serverDate)) {
    const skew = serverDate - Date.now();
    state.clockSkew = Math.abs(skew) > 2000 ? skew : 0;
  }
  return { assignmentId: assignment.id, item, suggestion,
    expiresAt: Date.parse(assignment.expires_at), shownAt: 0, visibleAt: 0 };
}

function present(claim, keyTime, source) {
  if (state.ahead && state.ahead.assignmentId === claim.assignmentId) state.ahead = null;
  state.current = claim;
  showCurrent(keyTime, source);
  tickLease();
  prefetch();
}

// Fetch the item after the one on screen (the queue lets a labeler hold two leases), so a
// keypress can show it at once. Only once every answer is saved: until then the server would
// still count the answered lease as open.
export async function prefetch() {
  const current = state.current;
  if (!current || state.ahead || state.prefetching || state.noMoreAhead || state.pendings.length
      || state.blocked) return;
  state.prefetching = true;
  try {
    const response = await api("POST", `projects/${projectId}/next/?ahead_of=${current.assignmentId}`);
    if (response.status === 204) {
      state.noMoreAhead = true;
    } else if (state.current === current && !current.answered
               && response.data.assignment.id !== current.assignmentId
               && !state.answered.has(response.data.assignment.id)) {
      state.ahead = claimFrom(response);
    }
  } catch { /* a missed prefetch only costs a round trip later */ } finally {
    state.prefetching = false;
  }
}

export async function loadNext(keyTime) {
  if (state.ahead) {
    const claim = state.ahead;
    state.ahead = null;
    present(claim, keyTime, "prefetched");
    return;
  }
  let response;
  try {
    response = await withRetry(() => api("POST", `projects/${projectId}/next/`),
      () => setStatus("Connection trouble; trying again…"));
  } catch (err) {
    state.current = null;
    if (err instanceof ApiError && err.status === 409 && err.body.guideline_version) {
      await openGuideline({ required: true });
      return;
    }
    $("item").replaceChildren(Object.assign(document.createElement("p"), {
      className: "alert alert-error", textContent: `Could not load the next item: ${err.message}. `
        + "Reload the page to try again." }));
    return;
  }
  state.noMoreAhead = false;
  if (response.status === 204) { showFinished(); refreshProgress(true); return; }
  present(claimFrom(response), keyTime, "requested");
  if (state.left === null || state.done === null) refreshProgress(true);
}
