// Create or edit a project, its label schema and every setting, through the API. The inputs
// are drawn from the API's own input serializer (labeling_ui/settings_form.py); the API checks
// what is sent and its field-named 400 is shown next to each input. Settings page only:
// rename or merge a label, archive or unarchive, delete (admins).
import { api, ApiError, config, el, errorText, showFieldErrors } from "./api.js";

const form = document.getElementById("project-form");
const rows = document.getElementById("label-rows");
const projectId = config.projectId;
const PALETTE = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1",
  "#ff9da7", "#9c755f", "#bab0ac"];
const settingNodes = [...form.querySelectorAll("[data-setting]")];
let counter = 0;

function labelRow(label = { name: "", shortcut: "", color: "" }, existing = false) {
  const n = counter++;
  const row = el("div", { class: "label-row", dataset: existing ? { existing: label.name } : {} },
    el("input", { "aria-label": "Label name", class: "label-name-input", value: label.name,
      placeholder: "label name", maxlength: 100, id: `label-name-${n}`, readonly: existing,
      title: existing ? "Rename it below: its annotations follow." : null }),
    el("input", { "aria-label": "Shortcut key", class: "label-key-input", value: label.shortcut || "",
      maxlength: 1, placeholder: "key" }),
    el("input", { "aria-label": "Colour", type: "color", class: "label-color-input",
      value: label.color || PALETTE[rows.children.length % PALETTE.length] }),
    el("button", { type: "button", class: "btn btn-small btn-danger", "aria-label": "Remove label",
      onclick: () => { row.remove(); } }, "Remove"));
  rows.append(row);
  return row;
}

// A number as typed, or the text itself when it is not one, so the API names the field.
function number(text, nullable) {
  const value = text.trim();
  if (value === "") return nullable ? null : "";
  const parsed = Number(value);
  return Number.isFinite(parsed) ? parsed : value;
}

// An object setting (the model endpoint): its keys as typed; all empty is null.
function readObject(node) {
  const value = {};
  for (const part of node.querySelectorAll("[data-part]")) {
    const text = part.querySelector("input").value.trim();
    if (text === "") continue;
    value[part.dataset.part] = part.dataset.kind === "int" || part.dataset.kind === "float"
      ? number(text, false) : text;
  }
  return Object.keys(value).length || !node.hasAttribute("data-nullable") ? value : null;
}

function writeObject(node, value) {
  for (const part of node.querySelectorAll("[data-part]")) {
    const v = value ? value[part.dataset.part] : null;
    part.querySelector("input").value = v === null || v === undefined ? "" : v;
  }
}

// The API names a key of an object setting as {"setting": {"key": [...]}}: the input is
// "setting.key".
function flatErrors(body) {
  const flat = {};
  for (const [field, value] of Object.entries(body || {})) {
    if (value && typeof value === "object" && !Array.isArray(value)) {
      for (const [key, messages] of Object.entries(value)) flat[`${field}.${key}`] = messages;
    } else {
      flat[field] = value;
    }
  }
  return flat;
}

function readSetting(node) {
  const input = node.querySelector("input, select, textarea");
  const nullable = node.hasAttribute("data-nullable");
  switch (node.dataset.kind) {
    case "object": return readObject(node);
    case "bool": return input.checked;
    case "int":
    case "float": return number(input.value, nullable);
    case "list": return input.value.split(",").map((v) => v.trim()).filter(Boolean);
    case "json": {
      const text = input.value.trim();
      if (!text) return null;
      try { return JSON.parse(text); } catch { return text; }
    }
    default: return input.value.trim();
  }
}

function writeSetting(node, value) {
  const input = node.querySelector("input, select, textarea");
  switch (node.dataset.kind) {
    case "object": writeObject(node, value); break;
    case "bool": input.checked = Boolean(value); break;
    case "list": input.value = (value || []).join(", "); break;
    case "json": input.value = value === null || value === undefined ? "" : JSON.stringify(value); break;
    default: input.value = value === null || value === undefined ? "" : value;
  }
}

function collect() {
  const body = {};
  for (const name of ["name", "description", "kind"]) body[name] = form.elements[name].value.trim();
  for (const node of settingNodes) body[node.dataset.setting] = readSetting(node);
  body.labels = [...rows.querySelectorAll(".label-row")].map((row) => ({
    name: row.querySelector(".label-name-input").value.trim(),
    shortcut: row.querySelector(".label-key-input").value.trim(),
    color: row.querySelector(".label-color-input").value,
  })).filter((l) => l.name);
  return body;
}

