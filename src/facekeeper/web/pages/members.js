// Who may use an application, with which role; its owner adds, changes and removes members.

import { members } from "../admin.js";
import { busy, confirmAction, errorBox, field, h } from "../dom.js";
import { go } from "../router.js";

const ROLES = ["OWNER", "ADMINISTRATOR", "USER"];
const reload = () => go(location.hash.slice(1));

function roleSelect(name, selected, label) {
  return h(
    "select",
    { name, "aria-label": label },
    ROLES.map((role) => h("option", { value: role, selected: role === selected }, role.toLowerCase())),
  );
}

function memberRow(app, member, errors) {
  const who = member.name ? `${member.name} <${member.email}>` : member.email;
  // The owner member can neither leave nor change their own role (the server says so too).
  if (app.role !== "OWNER" || member.role === "OWNER") {
    return h("tr", {}, h("th", { scope: "row", "data-label": "Member" }, who), h("td", { "data-label": "Role" }, member.role.toLowerCase()), h("td"));
  }
  const role = roleSelect("role", member.role, `Role of ${member.email}`);
  role.addEventListener("change", async () => {
    if ((await busy(role, errors, () => members.setRole(app.id, member.account_id, role.value))) !== undefined) reload();
  });
  const remove = h("button", { type: "button", class: "danger", "aria-label": `Remove ${member.email}` }, "Remove");
  remove.addEventListener("click", async () => {
    if (!confirmAction(`Remove ${member.email} from ${app.name}? They lose access at once.`)) return;
    if ((await busy(remove, errors, () => members.remove(app.id, member.account_id))) !== undefined) reload();
  });
  return h("tr", {}, h("th", { scope: "row", "data-label": "Member" }, who), h("td", { "data-label": "Role" }, role), h("td", {}, remove));
}

function addMemberForm(app) {
  const email = h("input", { name: "email", type: "email", required: true, autocomplete: "off" });
  const role = roleSelect("role", "USER", "Role");
  const submit = h("button", { type: "submit" }, "Add member");
  const errors = errorBox();
  const form = h(
    "form",
    { class: "inline-form", "aria-label": "Add a member" },
    h("div", { class: "row" }, field("Email of an existing account", email), field("Role", role), submit),
    h(
      "p",
      { class: "hint" },
      "The server’s owner and administrators make accounts on the ",
      h("a", { href: "#/accounts" }, "Accounts"),
      " page (or with “facekeeper admin accounts create --email …”).",
    ),
    errors,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (await busy(submit, errors, () => members.add(app.id, email.value, role.value))) reload();
  });
  return form;
}

export async function membersSection(app) {
  const list = await members.list(app.id);
  const errors = errorBox();
  return h(
    "section",
    { "aria-labelledby": "members-heading", class: "card" },
    h("h2", { id: "members-heading" }, "Members"),
    h(
      "table",
      { class: "list" },
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Member"), h("th", { scope: "col" }, "Role"), h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, "Actions")))),
      h("tbody", {}, list.map((member) => memberRow(app, member, errors))),
    ),
    errors,
    app.role === "OWNER" ? addMemberForm(app) : null,
  );
}
