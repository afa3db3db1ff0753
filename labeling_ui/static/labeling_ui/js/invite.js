// The invite page: create an account (or use the one logged in) and join the project.
import { api, ApiError, config, el, errorText, showFieldErrors } from "./api.js";

const form = document.getElementById("invite-form");

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  showFieldErrors(form, {});
  const body = {};
  for (const name of ["username", "password", "email"]) {
    if (form.elements[name]) body[name] = form.elements[name].value;
  }
  if (body.username !== undefined) body.username = body.username.trim();
  const status = document.getElementById("invite-status");
  try {
    await api("POST", `invites/${encodeURIComponent(config.token)}/accept/`, body);
    form.hidden = true;
    const next = body.username === undefined ? el("a", { href: "/" }, "Go to your projects")
      : el("a", { href: "/login/" }, "Log in with your new account");
    status.replaceChildren(el("p", { class: "alert alert-ok" }, "You have joined. ", next));
  } catch (err) {
    if (err instanceof ApiError) showFieldErrors(form, err.body);
    const text = err instanceof ApiError ? errorText(err.body) : err.message;
    status.replaceChildren(el("p", { class: "alert alert-error", text: `Not joined: ${text}` }));
  }
});
