// The Data tab's item table: filters and search (GET projects/{id}/items/), sortable
// columns, the manager's choice of columns (remembered in localStorage), keyset pages, and
// the current filter kept in the page's URL so it can be shared and survives a reload.
// Each row links to the item's story page with the filter in its query string, and has a
// checkbox: the bulk actions (data_bulk.js) act on the checked rows, or on the whole filter
// when none is checked; the table reloads when they are done ("skein:items-changed").
import { api, ApiError, config, el, errorText, formatDate } from "./api.js";

const $ = (id) => document.getElementById(id);
const projectId = config.projectId;
const form = $("item-filters");
const table = $("item-table");
const status = $("item-table-status");
const COLUMNS_KEY = `skein.itemTable.columns.${projectId}`;
const FIELD_PREFIX = "field.";
const PAGING = ["cursor", "limit"];

const text = (row) => {
  const data = row.data || {};
  const value = typeof data.text === "string" ? data.text
    : Object.values(data).find((v) => typeof v === "string") || "";
  return value.length > 140 ? `${value.slice(0, 140)}…` : value;
};
const labels = (value) => (Array.isArray(value) ? value.join(", ") : "");
const number = (value, digits = 2) => (value === null || value === undefined ? "" : Number(value).toFixed(digits));
const yes = (value) => (value === true ? "yes" : value === false ? "no" : "");

// key: the row's field; sort: the API's ordering name when the column is sortable.
const COLUMNS = [
  { key: "external_id", title: "ID", sort: "external_id", cell: (r) => r.external_id, always: true },
  { key: "text", title: "Text", cell: text },
  { key: "state", title: "State", cell: (r) => r.state },
  { key: "label", title: "Label", cell: (r) => labels(r.label) },
  { key: "agreement", title: "Agreement", num: true, cell: (r) => number(r.agreement) },
  { key: "annotation_count", title: "Answers", sort: "annotation_count", num: true, cell: (r) => r.annotation_count },
  { key: "predicted", title: "Predicted", cell: (r) => labels(r.predicted) },
  { key: "confidence", title: "Confidence", sort: "confidence", num: true, cell: (r) => number(r.confidence) },
  { key: "priority", title: "Priority", sort: "priority", num: true, cell: (r) => number(r.priority, 3) },
  { key: "reviewed", title: "Reviewed", cell: (r) => yes(r.reviewed) },
  { key: "gold", title: "Gold", cell: (r) => (r.is_gold ? labels(r.gold) || "yes" : "") },
  { key: "flags", title: "Flags", num: true, cell: (r) => (r.flags ? String(r.flags) : "") },
  { key: "duplicate_group", title: "Group", num: true, cell: (r) => r.duplicate_group ?? "" },
  { key: "created_at", title: "Created", sort: "created_at", cell: (r) => formatDate(r.created_at) },
  { key: "updated_at", title: "Last activity", sort: "updated_at", cell: (r) => formatDate(r.updated_at) },
];
const DEFAULT_COLUMNS = ["external_id", "text", "state", "label", "annotation_count", "confidence", "updated_at"];

function chosenColumns() {
  try {
    const saved = JSON.parse(localStorage.getItem(COLUMNS_KEY) || "null");
    if (Array.isArray(saved)) return new Set(saved);
  } catch { /* an unreadable choice falls back to the default */ }
  return new Set(DEFAULT_COLUMNS);
}

function saveColumns(keys) {
  localStorage.setItem(COLUMNS_KEY, JSON.stringify([...keys]));
}

// The filter as query parameters: the form's non-empty fields, the data-field pair, the
// ordering; `cursor` only when asked (a shared link starts at its page).
function formParams() {
  const params = new URLSearchParams();
  for (const [name, value] of new FormData(form)) {
    if (String(value).trim() !== "") params.set(name, String(value).trim());
  }
  const fieldName = $("f-field-name").value.trim();
  if (fieldName) params.set(`${FIELD_PREFIX}${fieldName}`, $("f-field-value").value.trim());
  const current = new URLSearchParams(window.location.search);
  if (current.get("ordering")) params.set("ordering", current.get("ordering"));
  if (current.get("limit")) params.set("limit", current.get("limit"));
  return params;
}

function fillForm(params) {
  form.reset();
  $("f-field-name").value = "";
  $("f-field-value").value = "";
  for (const [name, value] of params) {
    if (name.startsWith(FIELD_PREFIX)) {
      $("f-field-name").value = name.slice(FIELD_PREFIX.length);
      $("f-field-value").value = value;
      continue;
    }
    const input = form.elements.namedItem(name);
    if (input && "value" in input) input.value = value;
  }
}

function filterOnly(params) {
  const rest = new URLSearchParams(params);
  PAGING.forEach((name) => rest.delete(name));
  return rest;
}

let page = { next: null, previous: null };

