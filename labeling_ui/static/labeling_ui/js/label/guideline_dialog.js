// The guideline dialog: shown on demand, and required (with an acknowledgement) when the
// project has a version the labeler has not read.
import { api, ApiError } from "../api.js";
import { $, projectId, setStatus, state } from "../label.js";
import { loadNext, withRetry } from "./claims.js";

export async function openGuideline({ required }) {
  const dialog = $("guideline");
  let data;
  try {
    ({ data } = await api("GET", `projects/${projectId}/guidelines/current/`));
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) {
      if (!required) setStatus("This project has no guideline yet.");
      return;
    }
    setStatus(`Could not load the guideline: ${err.message}`);
    return;
  }
  state.guidelineVersion = data.version;
  state.mustAck = required || !data.acknowledged;
  $("guideline-version").textContent = `version ${data.version}`;
  // `html` is rendered from Markdown and sanitised by the server (annotation.rendering).
  $("guideline-body").innerHTML = data.html;
  const ack = $("guideline-ack");
  ack.hidden = !state.mustAck;
  ack.textContent = `I have read version ${data.version}`;
  $("guideline-new").hidden = !state.mustAck;
  $("guideline-close").hidden = state.mustAck;
  if (!dialog.open) dialog.showModal();
  (state.mustAck ? ack : $("guideline-close")).focus();
}

export function closeGuideline() {
  if (state.mustAck) return;
  $("guideline").close();
}

export async function acknowledge() {
  const version = state.guidelineVersion;
  const ack = $("guideline-ack");
  ack.disabled = true;
  try {
    await withRetry(() => api("POST", `projects/${projectId}/guidelines/${version}/ack/`));
    state.mustAck = false;
    $("guideline").close();
    setStatus(`Guideline version ${version} acknowledged.`);
    if (!state.current) await loadNext();
  } catch (err) {
    setStatus(`Could not record that you read the guideline: ${err.message}`);
  } finally {
    ack.disabled = false;
  }
}
