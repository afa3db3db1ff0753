// The Data tab's bulk actions (bulk_actions.js) on the item table's checked rows, or, when
// none is checked, on every item of the table's current filter (its query parameters, kept
// in the page's URL by item_table.js, less the paging ones).
import { api, config } from "./api.js";
import { mountBulkActions } from "./bulk_actions.js";

const PAGING = ["cursor", "limit", "offset"];
const scope = document.getElementById("bulk-scope");

function checked() {
  return [...document.querySelectorAll("#item-table input.row-select:checked")]
    .map((box) => Number(box.dataset.itemId));
}

function currentFilter() {
  const params = new URLSearchParams(window.location.search);
  PAGING.forEach((name) => params.delete(name));
  const out = {};
  for (const [name, value] of params) if (value) out[name] = value;
  return out;
}

function target() {
  const ids = checked();
  return ids.length ? { ids } : { filter: currentFilter() };
}

function describe() {
  const n = checked().length;
  scope.textContent = n
    ? `Acting on the ${n} checked item${n === 1 ? "" : "s"}.`
    : "Acting on every item that matches the table's filter (check rows to act on those only).";
}

async function mount() {
  const { data } = await api("GET", `projects/${config.projectId}/`);
  mountBulkActions(document.getElementById("bulk-actions"), {
    projectId: config.projectId,
    labels: data.labels.filter((l) => !l.is_group).map((l) => l.name),
    target,
    onDone: () => document.dispatchEvent(new CustomEvent("skein:items-changed")),
  });
  describe();
}

document.addEventListener("skein:selection-changed", describe);
window.addEventListener("popstate", describe);
mount();
