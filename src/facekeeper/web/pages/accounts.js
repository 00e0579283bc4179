// Every account of the server, for the global owner and administrators (§9.2): create one with a role,
// change a role, delete an account. Only what the signed-in role may do is offered; the server checks anyway.

import { accounts, session } from "../admin.js";
import { busy, confirmAction, errorBox, field, formatDate, h, replace, statusLine } from "../dom.js";
import { pageHeader } from "../layout.js";
import { go } from "../router.js";

export const MANAGERS = new Set(["OWNER", "ADMINISTRATOR"]);
const ROLE_WORDS = { OWNER: "owner", ADMINISTRATOR: "administrator", USER: "user" };

/** The roles `callerRole` may give: only the owner makes another owner (which hands ownership over). */
function grantable(callerRole) {
  return callerRole === "OWNER" ? ["USER", "ADMINISTRATOR", "OWNER"] : ["USER", "ADMINISTRATOR"];
}

function roleSelect(callerRole, selected, label) {
  return h(
    "select",
    { name: "role", "aria-label": label },
    grantable(callerRole).map((role) => h("option", { value: role, selected: role === selected }, ROLE_WORDS[role])),
  );
}

function who(account) {
  return account.name ? `${account.name} <${account.email}>` : account.email;
}

const TRANSFER = (email) =>
  `Make ${email} the owner of this server? You become an administrator, and only the new owner can undo it.`;

/**
 * The table of accounts. `refresh()` re-reads the list (and the caller's own session: a transfer of
 * ownership changes the caller's role) and draws it again.
 */
function accountTable(refresh, say, errors) {
  const me = session.current().account;

  const row = (account) => {
    const self = account.id === me.id;
    const label = who(account);
    // Nobody changes their own role (code 14); an administrator neither changes nor deletes the owner.
    const locked = self || (account.role === "OWNER" && me.role !== "OWNER");
    let roleCell = h("span", {}, ROLE_WORDS[account.role] ?? account.role, self ? " (you)" : null);
    let remove = null;
    if (!locked) {
      const select = roleSelect(me.role, account.role, `Role of ${account.email}`);
      select.addEventListener("change", async () => {
        const role = select.value;
        if (role === "OWNER" && !confirmAction(TRANSFER(account.email))) {
          select.value = account.role;
          return;
        }
        const changed = await busy(select, errors, () => accounts.setRole(account.id, role));
        select.focus(); // disabled while the request ran, which took the keyboard focus away
        if (!changed) {
          select.value = account.role;
          return;
        }
        // The row stays as it is (and keeps the keyboard focus), unless ownership was handed over.
        account.role = changed.role;
        say(`${account.email} is now ${ROLE_WORDS[changed.role]}.`);
        if (changed.role === "OWNER") await refresh();
      });
      roleCell = select;
      if (account.role !== "OWNER") {
        remove = h("button", { type: "button", class: "danger", "aria-label": `Delete account ${account.email}` }, "Delete");
        remove.addEventListener("click", async () => {
          if (!confirmAction(`Delete the account ${account.email}? They are signed out and leave every application. This cannot be undone.`)) return;
          if ((await busy(remove, errors, () => accounts.remove(account.id))) !== undefined) {
            say(`Account ${account.email} deleted.`);
            // The row goes; the focus goes to the list's heading rather than to nowhere.
            const table = remove.closest("table");
            remove.closest("tr").remove();
            table?.closest("section")?.querySelector("h2")?.focus();
          }
        });
      }
    }
    return h(
      "tr",
      { "data-account": account.email },
      h("th", { scope: "row", "data-label": "Account" }, label),
      h("td", { "data-label": "Role" }, roleCell),
      h("td", { "data-label": "Created" }, formatDate(account.created_at)),
      h("td", {}, remove),
    );
  };

  return (list) =>
    h(
      "table",
      { class: "list accounts" },
      h("caption", { class: "visually-hidden" }, "Accounts"),
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          h("th", { scope: "col" }, "Account"),
          h("th", { scope: "col" }, "Role"),
          h("th", { scope: "col" }, "Created"),
          h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, "Actions")),
        ),
      ),
      h("tbody", {}, list.map(row)),
    );
}

function createForm(onCreated) {
  const me = session.current().account;
  const email = h("input", { name: "email", type: "email", required: true, autocomplete: "off" });
  const name = h("input", { name: "name", maxlength: 100, autocomplete: "off" });
  const password = h("input", { name: "password", type: "password", required: true, minlength: 8, maxlength: 255, autocomplete: "new-password" });
  const role = roleSelect(me.role, "USER", "Role");
  const submit = h("button", { type: "submit" }, "Create account");
  const errors = errorBox();
  const form = h(
    "form",
    { class: "card inline-form", "aria-label": "New account" },
    h("h2", {}, "New account"),
    h(
      "div",
      { class: "row" },
      field("Email", email),
      field("Name (optional)", name),
      field("First password", password),
      field("Role", role),
    ),
    h(
      "p",
      { class: "hint" },
      "The first password has at least 8 characters: tell it to the person, who changes it under “Your account”. ",
      "Users see only the applications they are members of; administrators manage every application and the accounts; the owner can do everything.",
    ),
    errors,
    h("div", { class: "actions" }, submit),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (role.value === "OWNER" && !confirmAction(TRANSFER(email.value))) return;
    const body = { email: email.value, password: password.value, role: role.value, name: name.value || undefined };
    const created = await busy(submit, errors, () => accounts.create(body));
    if (!created) return;
    form.reset();
    await onCreated(created);
    email.focus();
  });
  return form;
}

export async function renderAccounts(view) {
  // The role may have changed since sign-in (a transfer, another administrator's change).
  if (!(await session.load())) return go("/signin");
  const me = session.current().account;
  if (!MANAGERS.has(me.role)) {
    view.append(
      pageHeader("Accounts"),
      h("p", {}, "Only the owner and administrators of this server manage accounts. ", h("a", { href: "#/account" }, "Your account"), " is where you change your password."),
    );
    return undefined;
  }
  const errors = errorBox();
  const done = statusLine();
  const area = h("div", { class: "accounts-area" });
  const refresh = async () => {
    await session.load();
    // Handing ownership over makes the caller an administrator: draw the page again for that role.
    if (session.current()?.account.role !== me.role) return go(location.hash.slice(1));
    replace(area, accountTable(refresh, done.say, errors)(await accounts.list()));
    return undefined;
  };
  const form = createForm(async (created) => {
    done.say(`Account ${created.email} created as ${ROLE_WORDS[created.role]}.`);
    await refresh();
  });
  await refresh();
  view.append(
    pageHeader("Accounts", {
      subtitle: "Everyone who can sign in to this server. Give them access to an application on its page, under Members.",
    }),
    form,
    h("section", { "aria-labelledby": "accounts-heading", class: "card" }, h("h2", { id: "accounts-heading", tabindex: -1 }, "All accounts"), done, errors, area),
  );
  return undefined;
}
