// Upload items from a file, or images (each becomes an item); a rejected upload lists every
// error (by row, or by file name for images) and imports nothing.
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

const plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;

// One upload form: `prefix` names its elements (`${prefix}-status`, `-errors`, `-btn`,
// `-error-table`); `files` picks what to send; `done` and `refused` word the outcome;
// `cells` draws one error row.
function uploadForm({ form, input, prefix, table, path, field, what, done, refused, cells }) {
  $(form).addEventListener("submit", async (event) => {
    event.preventDefault();
    const files = [...$(input).files];
    const status = $(`${prefix}-status`);
    const tbody = $(table).tBodies[0];
    $(`${prefix}-errors`).hidden = true;
    tbody.replaceChildren();
    if (!files.length) {
      status.replaceChildren(el("p", { class: "alert alert-error", text: `Choose ${what} first.` }));
      return;
    }
    const body = new FormData();
    files.forEach((file) => body.append(field, file));
    const names = files.map((file) => file.name).join(", ");
    $(`${prefix}-btn`).disabled = true;
    status.replaceChildren(el("p", { class: "muted", text: `Uploading ${names}…` }));
    try {
      const { data } = await api("POST", `projects/${projectId}/${path}`, body);
      status.replaceChildren(el("p", { class: "alert alert-ok", text: done(data, names)
        + (data.duplicates ? ` (${data.duplicates} already present, skipped).` : ".") }));
      counts();
    } catch (err) {
      const rows = err instanceof ApiError ? err.body.errors : null;
      if (Array.isArray(rows)) {
        status.replaceChildren(el("p", { class: "alert alert-error",
          text: refused(rows.length, err.body.more_errors, names) }));
        tbody.replaceChildren(...rows.map((r) => el("tr", {}, ...cells(r))));
        $(`${prefix}-errors`).hidden = false;
      } else {
        const text = err instanceof ApiError ? errorText(err.body) : err.message;
        status.replaceChildren(el("p", { class: "alert alert-error", text: `Upload failed: ${text}` }));
      }
    } finally {
      $(`${prefix}-btn`).disabled = false;
    }
  });
}

uploadForm({
  form: "upload-form", input: "upload-file", prefix: "upload", table: "error-table",
  path: "items/import/", field: "file", what: "a file",
  done: (data, name) => `Imported ${data.created} new items from ${name}`,
  refused: (n, more, name) => {
    const errors = more ? `${n} and ${more} more errors` : plural(n, "error");
    return `Nothing was imported: ${name} has ${errors}. Fix them and upload the file again.`;
  },
  cells: (r) => [el("td", { class: "num", text: r.row }), el("td", { class: "mono", text: r.field }),
    el("td", { text: r.message })],
});

uploadForm({
  form: "image-form", input: "image-files", prefix: "image", table: "image-error-table",
  path: "images/", field: "files", what: "images",
  done: (data) => `Imported ${data.created} new image items`,
  refused: (n, more) => `Nothing was stored: ${plural(n, "file")}${more ? ` and ${more} more` : ""} `
    + "could not be used. Fix them and upload again.",
  cells: (r) => [el("td", { class: "mono", text: r.file }), el("td", { text: r.message })],
});

counts();
