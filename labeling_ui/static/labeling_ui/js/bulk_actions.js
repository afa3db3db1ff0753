// Bulk actions on a selection of items or on the item list's filter (POST items/bulk/):
// action buttons, a confirmation that names the count (a dry run counts the items; the
// action is then sent with that count as `expected`, so a selection that changed meanwhile
// is refused, never acted on), then the result, or a large action's job progress.
//
// mountBulkActions(container, { projectId, labels, target, onDone }):
//   target()  -> {ids: [...]} (the table's selection) or {filter: {...}} (its query
//                parameters), asked at each click;
//   labels    -> the project's label names (the gold answer's choices);
//   onDone()  -> called after an action finished (e.g. reload the table).
import { api, ApiError, el, errorText, sleep } from "./api.js";

const ACTIONS = [
  { action: "gold", text: "Mark gold" },
  { action: "ungold", text: "Unmark gold" },
  { action: "review", text: "Send to review" },
  { action: "requeue", text: "Requeue" },
  { action: "priority", text: "Set priority" },
  { action: "labelset", text: "Save as label set" },
  { action: "erase", text: "Erase data", danger: true },
  { action: "delete", text: "Delete", danger: true },
];

const plural = (n, word) => `${n.toLocaleString()} ${word}${n === 1 ? "" : "s"}`;

function question(action, n) {
  const items = plural(n, "item");
  switch (action) {
    case "delete":
      return `Delete ${items}? Their annotations leave the exports (the audit log keeps them). `
        + "This cannot be undone.";
    case "erase":
      return `Erase the data of ${items}? Their labels stay. This cannot be undone.`;
    case "gold": return `Mark ${items} gold?`;
    case "ungold": return `Unmark ${items} as gold?`;
    case "review": return `Send ${items} to review?`;
    case "requeue": return `Requeue ${items}?`;
    case "priority": return `Set the priority of ${items}?`;
    default: return `Save ${items} as a label set?`;
  }
}

function outcome(action, data) {
  const items = plural(data.affected ?? 0, "item");
  if (action === "labelset") return `Label set requested with ${items}.`;
  if (action === "delete") return `${items} deleted.`;
  return `Done: ${items} affected.`;
}

export function mountBulkActions(container, { projectId, labels = [], target, onDone }) {
  const path = `projects/${projectId}/items/bulk/`;
  const gold = el("select", { name: "gold", "aria-label": "Gold answer" },
    labels.map((name) => el("option", { value: name, text: name })));
  const overlap = el("input", {
    name: "overlap", type: "number", min: "1", max: "50", placeholder: "overlap",
    "aria-label": "Annotations each item needs (empty: one more)",
  });
  const priority = el("input", {
    name: "priority", type: "number", step: "any", value: "1", "aria-label": "Priority",
  });
  const status = el("p", { class: "muted", role: "status", "aria-live": "polite" });
  const bar = el("progress", { max: "1", value: "0", hidden: true });
  const confirmBox = el("div", { class: "card bulk-confirm", hidden: true, role: "alertdialog" });
  const buttons = ACTIONS.map(({ action, text, danger }) => el("button", {
    type: "button", class: danger ? "btn btn-danger" : "btn", dataset: { action }, text,
    onclick: () => ask(action),
  }));

  function params(action) {
    if (action === "gold") return { gold: gold.value };
    if (action === "requeue") return overlap.value ? { overlap: Number(overlap.value) } : {};
    if (action === "priority") return { priority: Number(priority.value) };
    return {};
  }

  const busy = (on) => buttons.forEach((b) => { b.disabled = on; });

  async function ask(action) {
    const body = { action, ...target(), ...params(action) };
    confirmBox.hidden = true;
    try {
      const { data } = await api("POST", path, { ...body, dry_run: true });
      if (!data.matched) {
        status.textContent = "No items to act on.";
        return;
      }
      confirmBox.replaceChildren(
        el("p", { class: "bulk-question", text: question(action, data.matched) }),
        el("button", {
          type: "button", class: action === "delete" || action === "erase"
            ? "btn btn-danger" : "btn btn-primary",
          text: `Yes, ${ACTIONS.find((a) => a.action === action).text.toLowerCase()} `
            + plural(data.matched, "item"),
          onclick: () => run(action, { ...body, expected: data.matched }),
        }),
        el("button", { type: "button", class: "btn", text: "Cancel",
          onclick: () => { confirmBox.hidden = true; } }),
      );
      confirmBox.hidden = false;
      status.textContent = "";
    } catch (err) {
      status.textContent = err instanceof ApiError ? errorText(err.body) : err.message;
    }
  }

  async function run(action, body) {
    confirmBox.hidden = true;
    busy(true);
    try {
      const { status: code, data } = await api("POST", path, body);
      if (code === 202) {
        await follow(action, data.job, data.total);
      } else {
        status.textContent = outcome(action, data);
      }
      onDone?.();
    } catch (err) {
      status.textContent = err instanceof ApiError ? errorText(err.body) : err.message;
    } finally {
      busy(false);
    }
  }

  async function follow(action, job, total) {
    bar.max = total;
    bar.value = 0;
    bar.hidden = false;
    for (;;) {
      const { data } = await api("GET", `${path}${job}/`);
      bar.value = data.processed;
      if (data.state === "done") {
        bar.hidden = true;
        status.textContent = outcome(action, data);
        return;
      }
      if (data.state === "failed") {
        bar.hidden = true;
        status.textContent = `Failed, nothing was changed: ${data.error}`;
        return;
      }
      status.textContent = `${data.state === "queued" ? "Queued" : "Working"}: `
        + `${data.processed.toLocaleString()} of ${plural(total, "item")}…`;
      await sleep(1000);
    }
  }

  container.replaceChildren(
    el("div", { class: "bulk-actions" }, buttons),
    el("div", { class: "bulk-params" },
      el("label", {}, "Gold answer ", gold), " ",
      el("label", {}, "Requeue to ", overlap), " ",
      el("label", {}, "Priority ", priority)),
    confirmBox, bar, status,
  );
}
