// A photo with the faces the server found drawn over it: an SVG layer in the image's own pixel
// coordinates (the API's box and landmark units), so it scales with the photo at any width.
// The same faces are listed as text beside it, for screen readers and for reading exact values.

import { h, s } from "./dom.js";

// CompreFace clients treat similarity >= 0.5 as "same person" (spec D8): the label says so.
export const MATCH_THRESHOLD = 0.5;

const MASK_WORDS = {
  without_mask: "no mask",
  with_mask: "mask",
  mask_weared_incorrect: "mask worn incorrectly",
};

const round = (value, digits = 2) => Number(value).toFixed(digits);

/** The attribute words for a face: age, gender, mask, pose, as far as the answer has them. */
export function attributeWords(face) {
  const words = [];
  if (face.age) {
    const { low, high } = face.age;
    words.push(low === high ? `age ${low}` : `age ${low}–${high}`);
  }
  if (face.gender) words.push(face.gender.value);
  if (face.mask) words.push(MASK_WORDS[face.mask.value] ?? face.mask.value);
  if (face.pose) {
    const { yaw, pitch, roll } = face.pose;
    words.push(`yaw ${Math.round(yaw)}° pitch ${Math.round(pitch)}° roll ${Math.round(roll)}°`);
  }
  return words;
}

/** "Ann 0.97" for a match; "no match (Ann 0.31)" below the threshold. */
export function similarityTitle(subject, similarity) {
  const text = subject ? `${subject} ${round(similarity)}` : `similarity ${round(similarity)}`;
  return similarity >= MATCH_THRESHOLD ? text : `no match (${text})`;
}

function details(face) {
  const rows = [];
  const box = face.box;
  rows.push(["Box", `${box.x_min},${box.y_min} – ${box.x_max},${box.y_max} (probability ${round(box.probability, 3)})`]);
  for (const candidate of face.subjects ?? []) rows.push(["Candidate", similarityTitle(candidate.subject, candidate.similarity)]);
  if (face.age) rows.push(["Age", `${face.age.low}–${face.age.high} (probability ${round(face.age.probability)})`]);
  if (face.gender) rows.push(["Gender", `${face.gender.value} (probability ${round(face.gender.probability)})`]);
  if (face.mask) rows.push(["Mask", `${MASK_WORDS[face.mask.value] ?? face.mask.value} (probability ${round(face.mask.probability)})`]);
  if (face.pose) rows.push(["Pose", attributeWords({ pose: face.pose })[0]]);
  if (face.landmarks) rows.push(["Landmarks", `${face.landmarks.length} points`]);
  if (face.embedding) rows.push(["Embedding", `${face.embedding.length} numbers`]);
  return rows;
}

/** The label's lines: the title, then the attribute words two by two (the pose on a line of its own). */
function labelLines(title, face) {
  const words = attributeWords({ ...face, pose: undefined });
  const lines = [title];
  for (let i = 0; i < words.length; i += 3) lines.push(words.slice(i, i + 3).join(" · "));
  if (face.pose) lines.push(attributeWords({ pose: face.pose })[0]);
  return lines;
}

const WORDS_SCALE = 0.85;

/**
 * Measures labels with the browser's own text layout: a hidden SVG in the document, styled like the
 * real one, so placement works on the size the text really takes.
 */
function labelMeasurer(fontSize) {
  const text = s("text", { class: "face-label", "font-size": fontSize });
  const svg = s("svg", { class: "overlay-measure", "aria-hidden": "true", width: 1, height: 1 }, text);
  document.body.append(svg);
  return {
    size(lines) {
      const widths = lines.map((line, i) => {
        const span = s("tspan", i === 0 ? { class: "label-title" } : { "font-size": fontSize * WORDS_SCALE }, line);
        text.replaceChildren(span);
        return span.getComputedTextLength();
      });
      const height = fontSize * 1.2 + (lines.length - 1) * fontSize * WORDS_SCALE * 1.2;
      return { w: Math.max(...widths) + 4, h: height };
    },
    done: () => svg.remove(),
  };
}

function overlapArea(a, b) {
  const w = Math.min(a.x + a.w, b.x + b.w) - Math.max(a.x, b.x);
  const h = Math.min(a.y + a.h, b.y + b.h) - Math.max(a.y, b.y);
  return w > 0 && h > 0 ? w * h : 0;
}

function boxRect(box) {
  return { x: box.x_min, y: box.y_min, w: box.x_max - box.x_min, h: box.y_max - box.y_min };
}

/** Where a label of `size` may go around `box`: above or below it, left- or right-aligned, or inside its top. */
function spots(box, size, width, height) {
  const gap = 4;
  const clampX = (x) => Math.min(Math.max(x, 0), Math.max(0, width - size.w));
  const clampY = (y) => Math.min(Math.max(y, 0), Math.max(0, height - size.h));
  const xs = [box.x_min, box.x_max - size.w, (box.x_min + box.x_max - size.w) / 2].map(clampX);
  const ys = [box.y_min - gap - size.h, box.y_max + gap];
  const found = [];
  for (const y of ys) if (y >= 0 && y + size.h <= height) for (const x of xs) found.push({ x, y, ...size });
  found.push({ x: clampX(box.x_min + gap), y: clampY(box.y_min + gap), ...size });
  return found;
}

