// Shared helpers: the v1 API over the session (with the CSRF header), safe DOM building, toasts.

export const config = JSON.parse(document.getElementById("skein-config")?.textContent || "{}");
const csrfToken = document.querySelector('meta[name="csrf-token"]')?.content || "";

export class ApiError extends Error {
  constructor(status, body) {
    super(errorText(body) || `HTTP ${status}`);
    this.status = status;
    this.body = body || {};
  }
}

// Calls /api/v1/<path>. A network failure throws a TypeError; an HTTP error an ApiError.
export async function api(method, path, body, { prefix = "/api/v1/" } = {}) {
  const headers = { "X-CSRFToken": csrfToken, Accept: "application/json" };
  const init = { method, headers, credentials: "same-origin" };
  if (body instanceof FormData) {
    init.body = body;
  } else if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(prefix + path, init);
  let data = null;
  if (response.status !== 204) {
    const text = await response.text();
    try {
      data = text ? JSON.parse(text) : null;
    } catch {
      data = { detail: text.slice(0, 300) };
    }
  }
  if (!response.ok) throw new ApiError(response.status, data);
  return { status: response.status, data, headers: response.headers };
}

// {"field": ["message", ...]} -> "field: message; ..." ("detail" is shown bare).
export function errorText(body) {
  if (!body || typeof body !== "object") return body ? String(body) : "";
  const parts = [];
  for (const [field, value] of Object.entries(body)) {
    if (field === "guideline_version") continue;
    const messages = Array.isArray(value) ? value : [value];
    const text = messages.map((m) => (typeof m === "object" ? JSON.stringify(m) : String(m)));
    parts.push(field === "detail" || field === "non_field_errors" ? text.join(" ")
      : `${field}: ${text.join(" ")}`);
  }
  return parts.join("; ");
}

// Element builder: every string child becomes a text node, never HTML.
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(node.dataset, value);
    // Through the CSSOM: a style attribute would be refused by the CSP (config/csp.py).
    else if (key === "style") node.style.cssText = value;
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

let toastTimer = null;
export function toast(message, kind = "info") {
  const box = document.getElementById("toast");
  if (!box) return;
  box.textContent = message;
  box.dataset.kind = kind;
  box.classList.add("show");
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => box.classList.remove("show"), kind === "error" ? 8000 : 3000);
}

export function clientId() {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export function formatDate(iso) {
  if (!iso) return "–";
  const d = new Date(iso);
  return d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

// Fields with their messages next to the inputs: {"field": ["..."]} -> .field-error nodes.
export function showFieldErrors(form, body) {
  form.querySelectorAll(".field-error").forEach((n) => n.remove());
  form.querySelectorAll("[aria-invalid]").forEach((n) => n.removeAttribute("aria-invalid"));
  const rest = {};
  for (const [field, messages] of Object.entries(body || {})) {
    const input = form.querySelector(`[name="${CSS.escape(field)}"]`);
    if (!input) { rest[field] = messages; continue; }
    input.setAttribute("aria-invalid", "true");
    const id = `err-${field}`;
    input.setAttribute("aria-describedby", id);
    const text = (Array.isArray(messages) ? messages : [messages]).join(" ");
    input.closest(".field")?.append(el("p", { class: "field-error", id, text }));
  }
  return rest;
}