async function load(params, { push = true } = {}) {
  const query = params.toString();
  if (push) history.pushState(null, "", `${window.location.pathname}${query ? `?${query}` : ""}`);
  status.textContent = "Loading…";
  try {
    const { data } = await api("GET", `projects/${projectId}/items/${query ? `?${query}` : ""}`);
    page = { next: data.next, previous: data.previous };
    render(data.results, filterOnly(params));
    document.dispatchEvent(new CustomEvent("skein:selection-changed"));
    status.textContent = data.results.length ? "" : "No item matches this filter.";
  } catch (err) {
    page = { next: null, previous: null };
    render([], filterOnly(params));
    const detail = err instanceof ApiError ? errorText(err.body) : err.message;
    status.textContent = `The filter was refused: ${detail}`;
  }
  $("page-next").disabled = !page.next;
  $("page-prev").disabled = !page.previous;
}

function sortHeader(column, ordering) {
  const current = ordering.replace(/^-/, "");
  const descending = ordering.startsWith("-");
  const active = current === column.sort;
  const next = active && !descending ? `-${column.sort}` : column.sort;
  const arrow = active ? (descending ? " ↓" : " ↑") : "";
  const th = el("th", { scope: "col", class: column.num ? "num" : null,
    "aria-sort": active ? (descending ? "descending" : "ascending") : null },
  el("button", { type: "button", class: "btn-link sort", dataset: { ordering: next },
    onclick: () => {
      const params = formParams();
      params.set("ordering", next);
      load(params);
    } }, column.title + arrow));
  return th;
}

function render(rows, filter) {
  const shown = chosenColumns();
  const columns = COLUMNS.filter((c) => c.always || shown.has(c.key));
  const ordering = filter.get("ordering") || "id";
  const selectPage = el("input", { type: "checkbox", id: "select-page",
    "aria-label": "Select every item on this page",
    onchange: (event) => {
      table.querySelectorAll("input.row-select").forEach((box) => { box.checked = event.target.checked; });
      document.dispatchEvent(new CustomEvent("skein:selection-changed"));
    } });
  table.tHead.rows[0].replaceChildren(el("th", { scope: "col" }, selectPage),
    ...columns.map((c) => (c.sort ? sortHeader(c, ordering)
      : el("th", { scope: "col", class: c.num ? "num" : null, text: c.title }))));
  const storyQuery = filter.toString();
  table.tBodies[0].replaceChildren(...rows.map((row) => el("tr", { dataset: { itemId: row.id } },
    el("td", {}, el("input", { type: "checkbox", class: "row-select", dataset: { itemId: row.id },
      "aria-label": `Select ${row.external_id}`,
      onchange: () => document.dispatchEvent(new CustomEvent("skein:selection-changed")) })),
    ...columns.map((c) => {
      const value = c.cell(row);
      if (c.key !== "external_id") return el("td", { class: c.num ? "num" : null, text: value });
      const href = `/projects/${projectId}/items/${row.id}/${storyQuery ? `?${storyQuery}` : ""}`;
      return el("td", {}, el("a", { href, class: "mono" }, value));
    }))));
}

function columnChooser() {
  const shown = chosenColumns();
  $("column-choices").append(...COLUMNS.filter((c) => !c.always).map((c) => el("label",
    { class: "check" },
    el("input", { type: "checkbox", dataset: { column: c.key }, checked: shown.has(c.key),
      onchange: (event) => {
        const keys = chosenColumns();
        if (event.target.checked) keys.add(c.key); else keys.delete(c.key);
        saveColumns(keys);
        load(new URLSearchParams(window.location.search), { push: false });
      } }),
    ` ${c.title}`)));
}

function options() {
  for (const select of form.querySelectorAll("select[data-labels]")) {
    select.append(...(config.labels || []).map((name) => el("option", { value: name, text: name })));
  }
  $("f-batch").append(...(config.imports || []).map((batch) => el("option",
    { value: batch.id, text: `${batch.file || "import"} · ${formatDate(batch.created_at)}` })));
  // Offer only the filters the server accepts (flags arrive with their own app).
  const accepted = new Set(config.filters || []);
  for (const input of form.querySelectorAll("[data-needs-filter]")) {
    if (!accepted.has(input.dataset.needsFilter)) input.closest(".field").hidden = true;
  }
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  load(formParams());
});
$("f-clear").addEventListener("click", () => {
  form.reset();
  $("f-field-name").value = "";
  load(new URLSearchParams());
});
$("page-next").addEventListener("click", () => {
  if (page.next) load(new URL(page.next, window.location.href).searchParams);
});
$("page-prev").addEventListener("click", () => {
  if (page.previous) load(new URL(page.previous, window.location.href).searchParams);
});
document.addEventListener("skein:items-changed", () => {
  load(new URLSearchParams(window.location.search), { push: false });
});
window.addEventListener("popstate", () => {
  const params = new URLSearchParams(window.location.search);
  fillForm(params);
  load(params, { push: false });
});

options();
columnChooser();
const initial = new URLSearchParams(window.location.search);
fillForm(initial);
load(initial, { push: false });