function fillLabelChoices(labels) {
  for (const select of document.querySelectorAll(".label-choice")) {
    const keep = select.value;
    select.replaceChildren(...labels.map((l) => el("option", { value: l.name, text: l.name })));
    if (labels.some((l) => l.name === keep)) select.value = keep;
  }
}

function fill(project) {
  for (const name of ["name", "description", "kind"]) form.elements[name].value = project[name] ?? "";
  for (const node of settingNodes) {
    if (node.dataset.setting in project) writeSetting(node, project[node.dataset.setting]);
  }
  rows.replaceChildren();
  project.labels.forEach((l) => labelRow(l, Boolean(projectId)));
  fillLabelChoices(project.labels);
  showArchived(project.archived);
}

function failure(err) {
  return err instanceof ApiError ? errorText(flatErrors(err.body)) : err.message;
}

function say(id, text, kind) {
  document.getElementById(id).replaceChildren(el("p", { class: `alert alert-${kind}`, text }));
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
    if (err instanceof ApiError) showFieldErrors(form, flatErrors(err.body));
    const text = failure(err);
    error.textContent = `Not saved: ${text || "please correct the fields marked below."}`;
    error.hidden = false;
    (form.querySelector("[aria-invalid]") || error).scrollIntoView({ block: "nearest" });
  } finally {
    button.disabled = false;
  }
});

document.getElementById("add-label").addEventListener("click", () => {
  labelRow().querySelector("input").focus();
});

// Rename and merge: one request each, the API rewrites every use of the label.
async function labelChange(event, path, body, done) {
  event.preventDefault();
  const target = event.currentTarget;
  showFieldErrors(target, {});
  try {
    const { data } = await api("POST", `projects/${projectId}/labels/${path}/`, body);
    const rows = Object.values(data.rows || {}).reduce((a, b) => a + b, 0);
    say("label-status", `${done(data)} ${rows} stored answer${rows === 1 ? "" : "s"} updated.`, "ok");
    const { data: project } = await api("GET", `projects/${projectId}/`);
    fill(project);
  } catch (err) {
    if (err instanceof ApiError) showFieldErrors(target, err.body);
    say("label-status", `Not changed: ${failure(err)}`, "error");
  }
}

const renameForm = document.getElementById("rename-form");
renameForm?.addEventListener("submit", (event) => {
  const body = { label: renameForm.elements.label.value, name: renameForm.elements.name.value };
  labelChange(event, "rename", body, (d) => {
    renameForm.elements.name.value = "";
    return `Renamed '${d.from}' to '${d.to}'.`;
  });
});

const mergeForm = document.getElementById("merge-form");
mergeForm?.addEventListener("submit", (event) => {
  const body = { label: mergeForm.elements.label.value, into: mergeForm.elements.into.value };
  if (!window.confirm(`Merge '${body.label}' into '${body.into}'? Every '${body.label}' answer `
    + `becomes '${body.into}' and '${body.label}' leaves the labels. This cannot be undone.`)) {
    event.preventDefault();
    return;
  }
  labelChange(event, "merge", body, (d) => `Merged '${d.from}' into '${d.into}'.`);
});

// Archive / unarchive.
let archived = false;
function showArchived(value) {
  archived = Boolean(value);
  const button = document.getElementById("archive-toggle");
  if (button) button.textContent = archived ? "Unarchive project" : "Archive project";
  const badge = document.getElementById("archived-badge");
  if (badge) badge.hidden = !archived;
}

document.getElementById("archive-toggle")?.addEventListener("click", async () => {
  try {
    const { data } = await api("PATCH", `projects/${projectId}/`, { archived: !archived });
    showArchived(data.archived);
    say("archive-status", data.archived
      ? "Archived: labelers no longer see it and its queue serves nothing."
      : "Unarchived: labelers see it again.", "ok");
  } catch (err) {
    say("archive-status", `Not changed: ${failure(err)}`, "error");
  }
});

// Delete (admins): the typed name is the confirmation.
const deleteForm = document.getElementById("delete-form");
deleteForm?.addEventListener("submit", async (event) => {
  event.preventDefault();
  showFieldErrors(deleteForm, {});
  try {
    await api("DELETE", `projects/${projectId}/`, { confirm: deleteForm.elements.confirm.value });
    window.location.assign("/");
  } catch (err) {
    if (err instanceof ApiError) showFieldErrors(deleteForm, err.body);
    say("delete-status", `Not deleted: ${failure(err)}`, "error");
  }
});

if (projectId) {
  api("GET", `projects/${projectId}/`).then(({ data }) => fill(data));
} else {
  labelRow();
  labelRow();
}
