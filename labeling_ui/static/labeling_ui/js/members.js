// Members: add people with a role, change roles, remove them; create accounts that join at
// once; make, list and revoke invite links.
import { api, ApiError, config, el, errorText, formatDate, showFieldErrors } from "./api.js";

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

function tell(id, text, kind) {
  $(id).replaceChildren(el("p", { class: `alert alert-${kind}`, text }));
}

$("account-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.currentTarget;
  showFieldErrors(form, {});
  const body = {
    username: form.elements.username.value.trim(),
    password: form.elements.password.value,
    email: form.elements.email.value.trim(),
    role: form.elements.role.value,
    project: projectId,
  };
  try {
    await api("POST", "users/", body);
    tell("account-status", `Created ${body.username}, now a ${body.role} of this project.`, "ok");
    form.reset();
    load();
  } catch (err) {
    if (err instanceof ApiError) showFieldErrors(form, err.body);
    tell("account-status", `Not created: ${err instanceof ApiError ? errorText(err.body) : err.message}`, "error");
  }
});

async function loadInvites() {
  const { data } = await api("GET", `projects/${projectId}/invites/?limit=100`);
  $("invites").tBodies[0].replaceChildren(...data.results.map((i) => el("tr", { dataset: { invite: i.id, state: i.state } },
    el("td", {}, el("span", { class: "badge", text: i.role })), el("td", { text: i.state }),
    el("td", { text: i.created_by || "–" }), el("td", { text: formatDate(i.expires_at) }),
    el("td", { text: i.used_by || "–" }),
    el("td", { class: "num" }, i.state === "open" ? el("button", { type: "button", class: "btn btn-small btn-danger",
      "aria-label": `Revoke invite ${i.id}`, onclick: () => revoke(i.id) }, "Revoke") : null))));
}

async function revoke(id) {
  try {
    await api("DELETE", `projects/${projectId}/invites/${id}/`);
    tell("invite-status", "Revoked: the link no longer works.", "ok");
    $("invite-link").hidden = true;
    loadInvites();
  } catch (err) {
    tell("invite-status", `Not revoked: ${err instanceof ApiError ? errorText(err.body) : err.message}`, "error");
  }
}

$("invite-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.currentTarget;
  showFieldErrors(form, {});
  const days = form.elements.expires_in_days.value.trim();
  const body = { role: form.elements.role.value, expires_in_days: days === "" ? "" : Number(days) };
  try {
    const { data } = await api("POST", `projects/${projectId}/invites/`, body);
    $("invite-url").value = data.url;
    $("invite-link").hidden = false;
    tell("invite-status", `A link for a new ${data.role}, valid until ${formatDate(data.expires_at)}.`, "ok");
    loadInvites();
  } catch (err) {
    if (err instanceof ApiError) showFieldErrors(form, err.body);
    tell("invite-status", `No link made: ${err instanceof ApiError ? errorText(err.body) : err.message}`, "error");
  }
});

load().catch((err) => say(`Could not load the members: ${err.message}`, "error"));
loadInvites().catch((err) => tell("invite-status", `Could not load the invites: ${err.message}`, "error"));
