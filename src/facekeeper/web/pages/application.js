// One application: its services with their API keys (copyable), and for its managers the forms to
// add, rename, re-key and delete services; for its owner, rename, delete and members.

import { applications, services } from "../admin.js";
import { busy, confirmAction, copyButton, errorBox, field, formatDate, h, replace, s, statusLine } from "../dom.js";
import { SERVICE_TYPES } from "../faceapi.js";
import { pageHeader, renameControl, typeBadge } from "../layout.js";
import { go } from "../router.js";
import { membersSection } from "./members.js";

const reload = () => go(location.hash.slice(1));

function keyLine(service) {
  const code = h("code", { class: "key", id: `key-${service.id}` }, service.api_key);
  return h(
    "div",
    { class: "key-line" },
    h("span", { class: "key-label", id: `key-label-${service.id}` }, "API key"),
    code,
    copyButton(() => code.textContent, `API key of ${service.name}`),
    h("small", { class: "hint key-hint" }, "Clients send it in the x-api-key header."),
  );
}

function serviceActions(service, canManage) {
  const links = h(
    "div",
    { class: "links" },
    service.type === "RECOGNITION"
      ? h("a", { class: "button", href: `#/services/${service.id}/collection`, "aria-label": `Collection of ${service.name}` }, "Collection")
      : null,
    service.type === "RECOGNITION"
      ? h("a", { class: "button", href: `#/services/${service.id}/embedder`, "aria-label": `Embedder of ${service.name}` }, "Embedder")
      : null,
    h("a", { class: "button", href: `#/services/${service.id}/test`, "aria-label": `Test ${service.name}` }, "Test"),
  );
  if (!canManage) return links;
  const errors = errorBox();
  const done = statusLine();
  const regenerate = h("button", { type: "button", class: "secondary", "aria-label": `New API key for ${service.name}` }, "New key");
  regenerate.addEventListener("click", async () => {
    if (!confirmAction(`Give ${service.name} a new API key? The current key stops working at once.`)) return;
    if (await busy(regenerate, errors, () => services.regenerateKey(service.id))) reload();
  });
  const remove = h("button", { type: "button", class: "danger", "aria-label": `Delete ${service.name}` }, "Delete");
  remove.addEventListener("click", async () => {
    const what = service.type === "RECOGNITION" ? " and its whole face collection" : "";
    if (!confirmAction(`Delete the service ${service.name}${what}? This cannot be undone.`)) return;
    if ((await busy(remove, errors, () => services.remove(service.id))) !== undefined) reload();
  });
  const rename = renameControl("service", service.name, async (name) => {
    await services.rename(service.id, name);
    done.say("Renamed");
    reload();
  });
  return h("div", {}, links, h("div", { class: "manage" }, rename, regenerate, remove), errors, done);
}

const USAGE_DAYS = 30;

/**
 * Requests per day over the last month: the total in words, and a bar per day (its count in the
 * tooltip and in the bar's title for screen readers). Filled in when the counts arrive.
 */
function usage(service) {
  const box = h("div", { class: "usage" }, h("span", { class: "meta" }, "Requests: …"));
  services
    .stats(service.id, USAGE_DAYS)
    .then((stats) => {
      const most = Math.max(1, ...stats.days.map((day) => day.requests));
      const bars = s(
        "svg",
        { class: "usage-bars", viewBox: `0 0 ${stats.days.length * 4} 20`, preserveAspectRatio: "none", "aria-hidden": "true" },
        stats.days.map((day, i) => {
          const tall = day.requests ? Math.max(1.5, (day.requests / most) * 20) : 0.5;
          return s("rect", { x: i * 4, y: 20 - tall, width: 3, height: tall }, s("title", {}, `${day.date}: ${day.requests}`));
        }),
      );
      const words = `${stats.total.toLocaleString()} ${stats.total === 1 ? "request" : "requests"} in the last ${stats.days.length} days`;
      replace(box, h("span", { class: "meta" }, words), stats.total ? bars : null);
    })
    .catch(() => replace(box));
  return box;
}

function serviceCard(service, canManage) {
  return h(
    "li",
    { class: "card service", "data-service": service.name },
    h("div", { class: "title-row" }, h("h3", {}, service.name), typeBadge(service.type)),
    keyLine(service),
    h(
      "p",
      { class: "meta" },
      `Created ${formatDate(service.created_at)}`,
      service.type === "RECOGNITION" ? ` · ${service.example_count} example${service.example_count === 1 ? "" : "s"} · embedder ${service.embedder}` : null,
    ),
    usage(service),
    serviceActions(service, canManage),
  );
}

function createServiceForm(app) {
  const name = h("input", { name: "name", required: true, maxlength: 50, autocomplete: "off" });
  const type = h(
    "select",
    { name: "type" },
    Object.entries(SERVICE_TYPES).map(([value, spec]) => h("option", { value }, spec.title)),
  );
  const submit = h("button", { type: "submit" }, "Create service");
  const errors = errorBox();
  const form = h(
    "form",
    { class: "card inline-form", "aria-label": "New service" },
    h("h2", {}, "New service"),
    h("div", { class: "row" }, field("Name", name), field("Type", type), submit),
    h("p", { class: "hint" }, "Recognition keeps a face collection and finds who is in a photo; detection only finds faces; verification compares two photos."),
    errors,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (await busy(submit, errors, () => applications.createService(app.id, name.value, type.value))) reload();
  });
  return form;
}

function ownerActions(app) {
  const errors = errorBox();
  const rename = renameControl("application", app.name, async (name) => {
    await applications.rename(app.id, name);
    reload();
  });
  const remove = h("button", { type: "button", class: "danger" }, "Delete application");
  remove.addEventListener("click", async () => {
    if (!confirmAction(`Delete ${app.name} with all its services, keys and face collections? This cannot be undone.`)) return;
    if ((await busy(remove, errors, () => applications.remove(app.id))) !== undefined) go("/applications");
  });
  return h("div", { class: "manage" }, rename, remove, errors);
}

export async function renderApplication(view, appId) {
  const [app, list] = await Promise.all([applications.get(appId), applications.services(appId)]);
  const canManage = app.role !== "USER";
  view.append(
    pageHeader(app.name, {
      crumbs: [["Applications", "#/applications"]],
      subtitle: `Application · your role: ${app.role.toLowerCase()}`,
      actions: app.role === "OWNER" ? ownerActions(app) : null,
    }),
    h(
      "section",
      { "aria-labelledby": "services-heading" },
      h("h2", { id: "services-heading" }, "Services"),
      list.length
        ? h("ul", { class: "cards" }, list.map((service) => serviceCard(service, canManage)))
        : h("p", { class: "empty" }, "No services yet. Create a recognition service to start a face collection."),
    ),
    canManage ? createServiceForm(app) : null,
    await membersSection(app),
  );
}
