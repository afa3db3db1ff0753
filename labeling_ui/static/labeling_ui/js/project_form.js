// Create or edit a project and its label schema through the API.
import { api, ApiError, config, el, errorText, showFieldErrors } from "./api.js";
import { collectExtras, labelExtras, refreshGroupNames } from "./label_row_extras.js";

const form = document.getElementById("project-form");
const rows = document.getElementById("label-rows");
const projectId = config.projectId;
const NUMBERS = ["overlap", "lease_seconds", "retrain_every"];
const FLOATS = ["gold_rate"];
const PALETTE = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1",
  "#ff9da7", "#9c755f", "#bab0ac"];
let counter = 0;

function labelRow(label = { name: "", shortcut: "", color: "" }) {
  const n = counter++;
  const row = el("div", { class: "label-row" },
    el("input", { "aria-label": "Label name", class: "label-name-input", value: label.name,
      placeholder: "label name", maxlength: 100, id: `label-name-${n}` }),
    el("input", { "aria-label": "Shortcut key", class: "label-key-input", value: label.shortcut || "",
      maxlength: 2, placeholder: "key", dataset: { loaded: label.shortcut || "" } }),
    el("input", { "aria-label": "Colour", type: "color", class: "label-color-input",
      value: label.color || PALETTE[rows.children.length % PALETTE.length] }),
    ...labelExtras(label),
    el("button", { type: "button", class: "btn btn-small btn-danger", "aria-label": "Remove label",
      onclick: () => { row.remove(); } }, "Remove"));
  rows.append(row);
  return row;
}

// A key left as it was loaded is not sent: the server keeps it while it fits, and may move
// it when the list outgrows the single keys (annotation/label_keys.py); a typed key is kept.
function typedKey(input) {
  const value = input.value.trim();
  return value && value === input.dataset.loaded ? undefined : value;
}

function collect() {
  const body = {};
  for (const name of ["name", "description", "kind", "strategy", "suggestions"]) {
    body[name] = form.elements[name].value.trim();
  }
  for (const name of NUMBERS) body[name] = Number.parseInt(form.elements[name].value, 10);
  for (const name of FLOATS) body[name] = Number.parseFloat(form.elements[name].value);
  body.labels = [...rows.querySelectorAll(".label-row")].map((row) => ({
    name: row.querySelector(".label-name-input").value.trim(),
    shortcut: typedKey(row.querySelector(".label-key-input")),
    color: row.querySelector(".label-color-input").value,
    ...collectExtras(row),
  })).filter((l) => l.name);
  return body;
}

function fill(project) {
  for (const name of ["name", "description", "kind", "strategy", "suggestions", ...NUMBERS, ...FLOATS]) {
    if (project[name] !== undefined && project[name] !== null) form.elements[name].value = project[name];
  }
  rows.replaceChildren();
  project.labels.forEach((l) => labelRow(l));
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const error = document.getElementById("form-error");
  const ok = document.getElementById("form-ok");
  error.hidden = true;
  ok.hidden = true;
  const button = document.getElementById("save-project");
  button.disabled = true;
  try {
    if (projectId) {
      const { data } = await api("PATCH", `projects/${projectId}/`, collect());
      fill(data);
      showFieldErrors(form, {});
      ok.textContent = "Saved.";
      ok.hidden = false;
    } else {
      const { data } = await api("POST", "projects/", collect());
      window.location.assign(`/projects/${data.id}/data/`);
    }
  } catch (err) {
    if (err instanceof ApiError) showFieldErrors(form, err.body);
    const text = err instanceof ApiError ? errorText(err.body) : err.message;
    error.textContent = `Not saved: ${text || "please correct the fields marked below."}`;
    error.hidden = false;
    error.scrollIntoView({ block: "nearest" });
  } finally {
    button.disabled = false;
  }
});

rows.addEventListener("focusin", () => refreshGroupNames(rows));

document.getElementById("add-label").addEventListener("click", () => {
  labelRow().querySelector("input").focus();
});

if (projectId) {
  api("GET", `projects/${projectId}/`).then(({ data }) => fill(data));
} else {
  labelRow();
  labelRow();
}
