// Applications the signed-in account can see, and (for the global owner and administrators) a form to add one.

import { applications, session } from "../admin.js";
import { busy, errorBox, field, formatDate, h } from "../dom.js";
import { pageHeader } from "../layout.js";
import { go } from "../router.js";

const CREATORS = new Set(["OWNER", "ADMINISTRATOR"]);

function createForm() {
  const name = h("input", { name: "name", required: true, maxlength: 50, autocomplete: "off" });
  const submit = h("button", { type: "submit" }, "Create application");
  const errors = errorBox();
  const form = h(
    "form",
    { class: "card inline-form", "aria-label": "New application" },
    h("h2", {}, "New application"),
    h("div", { class: "row" }, field("Name", name), submit),
    errors,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const created = await busy(submit, errors, () => applications.create(name.value));
    if (created) go(`/applications/${created.id}`);
  });
  return form;
}

function applicationTable(list, canCreate) {
  if (!list.length) {
    return h(
      "p",
      { class: "empty" },
      canCreate
        ? "No applications yet. An application holds services: create one to get API keys."
        : "No applications yet: ask the owner of an application to add you as a member.",
    );
  }
  return h(
    "table",
    { class: "list" },
    h("caption", { class: "visually-hidden" }, "Applications"),
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Name"), h("th", { scope: "col" }, "Your role"), h("th", { scope: "col" }, "Services"), h("th", { scope: "col" }, "Created"))),
    h(
      "tbody",
      {},
      list.map((app) =>
        h(
          "tr",
          {},
          h("th", { scope: "row", "data-label": "Name" }, h("a", { href: `#/applications/${app.id}` }, app.name)),
          h("td", { "data-label": "Your role" }, app.role.toLowerCase()),
          h("td", { "data-label": "Services" }, String(app.service_count)),
          h("td", { "data-label": "Created" }, formatDate(app.created_at)),
        ),
      ),
    ),
  );
}

export async function renderApplications(view) {
  const list = await applications.list();
  const canCreate = CREATORS.has(session.current().account.role);
  view.append(
    pageHeader("Applications", { subtitle: "An application groups services; each service has its own API key." }),
    canCreate ? createForm() : null,
    h("section", { "aria-label": "Your applications" }, applicationTable(list, canCreate)),
  );
}
