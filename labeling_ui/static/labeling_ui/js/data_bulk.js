// The Data tab's bulk actions on the items a small filter form selects (state, gold), until
// the item table mounts bulk_actions.js on its own selection and filter.
import { api, config } from "./api.js";
import { mountBulkActions } from "./bulk_actions.js";

const form = document.getElementById("bulk-filter");

function filter() {
  const out = {};
  for (const [name, value] of new FormData(form)) if (value) out[name] = value;
  return { filter: out };
}

async function mount() {
  const { data } = await api("GET", `projects/${config.projectId}/`);
  mountBulkActions(document.getElementById("bulk-actions"), {
    projectId: config.projectId,
    labels: data.labels.map((l) => l.name),
    target: filter,
    onDone: () => document.dispatchEvent(new CustomEvent("skein:items-changed")),
  });
}

mount();
