// The face collection of a recognition service: subjects (searchable), their example photos, and
// uploads of many photos at once (drag and drop or the file picker) with an answer per file.

import { collection, services } from "../admin.js";
import { busy, confirmAction, errorBox, field, h, replace, statusLine } from "../dom.js";
import { applicationOf, pageHeader, renameControl, serviceCrumbs } from "../layout.js";
import { replaceQuery, routeQuery } from "../router.js";

const SUBJECTS_PER_PAGE = 50;
const EXAMPLES_PER_PAGE = 24;
const THUMBNAIL_SIDE = 160;

function plural(count, word) {
  return `${count} ${word}${count === 1 ? "" : "s"}`;
}

/** One file's line in the upload list, updated in place when its answer arrives. */
function uploadLine(file) {
  const state = h("span", { class: "state" }, "uploading…");
  const line = h("li", { class: "pending" }, h("span", { class: "file-name" }, file.name), " — ", state);
  line.done = (answer) => {
    line.className = answer.status === 201 ? "ok" : "failed";
    if (answer.image_id) line.dataset.imageId = answer.image_id;
    state.textContent =
      answer.status === 201 ? "added" : `${answer.error.message} (code ${answer.error.code}, HTTP ${answer.status})`;
  };
  line.failed = (error) => {
    line.className = "failed";
    state.textContent = error.code === null || error.code === undefined ? error.message : `${error.message} (code ${error.code}, HTTP ${error.status})`;
  };
  return line;
}

function uploader(service, subject, onUploaded) {
  const picker = h("input", { type: "file", name: "photos", multiple: true, accept: "image/*" });
  const results = h("ul", { class: "upload-results", "aria-live": "polite", "aria-label": "Upload results" });
  const summary = statusLine();
  const zone = h(
    "div",
    { class: "dropzone" },
    h("p", { class: "drop-hint" }, `Drop photos of ${subject} here, one face per photo, or`),
    field(`Choose photos of ${subject}`, picker, "Several at once; each is checked on its own."),
  );
  const send = async (files) => {
    if (!files.length) return;
    replace(results);
    const lines = files.map((file) => uploadLine(file));
    results.append(...lines);
    let added = 0;
    // One request per file, in turn: each answer shows as soon as it arrives and a big batch
    // never exceeds the request size limit.
    for (const [i, file] of files.entries()) {
      try {
        const answer = await collection.upload(service.id, subject, file);
        lines[i].done(answer);
        if (answer.status === 201) added += 1;
      } catch (error) {
        lines[i].failed(error);
      }
    }
    summary.say(`${plural(added, "photo")} of ${files.length} added to ${subject}.`);
    picker.value = "";
    await onUploaded();
  };
  picker.addEventListener("change", () => send([...picker.files]));
  zone.addEventListener("dragover", (event) => {
    event.preventDefault();
    zone.classList.add("dragging");
  });
  zone.addEventListener("dragleave", () => zone.classList.remove("dragging"));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    zone.classList.remove("dragging");
    send([...event.dataTransfer.files]);
  });
  return h("div", { class: "uploader" }, zone, summary, results);
}

function examplesGrid(service, subject, page, canEdit, onChange) {
  const errors = errorBox();
  const items = page.faces.map((example, i) => {
    const label = `Example ${page.page_number * page.page_size + i + 1} of ${subject}`;
    const img = h("img", {
      src: collection.thumbnailUrl(service.id, example.image_id, THUMBNAIL_SIDE),
      alt: label,
      loading: "lazy",
      width: THUMBNAIL_SIDE,
      height: THUMBNAIL_SIDE,
    });
    // A server that keeps no images (save_images_to_db off) answers an empty body: say so instead.
    img.addEventListener("error", () => img.replaceWith(h("span", { class: "no-image" }, "No image stored")));
    const full = h("a", { href: collection.thumbnailUrl(service.id, example.image_id), target: "_blank", rel: "noopener" }, img);
    let remove = null;
    if (canEdit) {
      remove = h("button", { type: "button", class: "danger small", "aria-label": `Delete ${label}` }, "Delete");
      remove.addEventListener("click", async () => {
        if (!confirmAction(`Delete this example of ${subject}?`)) return;
        if ((await busy(remove, errors, () => collection.removeExample(service.id, example.image_id))) !== undefined) await onChange();
      });
    }
    return h("li", { class: "example", "data-image-id": example.image_id }, full, remove);
  });
  return h("div", {}, errors, items.length ? h("ul", { class: "examples" }, items) : h("p", { class: "empty" }, `No photos of ${subject} yet.`));
}

function pager(page, onPage, what) {
  if (page.total_pages <= 1) return null;
  const previous = h("button", { type: "button", class: "secondary", disabled: page.page_number === 0 }, "Previous");
  const next = h("button", { type: "button", class: "secondary", disabled: page.page_number + 1 >= page.total_pages }, "Next");
  previous.addEventListener("click", () => onPage(page.page_number - 1));
  next.addEventListener("click", () => onPage(page.page_number + 1));
  return h(
    "nav",
    { class: "pager", "aria-label": `Pages of ${what}` },
    previous,
    h("span", {}, `Page ${page.page_number + 1} of ${page.total_pages}`),
    next,
  );
}

