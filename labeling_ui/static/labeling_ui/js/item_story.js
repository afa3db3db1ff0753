// One item's story: its data, outcome, annotations with provenance, flags, skips, comments,
// model predictions and audit, from GET items/{id}/; j/k (or the arrows) move to the next or
// previous item of the list the manager came from (its query string rides along), u goes back
// to it, c writes a comment. Everything from the API is written as text (el / renderItem).
import { api, config, el, errorText, formatDate } from "./api.js";
import { renderItem } from "./item_render.js";

const $ = (id) => document.getElementById(id);
const projectId = config.projectId;
const query = config.query ? `?${config.query}` : "";

function itemUrl(id) { return `/projects/${projectId}/items/${id}/${query}`; }

function fillList(list, rows, emptyText, line) {
  list.replaceChildren(...(rows.length ? rows.map((row) => el("li", {}, ...line(row)))
    : [el("li", { class: "muted", text: emptyText })]));
}

function fillTable(table, rows, emptyText, cells) {
  const body = table.tBodies[0];
  if (!rows.length) {
    body.replaceChildren(el("tr", { class: "empty-row" }, el("td", {
      colspan: table.querySelectorAll("thead th").length, text: emptyText })));
    return;
  }
  body.replaceChildren(...rows.map((row) => el("tr", {}, ...cells(row))));
}

function suggestionText(s) {
  if (!s) return "–";
  const what = `${(s.labels || []).join(", ")} (model ${s.model_version ?? "?"})`;
  if (s.shown === false) return `hidden: ${what}`;
  return s.shown === true ? `shown: ${what}` : what;
}

function fact(term, value) {
  return [el("dt", { text: term }), el("dd", { text: value })];
}

function render(story) {
  $("story-data").replaceChildren(renderItem(story.data));
  $("story-meta").textContent = `#${story.id} · ${story.state} · ${story.annotation_count} `
    + `annotation${story.annotation_count === 1 ? "" : "s"} · imported ${formatDate(story.created_at)}`
    + (story.data_erased ? " · data erased" : "");
  const review = story.review;
  $("story-facts").replaceChildren(
    ...fact("Gold answer", story.gold ? story.gold.join(", ") : "–"),
    ...fact("Review decision", review ? `${review.labels.join(", ")} by ${review.reviewer}`
      + ` (${formatDate(review.created_at)})${review.note ? `: ${review.note}` : ""}` : "–"),
    ...fact("Possible label error", (story.label_errors || []).map((e) => `model v${e.model_version}`
      + ` suggests ${e.suggested} (rank ${e.rank})`).join("; ") || "–"),
    ...(config.manager ? fact("Priority", story.priority ?? "–") : []),
  );
  fillTable($("story-annotations"), story.annotations, "No annotations yet.", (a) => [
    el("td", { text: a.annotator }), el("td", { text: a.labels.join(", ") }),
    el("td", { text: formatDate(a.created_at) }),
    el("td", { text: a.guideline_version ? `v${a.guideline_version}` : "–" }),
    el("td", { class: "num", text: a.duration_ms === null ? "–" : (a.duration_ms / 1000).toFixed(1) }),
    el("td", { text: suggestionText(a.suggestion) }),
    el("td", { text: a.counts ? "yes" : "no (qualifying)" }),
  ]);
  fillList($("story-flags"), story.flags, "No flags.", (f) => [
    el("strong", { text: f.reason.replace("_", " ") }), ` by ${f.user}`,
    f.guideline_version ? ` under v${f.guideline_version}` : "", ` · ${formatDate(f.created_at)}`,
    f.comment ? `: ${f.comment}` : "", f.resolved_at ? " (resolved)" : "",
  ]);
  fillList($("story-skips"), story.skips, "No skips.", (s) => [
    el("strong", { text: "skipped" }), ` by ${s.user} · ${formatDate(s.at)}`,
    s.reason ? `: ${s.reason}` : "",
  ]);
  fillList($("story-comments"), story.comments, "No comments.", (c) => [
    el("strong", { text: c.author }), ` · ${formatDate(c.created_at)}: `, c.body,
  ]);
  fillTable($("story-predictions"), story.predictions, config.manager
    ? "No predictions." : "Model predictions are shown to managers.", (p) => [
    el("td", { text: `${p.source} ${p.model_version}${p.current ? " (current)" : ""}` }),
    el("td", { text: (p.labels || []).join(", ") }),
    el("td", { class: "num", text: p.score === null || p.score === undefined ? "–" : p.score.toFixed(2) }),
    el("td", { text: formatDate(p.at) }),
  ]);
  fillList($("story-audit"), story.audit, config.manager
    ? "No changes recorded." : "The audit is shown to managers.", (e) => [
    el("strong", { text: e.action }), ` by ${e.actor ?? "the system"} · ${formatDate(e.at)}`,
  ]);
}

async function load() {
  try {
    const { data } = await api("GET", `items/${config.itemId}/`);
    $("story-error").hidden = true;
    render(data);
  } catch (err) {
    $("story-error").textContent = `Could not load the item: ${err.message}`;
    $("story-error").hidden = false;
  }
}

async function comment(event) {
  event.preventDefault();
  const body = $("comment-body").value;
  try {
    await api("POST", `items/${config.itemId}/comments/`, { body });
    $("comment-body").value = "";
    $("comment-error").hidden = true;
    await load();
  } catch (err) {
    $("comment-error").textContent = errorText(err.body) || err.message;
    $("comment-error").hidden = false;
  }
}

function go(id) { if (id) window.location.assign(itemUrl(id)); }

function onKey(event) {
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  if (event.target instanceof HTMLElement && event.target.closest("input, textarea, select")) {
    if (event.key === "Escape") event.target.blur();
    return;
  }
  const key = event.key.length === 1 ? event.key.toLowerCase() : event.key;
  if (key === "j" || key === "ArrowRight") { event.preventDefault(); go(config.next); }
  else if (key === "k" || key === "ArrowLeft") { event.preventDefault(); go(config.previous); }
  else if (key === "u") { event.preventDefault(); window.location.assign($("story-list").href); }
  else if (key === "c") { event.preventDefault(); $("comment-body").focus(); }
}

for (const [id, target] of [["story-prev", config.previous], ["story-next", config.next]]) {
  if (target) { $(id).href = itemUrl(target); $(id).hidden = false; }
}
document.addEventListener("keydown", onKey);
$("comment-form").addEventListener("submit", comment);
load();
