// One way to call the server: every non-2xx answer becomes an ApiError carrying the server's
// {message, code} (or, for a body that is not that shape, the HTTP status text).

export class ApiError extends Error {
  constructor(status, code, message, body) {
    super(message);
    this.status = status;
    this.code = code;
    this.body = body;
  }
}

/** Sends a request; resolves to the parsed JSON body (null when empty), throws ApiError otherwise. */
export async function request(method, url, { json, body, headers = {} } = {}) {
  const init = { method, headers: { Accept: "application/json", ...headers }, credentials: "same-origin" };
  if (json !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(json);
  } else if (body !== undefined) {
    init.body = body;
  }
  let response;
  try {
    response = await fetch(url, init);
  } catch (error) {
    throw new ApiError(0, null, `The server cannot be reached (${error.message})`, null);
  }
  const text = await response.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = text;
    }
  }
  if (!response.ok) {
    const shaped = data && typeof data === "object" && typeof data.message === "string";
    const message = shaped ? data.message : `${response.status} ${response.statusText || "error"}`;
    throw new ApiError(response.status, shaped ? data.code ?? null : null, message, data);
  }
  return data;
}

export function withQuery(path, params) {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") query.set(key, String(value));
  }
  const text = query.toString();
  return text ? `${path}?${text}` : path;
}
