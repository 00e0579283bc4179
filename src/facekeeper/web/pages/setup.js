// First run: the first account becomes the owner, and only someone who can read the server's
// start-up output (where the one-time setup code is printed) can create it.

import { session } from "../admin.js";
import { busy, errorBox, field, h } from "../dom.js";
import { pageHeader } from "../layout.js";
import { go } from "../router.js";

export async function renderSetup(view) {
  const state = await session.setupState();
  if (state.owner_exists) {
    view.append(
      pageHeader("This server already has an owner"),
      h("p", {}, "Sign-up is closed. ", h("a", { href: "#/signin" }, "Sign in"), " with your account, or ask the owner for one."),
    );
    return;
  }
  const code = h("input", {
    name: "setup_code",
    required: true,
    autocomplete: "off",
    autocapitalize: "characters",
    spellcheck: "false",
    placeholder: "XXXX-XXXX-XXXX",
  });
  const name = h("input", { name: "name", autocomplete: "name", maxlength: 100 });
  const email = h("input", { name: "email", type: "email", required: true, autocomplete: "email" });
  const password = h("input", { name: "password", type: "password", required: true, minlength: 8, maxlength: 255, autocomplete: "new-password" });
  const again = h("input", { name: "password_again", type: "password", required: true, autocomplete: "new-password" });
  const submit = h("button", { type: "submit" }, "Create owner account");
  const errors = errorBox();
  const form = h(
    "form",
    { class: "card narrow", "aria-label": "Create the owner account" },
    field("Setup code", code, "Printed in the server’s start-up output: look in the terminal where you ran “make run” (or “facekeeper serve”) for the line “No owner account yet: … sign up with the setup code …”. A new code is printed at every start."),
    field("Your name", name),
    field("Email", email),
    field("Password", password, "At least 8 characters."),
    field("Password again", again),
    errors,
    h("div", { class: "actions" }, submit),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (password.value !== again.value) {
      errors.show({ message: "The two passwords differ." });
      again.focus();
      return;
    }
    const created = await busy(submit, errors, () =>
      session.createOwner({ setup_code: code.value, email: email.value, password: password.value, name: name.value || undefined }),
    );
    if (created) go("/applications");
  });
  view.append(
    pageHeader("Welcome to Facekeeper", { subtitle: "This server has no owner yet. Create the owner account to manage applications, services and face collections." }),
    form,
  );
}
