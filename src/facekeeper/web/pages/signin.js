// Sign in with email and password; the server answers with a session cookie (HttpOnly) and a CSRF token.

import { session } from "../admin.js";
import { busy, errorBox, field, h } from "../dom.js";
import { pageHeader } from "../layout.js";
import { go } from "../router.js";

export async function renderSignIn(view) {
  if (session.current()) return go("/applications");
  const state = await session.setupState();
  if (!state.owner_exists) return go("/setup");
  const email = h("input", { name: "email", type: "email", required: true, autocomplete: "username" });
  const password = h("input", { name: "password", type: "password", required: true, autocomplete: "current-password" });
  const submit = h("button", { type: "submit" }, "Sign in");
  const errors = errorBox();
  const form = h(
    "form",
    { class: "card narrow", "aria-label": "Sign in" },
    field("Email", email),
    field("Password", password),
    errors,
    h("div", { class: "actions" }, submit),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const signedIn = await busy(submit, errors, () => session.signIn(email.value, password.value));
    if (signedIn) go("/applications");
  });
  view.append(pageHeader("Sign in"), form);
  return undefined;
}
