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

function labelLines(title, words) {
  const lines = [title];
  for (let i = 0; i < words.length; i += 2) lines.push(words.slice(i, i + 2).join(" · "));
  return lines;
}

function faceGroup(marked, index, width, height, fontSize) {
  const { face, title, tone } = marked;
  const box = face.box;
  const lines = labelLines(title, attributeWords(face));
  const lineHeight = fontSize * 1.2;
  const above = box.y_min - 6 - (lines.length - 1) * lineHeight;
  const firstBaseline = above >= fontSize ? above : box.y_min + fontSize + 4;
  const rightSide = box.x_min > width / 2;
  const x = rightSide ? box.x_max : Math.max(box.x_min, 2);
  const text = s(
    "text",
    { class: "face-label", x, y: firstBaseline, "font-size": fontSize, "text-anchor": rightSide ? "end" : "start" },
    lines.map((line, i) => s("tspan", { x, dy: i === 0 ? 0 : lineHeight, class: i === 0 ? "label-title" : null }, line)),
  );
  const radius = Math.max(2, Math.round(Math.max(width, height) / 120));
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

/**
 * Shows `imageUrl` with `marked` faces ({face, title, tone}) drawn over it, and a list of them.
 * Resolves once the photo is decoded, since the SVG needs its pixel size.
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
  const fontSize = Math.max(10, Math.round(Math.max(width, height) / 32));
  const svg = s(
    "svg",
    {
      class: "overlay-layer",
      viewBox: `0 0 ${width} ${height}`,
      preserveAspectRatio: "none",
      role: "img",
      "aria-label": `${marked.length} ${marked.length === 1 ? "face" : "faces"} marked`,
    },
    marked.map((item, i) => faceGroup(item, i, width, height, fontSize)),
  );
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
