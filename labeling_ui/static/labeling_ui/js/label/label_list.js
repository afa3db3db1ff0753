// The label list for long schemas: type-ahead filtering (`/` focuses the box; name,
// description and group name match), narrowing to a group or to the labels whose two-key
// shortcut starts with the key just pressed, and the first match that Enter picks. It only
// toggles `hidden` on the buttons the server rendered, so it stays fast with hundreds.
import { config } from "../api.js";
import { chooseLabel, confirmMulti, multi } from "../label.js";

const byName = new Map(config.labels.map((l) => [l.name, l]));
const filterBox = document.getElementById("label-filter");
const narrowNote = document.getElementById("label-narrow");
const labelsBox = document.getElementById("labels");
// A label is found by its name, its description, and its group's name and description.
const answers = [...document.querySelectorAll("#labels .label-btn")].map((button) => {
  const label = byName.get(button.dataset.label) || {};
  const group = byName.get(label.parent) || {};
  const text = [label.name, label.description, group.name, group.description]
    .filter(Boolean).join("\n");
  return { button, name: button.dataset.label, key: button.dataset.key || "",
    parent: button.dataset.parent || null, haystack: text.toLowerCase() };
});
const groups = [...document.querySelectorAll("#labels .label-group")]
  .map((node) => ({ node, name: node.dataset.group }));

// What narrows the list: the filter's text, a first key pressed, or a group chosen; `pending`
// is the first key of a sequence the keyboard waits to complete (cleared with the view, so a
// click or a new item never leaves a half sequence behind).
const view = { text: "", prefix: "", group: null, pending: "" };
let first = null;

export function pendingKey() { return view.pending; }

export function isNarrowed() { return Boolean(view.text || view.prefix || view.group !== null); }

function render() {
  const query = view.text.trim().toLowerCase();
  const shownGroups = new Set();
  let match = null;
  let count = 0;
  for (const answer of answers) {
    let on = true;
    if (view.group !== null) on = answer.parent === view.group;
    else if (view.prefix) on = answer.key.startsWith(view.prefix);
    if (on && query) on = answer.haystack.includes(query);
    if (answer.button.hidden === on) answer.button.hidden = !on;
    if (!on) continue;
    count += 1;
    match ??= answer;
    if (answer.parent) shownGroups.add(answer.parent);
  }
  for (const group of groups) {
    const on = shownGroups.has(group.name);
    if (group.node.hidden === on) group.node.hidden = !on;
    group.node.classList.toggle("open", view.group === group.name);
  }
  // While a first key waits for its second, the buttons grey out the key already pressed.
  labelsBox.classList.toggle("key-pending", Boolean(view.pending));
  const next = isNarrowed() ? match : null;
  if (first !== next) {
    first?.button.classList.remove("first-match");
    next?.button.classList.add("first-match");
    first = next;
  }
  narrowNote.textContent = !isNarrowed() ? ""
    : `${count} of ${answers.length}`
      + (view.group !== null ? ` in ${view.group}` : "")
      + (view.pending ? ` — ${view.pending} pressed, now the second key` : "")
      + (count ? (query ? " — Enter picks the first" : "") : " — no label matches")
      + " — Esc shows all";
}

// A first key was pressed: show the labels it starts, or the group it is the key of.
export function narrowTo({ prefix = "", group = null, pending = "" }) {
  view.prefix = prefix;
  view.group = group;
  view.pending = pending;
  render();
}

export function resetLabelView() {
  view.pending = "";
  if (!isNarrowed() && !filterBox.value) return;
  view.text = "";
  view.prefix = "";
  view.group = null;
  filterBox.value = "";
  render();
}

export function focusFilter() {
  filterBox.focus();
  filterBox.select();
}

filterBox.addEventListener("input", () => {
  view.text = filterBox.value;
  view.prefix = "";
  view.pending = "";
  render();
});

filterBox.addEventListener("keydown", (event) => {
  if (event.key === "Escape") {
    event.preventDefault();
    event.stopPropagation();
    resetLabelView();
    filterBox.blur();  // the page's keys work again
  } else if (event.key === "Enter") {
    event.preventDefault();
    event.stopPropagation();
    if (!filterBox.value.trim()) {
      if (multi) { filterBox.blur(); confirmMulti(event.timeStamp); }
      return;
    }
    if (!first) return;
    const { name } = first;
    if (multi) {
      chooseLabel(name, event.timeStamp);  // toggles; type the next one, or Enter to submit
      view.text = "";
      filterBox.value = "";
      render();
    } else {
      resetLabelView();
      filterBox.blur();
      chooseLabel(name, event.timeStamp);
    }
  }
});

for (const group of groups) {
  group.node.querySelector(".label-group-btn").addEventListener("click", () => {
    // No key pending: the labeler then types a label's whole shortcut, as its button shows.
    if (view.group === group.name) resetLabelView();
    else narrowTo({ group: group.name });
  });
}
