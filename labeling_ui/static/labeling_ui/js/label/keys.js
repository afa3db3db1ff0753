// The keyboard: label shortcuts and the page's own keys (submit, skip, back, guideline,
// retry, flag, cancel).
import { config } from "../api.js";
import { $, chooseLabel, confirmMulti, endEdit, multi, skip, startEdit, state } from "../label.js";
import { flagKey, openFlag } from "./flag_dialog.js";
import { closeGuideline, openGuideline } from "./guideline_dialog.js";
import { retryPending } from "./pending.js";

const labelByKey = new Map(config.labels.filter((l) => l.shortcut)
  .map((l) => [l.shortcut.toLowerCase(), l.name]));
// The page's own keys come from the server (annotation/page_keys.py), the same list that keeps
// label shortcuts off them: {key: action}, letters in lower case.
const actionByKey = new Map(config.keys.map((k) => [k.key, k.action]));

export function onKey(event) {
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  const target = event.target;
  if ($("flag-dialog").open) {
    // Its numbers and Enter (not while typing the comment); Esc is the dialog's own cancel.
    if (!(target instanceof HTMLTextAreaElement)) flagKey(event);
    return;
  }
  if (target instanceof HTMLElement && target.closest("input, textarea, select")) return;
  const dialog = $("guideline");
  const key = event.key;
  const lower = key.length === 1 ? key.toLowerCase() : key;
  const action = actionByKey.get(lower);
  if (dialog.open) {
    if (action === "guideline" || action === "cancel") {
      event.preventDefault();
      closeGuideline();
    }
    return;  // Enter/Space on the focused acknowledge button work natively
  }
  const keyTime = event.timeStamp;
  const what = `Key ${key}`;
  if (action === "submit" && multi) {
    event.preventDefault();
    confirmMulti(keyTime, what);
  } else if (action === "guideline") {
    event.preventDefault();
    openGuideline({ required: false });
  } else if (action === "cancel") {
    endEdit();
  } else if (action === "skip" && !state.editing) {
    event.preventDefault();
    skip(keyTime, what);
  } else if (action === "back") {
    event.preventDefault();
    startEdit();
  } else if (action === "flag") {
    event.preventDefault();
    openFlag();
  } else if (action === "retry" && !$("save-error").hidden) {
    event.preventDefault();
    retryPending();
  } else if (!action && labelByKey.has(lower)) {
    event.preventDefault();
    chooseLabel(labelByKey.get(lower), keyTime, what);
  }
}
