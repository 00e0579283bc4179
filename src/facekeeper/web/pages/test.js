// The test page of a service: photos and plugins in, the face API's answer drawn on the photos and
// shown raw beside them. It calls /api/v1/... with the service's key, as any client would.

import { PLUGINS, SERVICE_TYPES, tryService } from "../faceapi.js";
import { withQuery } from "../http.js";
import { busy, errorBox, field, h, replace } from "../dom.js";
import { MATCH_THRESHOLD, facesFigure, similarityTitle } from "../overlay.js";

const PARAM_INPUTS = {
  limit: () => field("Faces at most (limit, 0 = all)", h("input", { type: "number", name: "limit", min: 0, step: 1, value: "0" })),
  prediction_count: () =>
    field("Candidates per face (prediction_count)", h("input", { type: "number", name: "prediction_count", min: 1, step: 1, value: "1" })),
  det_prob_threshold: () =>
    field(
      "Detection threshold (det_prob_threshold)",
      h("input", { type: "number", name: "det_prob_threshold", min: 0, max: 1, step: 0.01, placeholder: "server default" }),
    ),
};

function toneOf(similarity) {
  return similarity >= MATCH_THRESHOLD ? "match" : "nomatch";
}

/** The faces of one answer, per photo part, each with the title drawn over it. */
function markFaces(type, answer) {
  if (type === "VERIFY") {
    const [pair] = answer.result;
    return {
      source_image: [{ face: pair.source_image_face, title: "source face", tone: "neutral" }],
      target_image: pair.face_matches.map((face) => ({
        face,
        title: similarityTitle(null, face.similarity),
        tone: toneOf(face.similarity),
      })),
    };
  }
  if (type === "RECOGNITION") {
    return {
      file: answer.result.map((face) => {
        const best = face.subjects[0];
        return best
          ? { face, title: similarityTitle(best.subject, best.similarity), tone: toneOf(best.similarity) }
          : { face, title: "unknown (empty collection)", tone: "nomatch" };
      }),
    };
  }
  return { file: answer.result.map((face, i) => ({ face, title: `face ${i + 1}`, tone: "neutral" })) };
}

/** JSON indented by 2, with arrays of numbers (boxes, landmarks, embeddings) kept on one line. */
function readableJson(value) {
  return JSON.stringify(value, null, 2).replace(/\[[-\d.eE,\s]+\]/g, (numbers) => numbers.replace(/\s+/g, " ").replace("[ ", "[").replace(" ]", "]"));
}

function photoPicker(part, onChange) {
  const input = h("input", { type: "file", name: part.name, accept: "image/*", required: true });
  input.addEventListener("change", () => onChange(input.files[0] ?? null));
  return { input, element: field(part.label, input) };
}

/** The form and result area for trying `service` ({name, type, api_key}). */
export function testPanel(service) {
  const spec = SERVICE_TYPES[service.type];
  const chosen = {};
  const urls = {};
  const figures = h("div", { class: spec.parts.length > 1 ? "figures pair" : "figures" });
  const rawJson = h("pre", { class: "json", tabindex: 0, "aria-label": "Raw JSON answer" });
  const requestLine = h("p", { class: "request-line" });
  const result = h(
    "section",
    { class: "result", "aria-labelledby": "result-heading", hidden: true },
    h("h2", { id: "result-heading" }, "Result"),
    requestLine,
    h("div", { class: "result-grid" }, figures, h("div", { class: "raw" }, h("h3", {}, "Raw JSON"), rawJson)),
  );

  const showPhotos = async (marked = {}) => {
    const parts = spec.parts.filter((part) => urls[part.name]);
    const rendered = await Promise.all(
      parts.map((part) => {
        const faces = marked[part.name] ?? [];
        const caption = `${part.label}: ${chosen[part.name].name}` + (marked[part.name] ? `, ${faces.length} ${faces.length === 1 ? "face" : "faces"}` : "");
        return facesFigure(urls[part.name], faces, caption);
      }),
    );
    replace(figures, rendered);
  };

  const pickers = spec.parts.map((part) =>
    photoPicker(part, (file) => {
      if (urls[part.name]) URL.revokeObjectURL(urls[part.name]);
      chosen[part.name] = file;
      urls[part.name] = file ? URL.createObjectURL(file) : null;
      result.hidden = false;
      replace(rawJson);
      requestLine.textContent = "";
      showPhotos();
    }),
  );

  const pluginBoxes = PLUGINS.map((plugin) =>
    h("label", { class: "check" }, h("input", { type: "checkbox", name: "face_plugins", value: plugin.slug }), plugin.label),
  );
  const statusBox = h("label", { class: "check" }, h("input", { type: "checkbox", name: "status" }), "Timings and plugin versions (status)");
  const submit = h("button", { type: "submit" }, spec.action);
  const errors = errorBox();

  const form = h(
    "form",
    { class: "card test-form", "aria-label": `Try ${service.name}` },
    spec.parts.length > 1 ? h("fieldset", {}, h("legend", {}, "Photos"), pickers.map((p) => p.element)) : pickers[0].element,
    h("fieldset", { class: "plugins" }, h("legend", {}, "Face plugins"), h("div", { class: "checks" }, pluginBoxes)),
    h("details", {}, h("summary", {}, "More options"), spec.params.map((name) => PARAM_INPUTS[name]()), statusBox),
    errors,
    h("div", { class: "actions" }, submit),
  );

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const params = {
      face_plugins: data.getAll("face_plugins").join(","),
      status: data.get("status") ? "true" : undefined,
    };
    for (const name of spec.params) if (data.get(name) !== "") params[name] = data.get(name);
    if (params.limit === "0") delete params.limit;
    if (params.prediction_count === "1") delete params.prediction_count;
    requestLine.textContent = `POST ${decodeURIComponent(withQuery(spec.path, params))}`;
    result.hidden = false;
    await busy(submit, errors, async () => {
      try {
        const answer = await tryService(service.type, service.api_key, chosen, params);
        rawJson.textContent = readableJson(answer);
        await showPhotos(markFaces(service.type, answer));
      } catch (error) {
        rawJson.textContent = typeof error.body === "string" ? error.body : readableJson(error.body);
        await showPhotos();
        throw error;
      }
    });
  });

  return h("div", { class: "test-panel" }, form, result);
}
