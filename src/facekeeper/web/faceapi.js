// The CompreFace face API (/api/v1/...), called with a service's key exactly as any client would.

import { request, withQuery } from "./http.js";

export const PLUGINS = [
  { slug: "age", label: "Age" },
  { slug: "gender", label: "Gender" },
  { slug: "mask", label: "Mask" },
  { slug: "pose", label: "Head pose" },
  { slug: "landmarks", label: "Landmarks" },
  { slug: "calculator", label: "Embedding (calculator)" },
];

/** What each service type can be tried with: its endpoint, its image parts and its extra parameters. */
export const SERVICE_TYPES = {
  RECOGNITION: {
    title: "Recognition",
    action: "Recognize",
    path: "/api/v1/recognition/recognize",
    parts: [{ name: "file", label: "Photo" }],
    params: ["limit", "prediction_count", "det_prob_threshold"],
  },
  DETECTION: {
    title: "Detection",
    action: "Detect",
    path: "/api/v1/detection/detect",
    parts: [{ name: "file", label: "Photo" }],
    params: ["limit", "det_prob_threshold"],
  },
  VERIFY: {
    title: "Verification",
    action: "Verify",
    path: "/api/v1/verification/verify",
    parts: [
      { name: "source_image", label: "Source photo (one face)" },
      { name: "target_image", label: "Target photo" },
    ],
    params: ["limit", "det_prob_threshold"],
  },
};

/**
 * Posts the photos as multipart parts with the query parameters a client would send.
 * `files` maps part name to File; `params` holds limit, face_plugins, status...
 */
export function tryService(type, apiKey, files, params) {
  const spec = SERVICE_TYPES[type];
  const form = new FormData();
  for (const part of spec.parts) form.append(part.name, files[part.name], files[part.name].name);
  return request("POST", withQuery(spec.path, params), { body: form, headers: { "x-api-key": apiKey } });
}
