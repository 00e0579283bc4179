// The embedder of a recognition service's collection, and switching it (D5): every stored example is
// embedded again from its stored photo in the background, the page polling the progress while it runs.
// Recognition keeps the old vectors until one switch at the end.

import { embedders, services } from "../admin.js";
import { busy, errorBox, field, h, replace } from "../dom.js";
import { applicationOf, pageHeader, serviceCrumbs } from "../layout.js";

const POLL_MS = 1000;

function plural(count, word) {
  return `${count} ${word}${count === 1 ? "" : "s"}`;
}

/** What a progress answer means, in words: [heading, sentence]. */
function describe(progress, current) {
  const { state, embedder, done, total } = progress;
  const counted = `${done} of ${plural(total, "example")}`;
  switch (state) {
    case "running":
      return ["Re-embedding…", `${counted} embedded with ${embedder} so far. Recognition uses ${current} until all are done.`];
    case "interrupted":
      return ["Stopped before the end", `A re-embedding with ${embedder} stopped at ${counted}. Start it again to finish: the work done is kept.`];
    case "done":
      return ["Done", `${plural(total, "example")} embedded again with ${embedder}: the collection now uses it.`];
    case "failed":
      return ["Failed", `The re-embedding with ${embedder} stopped at ${counted}; the collection still uses ${current}.`];
    default:
      return ["Nothing under way", `The collection (${plural(total, "example")}) is embedded with ${embedder}.`];
  }
}

/**
 * The progress panel: `follow(progress)` draws it. While a run is going on it polls until the run ends or
 * the page is left, then calls `onEnd(progress)` (`onEnd(null)` when the server refuses to say).
 */
function progressPanel(service, current, onEnd) {
  const heading = h("h2", { id: "progress-heading" }, "Progress");
  const body = h("div", { class: "progress-body", role: "status", "aria-live": "polite" });
  const failure = errorBox();
  const panel = h("section", { class: "card migration", "aria-labelledby": "progress-heading" }, heading, body, failure);
  let timer = 0;
  let seen = false; // the panel was on the page: once it is not any more, the page was left
  let unseen = 0;

  const show = (progress) => {
    panel.dataset.state = progress.state;
    const [title, sentence] = describe(progress, current());
    const total = Math.max(progress.total, 1);
    const bar =
      progress.state === "idle"
        ? null
        : h("progress", {
            max: total,
            value: progress.state === "done" ? total : progress.done,
            "aria-label": `Examples embedded with ${progress.embedder}`,
          });
    replace(body, h("p", { class: "state" }, h("strong", {}, title)), bar, h("p", {}, sentence));
    if (progress.state === "failed" && progress.error) failure.show({ message: progress.error });
    else failure.clear();
  };

  const poll = async () => {
    timer = 0;
    if (panel.isConnected) seen = true;
    else if (seen || ++unseen > 5) return; // the page was left (or never shown): stop asking
    let progress;
    try {
      progress = await services.migration(service.id);
    } catch (error) {
      failure.show(error);
      // The server out of reach or busy: ask again later. Refused (signed out, no access): stop.
      if (error.status === 0 || error.status >= 500) timer = setTimeout(poll, POLL_MS * 3);
      else await onEnd(null);
      return;
    }
    show(progress);
    if (progress.state === "running") timer = setTimeout(poll, POLL_MS);
    else await onEnd(progress);
  };

  /**
   * Shows `progress`; while it runs, or with `watch` (a run was just started: focus moves here, as the
   * start button is disabled until the end), asks again until it ends.
   */
  panel.follow = (progress, watch = false) => {
    clearTimeout(timer);
    show(progress);
    if (watch) {
      heading.tabIndex = -1;
      heading.focus();
    }
    if (watch || progress.state === "running") timer = setTimeout(poll, 250);
  };
  return panel;
}

/** `known`: the names the server lists (GET /admin/embedders), its shipped models and the operator's. */
function startForm(service, current, known, onStarted) {
  const input = h("input", {
    name: "embedder",
    required: true,
    autocomplete: "off",
    spellcheck: "false",
    list: "known-embedders",
    "aria-describedby": "embedder-hint",
  });
  const options = h("datalist", { id: "known-embedders" }, known.map((name) => h("option", { value: name })));
  const submit = h("button", { type: "submit" }, "Start re-embedding");
  const errors = errorBox();
  const form = h(
    "form",
    { class: "card inline-form", "aria-label": "Re-embed the collection" },
    h("h2", {}, "Switch to another embedder"),
    h(
      "p",
      { class: "hint" },
      "Every stored example is embedded again from its stored photo, in the background. Recognition keeps using the current vectors until all are done, then switches at once. It may take a while on a big collection: this page shows the progress, and you can leave it.",
    ),
    h("div", { class: "row" }, field("Embedder", input), submit),
    h("p", { class: "hint", id: "embedder-hint" }, `This server has: ${known.join(", ")}.`),
    options,
    errors,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const embedder = input.value.trim();
    if (embedder === current()) {
      errors.show({ message: `The collection already uses ${embedder}.` });
      input.focus();
      return;
    }
    const started = await busy(submit, errors, () => services.migrate(service.id, embedder));
    if (started) onStarted(started);
    else input.focus();
  });
  form.clear = () => {
    input.value = "";
  };
  form.prefill = (name) => {
    input.value = name;
  };
  form.setRunning = (running) => {
    submit.disabled = running;
    input.disabled = running;
  };
  return form;
}

export async function renderEmbedder(view, serviceId) {
  let service = await services.get(serviceId);
  const app = await applicationOf(service);
  if (service.type !== "RECOGNITION") {
    view.append(
      pageHeader(`Embedder of ${service.name}`, { crumbs: serviceCrumbs(app) }),
      h("p", {}, "Only recognition services keep a face collection, so only they have an embedder to switch."),
    );
    return;
  }
  const canManage = (service.role ?? app?.role) !== "USER";
  const currentLine = h("p", { class: "subtitle" });
  const current = () => service.embedder;
  const showCurrent = () => {
    replace(currentLine, "Built with ", h("code", { class: "embedder-name" }, service.embedder), ` · ${plural(service.example_count, "example")}`);
  };
  showCurrent();

  let form = null;
  const panel = progressPanel(service, current, async (progress) => {
    form?.setRunning(false);
    if (!progress) return; // the progress could not be read: the panel says why
    if (progress.state === "interrupted" || progress.state === "failed") form?.prefill(progress.embedder);
    if (progress.state === "done") {
      form?.clear();
      service = await services.get(serviceId);
      showCurrent();
      panel.follow(progress); // its words name the new embedder as the current one
    }
  });
  if (canManage) {
    const known = (await embedders()).embedders;
    form = startForm(service, current, known, (started) => {
      form.setRunning(true);
      panel.follow(started, true);
    });
  }

  const first = await services.migration(service.id);
  view.append(
    pageHeader(`Embedder of ${service.name}`, {
      crumbs: serviceCrumbs(app),
      actions: h("a", { class: "button secondary", href: `#/services/${service.id}/collection` }, "Collection"),
    }),
    currentLine,
    panel,
    form ?? h("p", { class: "hint" }, "Administrators of the application can switch the collection to another embedder."),
  );
  if (first.state === "interrupted" || first.state === "failed") form?.prefill(first.embedder);
  if (first.state === "running") form?.setRunning(true);
  panel.follow(first);
}
