// The signed-in account: who it is, a new password (everyone), and deleting it (everyone but the owner).

import { session } from "../admin.js";
import { busy, confirmAction, errorBox, field, formatDate, h, statusLine } from "../dom.js";
import { pageHeader } from "../layout.js";
import { go } from "../router.js";

const ROLE_WORDS = { OWNER: "owner", ADMINISTRATOR: "administrator", USER: "user" };

function details(current) {
  const { account } = current;
  const row = (term, value) => [h("dt", {}, term), h("dd", {}, value)];
  return h(
    "dl",
    { class: "details" },
    row("Email", account.email),
    account.name ? row("Name", account.name) : null,
    row("Role on this server", ROLE_WORDS[account.role] ?? account.role),
    row("Signed in until", formatDate(current.expires_at)),
  );
}

function passwordForm() {
  const email = session.current().account.email;
  // The email lets password managers file the new password under the right account.
  const username = h("input", { type: "email", name: "username", value: email, autocomplete: "username", hidden: true, readonly: true });
  const old = h("input", { name: "old_password", type: "password", required: true, autocomplete: "current-password" });
  const fresh = h("input", { name: "new_password", type: "password", required: true, minlength: 8, maxlength: 255, autocomplete: "new-password" });
  const again = h("input", { name: "new_password_again", type: "password", required: true, autocomplete: "new-password" });
  const submit = h("button", { type: "submit" }, "Change password");
  const errors = errorBox();
  const done = statusLine();
  const form = h(
    "form",
    { class: "card narrow", "aria-labelledby": "password-heading" },
    h("h2", { id: "password-heading" }, "Change password"),
    username,
    field("Current password", old),
    field("New password", fresh, "At least 8 characters. You stay signed in here; every other browser signed in to this account is signed out."),
    field("New password again", again),
    errors,
    done,
    h("div", { class: "actions" }, submit),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    done.say("");
    if (fresh.value !== again.value) {
      errors.show({ message: "The two new passwords differ." });
      again.focus();
      return;
    }
    const changed = await busy(submit, errors, () => session.changePassword(old.value, fresh.value));
    if (changed) {
      old.value = "";
      fresh.value = "";
      again.value = "";
      done.say("Password changed. Other browsers signed in to this account have been signed out.");
    } else {
      old.focus();
    }
  });
  return form;
}

function deleteSection(current) {
  if (current.account.role === "OWNER") {
    return h(
      "section",
      { class: "card narrow", "aria-labelledby": "delete-heading" },
      h("h2", { id: "delete-heading" }, "Delete your account"),
      h("p", { class: "hint" }, "The owner’s account cannot be deleted. Make another account the owner first (under Accounts); you then become an administrator."),
    );
  }
  const errors = errorBox();
  const remove = h("button", { type: "button", class: "danger" }, "Delete my account");
  remove.addEventListener("click", async () => {
    if (!confirmAction(`Delete your account ${current.account.email}? You are signed out and lose access to every application. This cannot be undone.`)) return;
    if ((await busy(remove, errors, () => session.deleteOwnAccount())) !== undefined) go("/signin");
  });
  return h(
    "section",
    { class: "card narrow", "aria-labelledby": "delete-heading" },
    h("h2", { id: "delete-heading" }, "Delete your account"),
    h("p", { class: "hint" }, "You leave every application you are a member of."),
    errors,
    h("div", { class: "actions" }, remove),
  );
}

export async function renderAccount(view) {
  const current = await session.load();
  if (!current) return go("/signin");
  view.append(
    pageHeader("Your account"),
    h("section", { class: "card narrow", "aria-label": "Account details" }, details(current)),
    passwordForm(),
    deleteSection(current),
  );
  return undefined;
}
