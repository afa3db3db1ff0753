// Guideline editor: Markdown with a server-rendered (sanitised) preview; publish; who read what.
import { api, ApiError, config, el, errorText, formatDate } from "./api.js";

const $ = (id) => document.getElementById(id);
const projectId = config.projectId;
const textarea = $("guideline-body");
let previewTimer = null;

async function preview() {
  try {
    const { data } = await api("POST", `projects/${projectId}/guideline/preview/`,
      { body: textarea.value }, { prefix: "/" });
    // Rendered by annotation.rendering.render_markdown: Markdown, then sanitised with nh3.
    $("guideline-preview").innerHTML = data.html;
  } catch (err) {
    $("guideline-preview").replaceChildren(el("p", { class: "alert alert-error",
      text: `No preview: ${err.message}` }));
  }
}

async function acks() {
  const tbody = $("acks").tBodies[0];
  try {
    const [{ data: members }, { data: read }] = await Promise.all([
      api("GET", `projects/${projectId}/members/?limit=1000`),
      api("GET", `projects/${projectId}/guidelines/acks/`),
    ]);
    const latest = new Map();
    for (const ack of read.results) {
      const seen = latest.get(ack.username);
      if (!seen || ack.version > seen.version) latest.set(ack.username, ack);
    }
    const current = Math.max(0, ...read.results.map((a) => a.version), config.currentVersion || 0);
    tbody.replaceChildren(...members.results.map((m) => {
      const ack = latest.get(m.username);
      const upToDate = ack && ack.version >= current;
      return el("tr", {}, el("td", { text: m.username }), el("td", { text: m.role }),
        el("td", {}, ack ? el("span", { class: upToDate ? "badge badge-ok" : "badge badge-warn",
          text: `version ${ack.version}` }) : el("span", { class: "muted", text: "none" })),
        el("td", { text: ack ? formatDate(ack.acknowledged_at) : "–" }));
    }));
  } catch (err) {
    tbody.replaceChildren(el("tr", {}, el("td", { colspan: 4, text: `Could not load: ${err.message}` })));
  }
}

textarea.addEventListener("input", () => {
  clearTimeout(previewTimer);
  previewTimer = setTimeout(preview, 250);
});

$("guideline-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const status = $("guideline-status");
  $("publish-btn").disabled = true;
  try {
    const { status: code, data } = await api("POST", `projects/${projectId}/guidelines/`,
      { body: textarea.value });
    config.currentVersion = data.version;
    $("current-version").textContent = `— version ${data.version} is current`;
    // 200, not 201: the text is the current version's, so nothing new was published.
    status.replaceChildren(el("p", { class: code === 201 ? "alert alert-ok" : "alert alert-info",
      text: code === 201
        ? `Published version ${data.version}. Labelers will be asked to read it before their next item.`
        : `Nothing changed: this is the text of version ${data.version}, so no new version was `
          + "published and nobody has to read it again." }));
    acks();
  } catch (err) {
    const text = err instanceof ApiError ? errorText(err.body) : err.message;
    status.replaceChildren(el("p", { class: "alert alert-error", text: `Not published: ${text}` }));
  } finally {
    $("publish-btn").disabled = false;
  }
});

preview();
acks();