export async function renderCollection(view, serviceId) {
  const service = await services.get(serviceId);
  const app = await applicationOf(service);
  const canEdit = (service.role ?? app?.role) !== "USER";
  const counts = h("p", { class: "subtitle" });
  const subjectList = h("div", { class: "subject-list-area" });
  const detail = h("section", { class: "subject-panel card", "aria-labelledby": "subject-heading" });
  let search = "";
  let subjectsPage = 0;
  let selected = routeQuery().get("subject");

  const refreshCounts = async () => {
    const fresh = await services.get(serviceId);
    counts.textContent = `${plural(fresh.subject_count, "subject")} · ${plural(fresh.example_count, "example")}`;
  };

  const loadSubjects = async () => {
    const page = await collection.subjects(service.id, { search, page: subjectsPage, size: SUBJECTS_PER_PAGE });
    const buttons = page.subjects.map((item) => {
      const button = h(
        "button",
        { type: "button", class: "subject", "aria-current": item.subject === selected ? "true" : null },
        h("span", { class: "name" }, item.subject),
        h("span", { class: "count", "aria-label": plural(item.example_count, "example") }, String(item.example_count)),
      );
      button.addEventListener("click", () => select(item.subject));
      return h("li", {}, button);
    });
    const empty = search ? `No subject matches “${search}”.` : "No subjects yet: add the first person above.";
    replace(
      subjectList,
      buttons.length ? h("ul", { class: "subject-list", "aria-label": "Subjects" }, buttons) : h("p", { class: "empty" }, empty),
      pager(page, (n) => {
        subjectsPage = n;
        loadSubjects();
      }, "subjects"),
    );
  };

  // The subject's panel is built once per selection; uploads and deletions refresh only the parts that
  // change, so the per-file results of an upload stay on screen.
  let examplesArea = null;
  let photoCount = null;
  let examplesPage = 0;

  async function loadExamples(pageNumber) {
    const subject = selected;
    const page = await collection.examples(service.id, { subject, page: pageNumber, size: EXAMPLES_PER_PAGE });
    if (subject !== selected) return;
    examplesPage = pageNumber;
    photoCount.textContent = plural(page.total_elements, "photo");
    replace(examplesArea, examplesGrid(service, subject, page, canEdit, refreshAfterChange), pager(page, loadExamples, `photos of ${subject}`));
  }

  async function refreshAfterChange() {
    await Promise.all([loadSubjects(), refreshCounts(), loadExamples(examplesPage)]);
  }

  async function showSubject() {
    if (!selected) {
      replace(detail, h("h2", { id: "subject-heading" }, "No subject chosen"), h("p", {}, "Choose a subject in the list, or add one, to see and upload its photos."));
      return;
    }
    const subject = selected;
    const errors = errorBox();
    let manage = null;
    if (canEdit) {
      const remove = h("button", { type: "button", class: "danger", "aria-label": `Delete subject ${subject}` }, "Delete subject");
      remove.addEventListener("click", async () => {
        if (!confirmAction(`Delete ${subject} and all ${photoCount.textContent}?`)) return;
        if ((await busy(remove, errors, () => collection.removeSubject(service.id, subject))) !== undefined) await select(null);
      });
      const rename = renameControl("subject", subject, async (name) => {
        await collection.renameSubject(service.id, subject, name);
        await select(name);
      });
      manage = h("div", { class: "manage" }, rename, remove);
    }
    photoCount = h("span", { class: "meta" });
    examplesArea = h("div", { class: "examples-area" });
    replace(
      detail,
      h("div", { class: "title-row" }, h("h2", { id: "subject-heading" }, subject), photoCount),
      manage,
      errors,
      canEdit ? uploader(service, subject, refreshAfterChange) : null,
      h("h3", {}, "Photos"),
      examplesArea,
    );
    await loadExamples(0);
  }

  async function select(subject) {
    selected = subject;
    replaceQuery(subject ? { subject } : {});
    await Promise.all([loadSubjects(), showSubject(), refreshCounts()]);
  }

  const searchBox = h("input", { type: "search", name: "search", autocomplete: "off", placeholder: "Name contains…" });
  let searchTimer = 0;
  searchBox.addEventListener("input", () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => {
      search = searchBox.value.trim();
      subjectsPage = 0;
      loadSubjects();
    }, 200);
  });

  let addForm = null;
  if (canEdit) {
    const name = h("input", { name: "subject", required: true, maxlength: 50, autocomplete: "off" });
    const submit = h("button", { type: "submit" }, "Add subject");
    const errors = errorBox();
    addForm = h("form", { class: "inline-form", "aria-label": "Add a subject" }, h("div", { class: "row" }, field("New subject (person's name)", name), submit), errors);
    addForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      const created = await busy(submit, errors, () => collection.addSubject(service.id, name.value));
      if (created) {
        name.value = "";
        await select(created.subject);
        detail.querySelector("input[type=file]")?.focus();
      }
    });
  }

  view.append(
    pageHeader(`Collection of ${service.name}`, {
      crumbs: serviceCrumbs(app),
      actions: [
        h("a", { class: "button secondary", href: `#/services/${service.id}/embedder` }, "Embedder"),
        h("a", { class: "button", href: `#/services/${service.id}/test` }, "Test this service"),
      ],
    }),
    counts,
    h(
      "div",
      { class: "collection" },
      h(
        "section",
        { class: "subjects-panel card", "aria-labelledby": "subjects-heading" },
        h("h2", { id: "subjects-heading" }, "Subjects"),
        addForm,
        field("Search subjects", searchBox),
        subjectList,
      ),
      detail,
    ),
  );
  await Promise.all([loadSubjects(), showSubject(), refreshCounts()]);
}
