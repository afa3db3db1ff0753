// The flag dialog: "f" opens it over the item on screen; a number picks the reason (none of
// these labels fits, unsure, broken item, other, or only a comment), Enter sends, Esc closes.
// The lease stays the labeler's: after flagging they still label or skip the item.
import { api } from "../api.js";
import { $, setStatus, state } from "../label.js";
import { withRetry } from "./claims.js";

let flagged = null;  // the entry (state.current) the open dialog is about

function reasons() {
  return [...document.querySelectorAll('#flag-form input[name="reason"]')];
}

function showError(text) {
  $("flag-error").textContent = text || "";
  $("flag-error").hidden = !text;
}

export function openFlag() {
  const current = state.current;
  if (!current || state.editing) {
    setStatus("There is no item on screen to flag.");
    return;
  }
  flagged = current;
  $("flag-item").textContent = current.item.external_id;
  $("flag-comment").value = "";
  reasons()[0].checked = true;
  showError("");
  $("flag-dialog").showModal();
  reasons()[0].focus();
}

export function closeFlag() {
  if ($("flag-dialog").open) $("flag-dialog").close();
  flagged = null;
}

// Keys while the dialog is open and the comment box is not focused: 1..n pick a reason and
// move to the comment; Enter sends; Esc (the dialog's own cancel) closes.
export function flagKey(event) {
  const n = Number.parseInt(event.key, 10);
  const options = reasons();
  if (n >= 1 && n <= options.length) {
    event.preventDefault();
    options[n - 1].checked = true;
    $("flag-comment").focus();
  } else if (event.key === "Enter") {
    event.preventDefault();
    send();
  }
}

async function send() {
  const entry = flagged;
  if (!entry) return;
  const reason = reasons().find((r) => r.checked)?.value ?? "";
  const comment = $("flag-comment").value;
  if (!reason && !comment.trim()) {
    showError("Write a comment, or choose a reason to flag the item.");
    $("flag-comment").focus();
    return;
  }
  $("flag-send").disabled = true;
  try {
    if (reason) {
      const body = comment.trim() ? { reason, comment } : { reason };
      await withRetry(() => api("POST", `assignments/${entry.assignmentId}/flag/`, body));
    } else {
      await withRetry(() => api("POST", `items/${entry.item.id}/comments/`, { body: comment }));
    }
    closeFlag();
    const what = reason ? `Flagged ${entry.item.external_id} (${reasonText(reason)})`
      : `Comment on ${entry.item.external_id} sent`;
    setStatus(`${what}. You can still label or skip it.`);
  } catch (err) {
    showError(`Not sent: ${err.message}`);
  } finally {
    $("flag-send").disabled = false;
  }
}

function reasonText(value) {
  const input = reasons().find((r) => r.value === value);
  return input ? input.parentElement.textContent.replace(/^\s*\d+\s*/, "").trim() : value;
}

// Called by label.js's wiring (not at import: label.js and this module import each other).
export function wireFlagDialog() {
  $("flag-btn").addEventListener("click", openFlag);
  $("flag-form").addEventListener("submit", (e) => { e.preventDefault(); send(); });
  $("flag-close").addEventListener("click", closeFlag);
  $("flag-dialog").addEventListener("close", () => { flagged = null; });
  $("flag-comment").addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); send(); }
  });
}
