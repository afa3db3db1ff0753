// Upload items from a file; a rejected file lists every row error and imports nothing.
import { api, ApiError, config, el, errorText } from "./api.js";

const $ = (id) => document.getElementById(id);
const projectId = config.projectId;

async function counts() {
  try {
    const { data } = await api("GET", `projects/${projectId}/progress/`);
    const p = data.progress;
    // `items` counts the items to label; gold items come on top (as the import counted them).
    $("item-counts").textContent = `${p.items + p.gold_items} items: ${p.items} to label `
      + `(${p.complete} complete, ${p.in_progress} in progress, ${p.open} open) `
      + `and ${p.gold_items} gold.`;
  } catch (err) {
    $("item-counts").textContent = `Could not load the counts: ${err.message}`;
  }
}

$("upload-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const file = $("upload-file").files[0];
  const status = $("upload-status");
  const tbody = $("error-table").tBodies[0];
  $("upload-errors").hidden = true;
  tbody.replaceChildren();
  if (!file) {
    status.replaceChildren(el("p", { class: "alert alert-error", text: "Choose a file first." }));
    return;
  }
  const form = new FormData();
  form.append("file", file);
  $("upload-btn").disabled = true;
  status.replaceChildren(el("p", { class: "muted", text: `Uploading ${file.name}…` }));
  try {
    const { data } = await api("POST", `projects/${projectId}/items/import/`, form);
    status.replaceChildren(el("p", { class: "alert alert-ok",
      text: `Imported ${data.created} new items from ${file.name}`
        + (data.duplicates ? ` (${data.duplicates} already present, skipped).` : ".") }));
    // Images (or zips of them): each becomes an item; a bad file refuses them all, listed by name.
$("image-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const files = [...$("image-files").files];
  const status = $("image-status");
  const tbody = $("image-error-table").tBodies[0];
  $("image-errors").hidden = true;
  tbody.replaceChildren();
  if (!files.length) {
    status.replaceChildren(el("p", { class: "alert alert-error", text: "Choose images first." }));
    return;
  }
  const form = new FormData();
  files.forEach((file) => form.append("files", file));
  $("image-btn").disabled = true;
  status.replaceChildren(el("p", { class: "muted", text: `Uploading ${files.length} file(s)…` }));
  try {
    const { data } = await api("POST", `projects/${projectId}/images/`, form);
    status.replaceChildren(el("p", { class: "alert alert-ok",
      text: `Imported ${data.created} new image items`
        + (data.duplicates ? ` (${data.duplicates} already present, skipped).` : ".") }));
    counts();
  } catch (err) {
    const rows = err instanceof ApiError ? err.body.errors : null;
    if (Array.isArray(rows)) {
      status.replaceChildren(el("p", { class: "alert alert-error",
        text: `Nothing was stored: ${rows.length} file${rows.length === 1 ? "" : "s"} `
          + "could not be used. Fix them and upload again." }));
      tbody.replaceChildren(...rows.map((r) => el("tr", {},
        el("td", { class: "mono", text: r.file }), el("td", { text: r.message }))));
      $("image-errors").hidden = false;
    } else {
      const text = err instanceof ApiError ? errorText(err.body) : err.message;
      status.replaceChildren(el("p", { class: "alert alert-error", text: `Upload failed: ${text}` }));
    }
  } finally {
    $("image-btn").disabled = false;
  }
});

counts();
  } catch (err) {
    const rows = err instanceof ApiError ? err.body.errors : null;
    if (Array.isArray(rows)) {
      const more = err.body.more_errors ? ` and ${err.body.more_errors} more` : "";
      status.replaceChildren(el("p", { class: "alert alert-error",
        text: `Nothing was imported: ${file.name} has ${rows.length}${more} `
          + `error${rows.length === 1 && !more ? "" : "s"}. Fix them and upload the file again.` }));
      tbody.replaceChildren(...rows.map((r) => el("tr", {},
        el("td", { class: "num", text: r.row }), el("td", { class: "mono", text: r.field }),
        el("td", { text: r.message }))));
      $("upload-errors").hidden = false;
    } else {
      const text = err instanceof ApiError ? errorText(err.body) : err.message;
      status.replaceChildren(el("p", { class: "alert alert-error", text: `Upload failed: ${text}` }));
    }
  } finally {
    $("upload-btn").disabled = false;
  }
});

// Images (or zips of them): each becomes an item; a bad file refuses them all, listed by name.
$("image-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const files = [...$("image-files").files];
  const status = $("image-status");
  const tbody = $("image-error-table").tBodies[0];
  $("image-errors").hidden = true;
  tbody.replaceChildren();
  if (!files.length) {
    status.replaceChildren(el("p", { class: "alert alert-error", text: "Choose images first." }));
    return;
  }
  const form = new FormData();
  files.forEach((file) => form.append("files", file));
  $("image-btn").disabled = true;
  status.replaceChildren(el("p", { class: "muted", text: `Uploading ${files.length} file(s)…` }));
  try {
    const { data } = await api("POST", `projects/${projectId}/images/`, form);
    status.replaceChildren(el("p", { class: "alert alert-ok",
      text: `Imported ${data.created} new image items`
        + (data.duplicates ? ` (${data.duplicates} already present, skipped).` : ".") }));
    counts();
  } catch (err) {
    const rows = err instanceof ApiError ? err.body.errors : null;
    if (Array.isArray(rows)) {
      status.replaceChildren(el("p", { class: "alert alert-error",
        text: `Nothing was stored: ${rows.length} file${rows.length === 1 ? "" : "s"} `
          + "could not be used. Fix them and upload again." }));
      tbody.replaceChildren(...rows.map((r) => el("tr", {},
        el("td", { class: "mono", text: r.file }), el("td", { text: r.message }))));
      $("image-errors").hidden = false;
    } else {
      const text = err instanceof ApiError ? errorText(err.body) : err.message;
      status.replaceChildren(el("p", { class: "alert alert-error", text: `Upload failed: ${text}` }));
    }
  } finally {
    $("image-btn").disabled = false;
  }
});

counts();