/**
 * Chooses, face by face from the top, a place for each label that covers no other face and no label
 * already placed. When the full label fits nowhere, only its title is drawn (the list under the photo
 * still has every value); when even that cannot avoid everything, the least covered place wins.
 */
function placeLabels(marked, width, height, fontSize) {
  const measure = labelMeasurer(fontSize);
  const faces = marked.map((item) => boxRect(item.face.box));
  const order = marked.map((_, i) => i).sort((a, b) => faces[a].y - faces[b].y || faces[a].x - faces[b].x);
  const placed = [];
  const result = new Array(marked.length);
  for (const i of order) {
    const full = labelLines(marked[i].title, marked[i].face);
    const choices = full.length > 1 ? [full, [full[0]]] : [full];
    const obstacles = [...faces.filter((_, j) => j !== i), ...placed];
    const cost = (spot) => obstacles.reduce((sum, rect) => sum + overlapArea(spot, rect), 0);
    let best = null;
    for (const lines of choices) {
      for (const spot of spots(marked[i].face.box, measure.size(lines), width, height)) {
        const c = cost(spot);
        if (best === null || c < best.cost) best = { lines, spot, cost: c };
        if (c === 0) break;
      }
      if (best.cost === 0) break;
    }
    placed.push(best.spot);
    result[i] = best;
  }
  measure.done();
  return result;
}

function faceGroup(marked, index, placement, radius, fontSize) {
  const { face, tone } = marked;
  const box = face.box;
  const { lines, spot } = placement;
  const small = fontSize * WORDS_SCALE;
  const text = s(
    "text",
    { class: "face-label", x: spot.x, y: spot.y + fontSize * 0.95, "font-size": fontSize },
    lines.map((line, i) =>
      s(
        "tspan",
        i === 0
          ? { x: spot.x, class: "label-title" }
          : { x: spot.x, dy: (i === 1 ? fontSize * 0.2 : 0) + small * 1.2, "font-size": small },
        line,
      ),
    ),
  );
  return s(
    "g",
    { class: `face tone-${tone}`, "data-face": index },
    s("rect", {
      class: "face-box",
      x: box.x_min,
      y: box.y_min,
      width: Math.max(1, box.x_max - box.x_min),
      height: Math.max(1, box.y_max - box.y_min),
    }),
    (face.landmarks ?? []).map(([cx, cy]) => s("circle", { class: "landmark", cx, cy, r: radius })),
    text,
  );
}

// Labels keep one size on screen whatever the photo's pixel size and however small it is shown.
const LABEL_SCREEN_PX = 15;
const LANDMARK_SCREEN_PX = 3.5;

/**
 * Shows `imageUrl` with `marked` faces ({face, title, tone}) drawn over it, and a list of them.
 * Resolves once the photo is decoded, since the SVG needs its pixel size. The drawing is in the photo's
 * pixel units (the API's), and is laid out again when the photo's shown size changes, so the labels
 * stay readable and apart at any width.
 */
export async function facesFigure(imageUrl, marked, caption) {
  const img = h("img", { src: imageUrl, alt: caption, class: "photo" });
  try {
    await img.decode();
  } catch {
    return h("figure", { class: "overlay" }, h("p", { class: "error" }, "The browser cannot show this image."));
  }
  const width = img.naturalWidth;
  const height = img.naturalHeight;
  const svg = s("svg", {
    class: "overlay-layer",
    viewBox: `0 0 ${width} ${height}`,
    preserveAspectRatio: "none",
    role: "img",
    "aria-label": `${marked.length} ${marked.length === 1 ? "face" : "faces"} marked`,
  });
  let drawnScale = 0;
  let seen = false;
  const draw = () => {
    // Once the photo has been on the page and is taken off (a new result), stop watching it.
    if (img.isConnected) seen = true;
    else if (seen) return observer.disconnect();
    const scale = img.clientWidth / width;
    if (!scale || Math.abs(scale - drawnScale) < drawnScale * 0.03) return;
    drawnScale = scale;
    const fontSize = LABEL_SCREEN_PX / scale;
    const placements = placeLabels(marked, width, height, fontSize);
    svg.replaceChildren(
      ...marked.map((item, i) => faceGroup(item, i, placements[i], LANDMARK_SCREEN_PX / scale, fontSize)),
    );
  };
  const observer = new ResizeObserver(draw);
  observer.observe(img);
  const list = h(
    "ol",
    { class: "face-list" },
    marked.map(({ face, title, tone }, i) =>
      h(
        "li",
        { class: `tone-${tone}`, "data-face": i, tabindex: 0 },
        h("strong", { class: "face-title" }, title),
        h("dl", {}, details(face).map(([term, value]) => [h("dt", {}, term), h("dd", {}, value)])),
      ),
    ),
  );
  const highlight = (index) => {
    for (const group of svg.querySelectorAll("g.face")) group.classList.toggle("active", group.dataset.face === index);
  };
  const itemOf = (event) => event.target.closest("li[data-face]")?.dataset.face ?? null;
  for (const type of ["mouseover", "focusin"]) list.addEventListener(type, (event) => highlight(itemOf(event)));
  for (const type of ["mouseleave", "focusout"]) list.addEventListener(type, () => highlight(null));
  return h(
    "figure",
    { class: "overlay" },
    h("div", { class: "overlay-stage" }, img, svg),
    h("figcaption", {}, caption),
    list,
  );
}
