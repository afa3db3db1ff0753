// The keyboard: label shortcuts (one key, or two in a row: the first narrows the list to the
// labels it starts, a group's key to the group's labels) and the page's own keys (submit,
// skip, back, guideline, retry, flag, cancel, filter).
import { config } from "../api.js";
import { $, chooseLabel, confirmMulti, endEdit, multi, refuse, skip, startEdit, state }
  from "../label.js";
import { flagKey, openFlag } from "./flag_dialog.js";
import { closeGuideline, openGuideline } from "./guideline_dialog.js";
import { focusFilter, isNarrowed, narrowTo, pendingKey, resetLabelView } from "./label_list.js";
import { retryPending } from "./pending.js";

const labelByKey = new Map(config.labels.filter((l) => l.shortcut)
  .map((l) => [l.shortcut.toLowerCase(), l]));
// First keys of two-key shortcuts (annotation/label_keys.py keeps them off one-key labels,
// except a group's key, which starts its own labels' sequences).
const firstKeys = new Set([...labelByKey.keys()].filter((k) => k.length === 2).map((k) => k[0]));
// The page's own keys come from the server (annotation/page_keys.py), the same list that keeps
// label shortcuts off them: {key: action}, letters in lower case.
const actionByKey = new Map(config.keys.map((k) => [k.key, k.action]));

function pick(label, key, keyTime, what) {
  if (label.is_group) {
    narrowTo({ group: label.name, pending: key.length === 1 ? key : "" });
    return;
  }
  resetLabelView();
  chooseLabel(label.name, keyTime, what);
}

// A key that may be (part of) a label's shortcut; whether it was one.
function labelKey(lower, keyTime, what) {
  const pending = pendingKey();
  if (pending) {
    const sequence = pending + lower;
    resetLabelView();
    if (labelByKey.has(sequence)) {
      pick(labelByKey.get(sequence), sequence, keyTime, `Keys ${sequence.split("").join(" ")}`);
      return true;
    }
    // Not a sequence: the key on its own (a narrowed list shows labels with one key too).
  }
  const label = labelByKey.get(lower);
  if (label) {
    pick(label, lower, keyTime, what);
    return true;
  }
  if (firstKeys.has(lower)) {
    narrowTo({ prefix: lower, pending: lower });
    return true;
  }
  if (isNarrowed()) refuse(what, "no label has this key");
  return false;
}

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
  if (action && action !== "cancel" && pendingKey()) resetLabelView();
  if (action === "submit" && multi) {
    event.preventDefault();
    confirmMulti(keyTime, what);
  } else if (action === "filter") {
    event.preventDefault();
    focusFilter();
  } else if (action === "guideline") {
    event.preventDefault();
    openGuideline({ required: false });
  } else if (action === "cancel") {
    if (isNarrowed()) {
      resetLabelView();
    } else {
      endEdit();
    }
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
  } else if (!action && key.length === 1 && labelKey(lower, keyTime, what)) {
    event.preventDefault();
  }
}
