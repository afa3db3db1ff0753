// The settings form's extra fields of a label row for long label lists: its group (the
// parent's name, one level deep; a group is not an answer) and a description labelers see on
// hover and in the guideline. Kept apart from project_form.js so that form's own changes
// merge cleanly.
import { el } from "./api.js";

const groupNames = el("datalist", { id: "label-group-names" });
document.body.append(groupNames);

// The label names typed so far, offered as groups.
export function refreshGroupNames(rows) {
  const names = [...rows.querySelectorAll(".label-name-input")].map((i) => i.value.trim())
    .filter(Boolean);
  groupNames.replaceChildren(...names.map((name) => el("option", { value: name })));
}

export function labelExtras(label) {
  return [
    el("input", { "aria-label": "Group", class: "label-parent-input", value: label.parent || "",
      list: "label-group-names", placeholder: "group (optional)", maxlength: 100 }),
    el("input", { "aria-label": "Description", class: "label-desc-input",
      value: label.description || "", placeholder: "description (optional)", maxlength: 1000 }),
  ];
}

export function collectExtras(row) {
  return {
    parent: row.querySelector(".label-parent-input").value.trim() || null,
    description: row.querySelector(".label-desc-input").value.trim(),
  };
}
