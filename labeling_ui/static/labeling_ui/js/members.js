// Members: add people with a role, change roles, remove them.
import { api, ApiError, config, el, errorText, formatDate } from "./api.js";

const $ = (id) => document.getElementById(id);
const projectId = config.projectId;

function say(text, kind) {
  $("member-status").replaceChildren(el("p", { class: `alert alert-${kind}`, text }));
}

async function load() {
  const tbody = $("members").tBodies[0];
  const { data } = await api("GET", `projects/${projectId}/members/?limit=1000`);
  tbody.replaceChildren(...data.results.map((m) => el("tr", { dataset: { username: m.username } },
    el("td", { text: m.username }), el("td", {}, el("span", { class: "badge", text: m.role })),
    el("td", { text: formatDate(m.created_at) }),
    el("td", { class: "num" }, el("button", { type: "button", class: "btn btn-small btn-danger",
      "aria-label": `Remove ${m.username}`, onclick: () => remove(m.username) }, "Remove")))));
}

async function remove(username) {
  if (!window.confirm(`Remove ${username} from this project? Their open leases go back to the queue.`)) return;
  try {
    await api("DELETE", `projects/${projectId}/members/${encodeURIComponent(username)}/`);
    say(`Removed ${username}.`, "ok");
    load();
  } catch (err) {
    say(`Could not remove ${username}: ${err instanceof ApiError ? errorText(err.body) : err.message}`, "error");
  }
}

$("member-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const username = $("m-username").value.trim();
  const role = $("m-role").value;
  if (!username) { say("Enter a username.", "error"); return; }
  try {
    await api("POST", `projects/${projectId}/members/`, { username, role });
    say(`${username} is now a ${role} of this project.`, "ok");
    $("m-username").value = "";
    load();
  } catch (err) {
    say(`Not added: ${err instanceof ApiError ? errorText(err.body) : err.message}`, "error");
  }
});

load().catch((err) => say(`Could not load the members: ${err.message}`, "error"));
