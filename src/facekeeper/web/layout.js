// The top of every page: breadcrumbs, the heading (focused after navigation) and a line under it.

import { busy, errorBox, field, h } from "./dom.js";
import { applications } from "./admin.js";
import { SERVICE_TYPES } from "./faceapi.js";

/** crumbs: [[text, href], ...] leading to this page. */
export function pageHeader(title, { crumbs = [], subtitle, actions } = {}) {
  const trail = crumbs.length
    ? h(
        "nav",
        { "aria-label": "Breadcrumb", class: "crumbs" },
        h("ol", {}, crumbs.map(([text, href]) => h("li", {}, h("a", { href }, text))), h("li", { "aria-current": "page" }, title)),
      )
    : null;
  return h(
    "header",
    { class: "page-header" },
    trail,
    h("div", { class: "title-row" }, h("h1", { tabindex: -1 }, title), actions ? h("div", { class: "actions" }, actions) : null),
    subtitle ? h("p", { class: "subtitle" }, subtitle) : null,
  );
}

export function typeBadge(type) {
  return h("span", { class: `badge type-${type.toLowerCase()}` }, SERVICE_TYPES[type]?.title ?? type);
}

/**
 * A "Rename" button that opens a one-field form in place; `save(newName)` runs on submit and the
 * form closes when it succeeds. Errors stay visible in the form.
 */
export function renameControl(what, currentName, save) {
  const open = h("button", { type: "button", class: "secondary" }, "Rename");
  open.setAttribute("aria-label", `Rename ${what} ${currentName}`);
  const input = h("input", { name: "name", required: true, value: currentName, autocomplete: "off" });
  const submit = h("button", { type: "submit" }, "Save");
  const cancel = h("button", { type: "button", class: "secondary" }, "Cancel");
  const errors = errorBox();
  const form = h("form", { class: "rename", hidden: true, "aria-label": `Rename ${what}` }, field(`New name of ${what} ${currentName}`, input), h("div", { class: "actions" }, submit, cancel), errors);
  const close = () => {
    form.hidden = true;
    open.hidden = false;
    open.focus();
  };
  open.addEventListener("click", () => {
    form.hidden = false;
    open.hidden = true;
    input.select();
    input.focus();
  });
  cancel.addEventListener("click", close);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const saved = await busy(submit, errors, async () => {
      await save(input.value);
      return true;
    });
    if (saved) close();
  });
  return h("div", { class: "rename-control" }, open, form);
}

/** The application a service belongs to, or null for a service made by the CLI outside any application. */
export function applicationOf(service) {
  return service.application_id ? applications.get(service.application_id) : Promise.resolve(null);
}

/** Breadcrumbs from the applications list to a service's page. */
export function serviceCrumbs(app) {
  const crumbs = [["Applications", "#/applications"]];
  if (app) crumbs.push([app.name, `#/applications/${app.id}`]);
  return crumbs;
}
