// The admin REST API (docs/admin.md): cookie session, with the CSRF token kept in memory only.

import { ApiError, request, withQuery } from "./http.js";

let csrfToken = null;
let currentSession = null;

function remember(session) {
  currentSession = session;
  csrfToken = session?.csrf_token ?? null;
  return session;
}

function call(method, path, options = {}) {
  const headers = method === "GET" ? {} : { "X-CSRF-Token": csrfToken ?? "" };
  return request(method, `/admin${path}`, { ...options, headers });
}

const enc = encodeURIComponent;

export const session = {
  current: () => currentSession,
  /** The signed-in session, or null (401). Restores the CSRF token after a reload. */
  async load() {
    try {
      return remember(await call("GET", "/session"));
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) return remember(null);
      throw error;
    }
  },
  async signIn(email, password) {
    return remember(await request("POST", "/admin/session", { json: { email, password } }));
  },
  async signOut() {
    try {
      await call("DELETE", "/session");
    } finally {
      remember(null);
    }
  },
  /** Checks the old password; the answer is a new session for this browser (a new CSRF token). */
  async changePassword(oldPassword, newPassword) {
    return remember(
      await call("PUT", "/session/password", { json: { old_password: oldPassword, new_password: newPassword } }),
    );
  },
  /** Deletes the signed-in account (not the owner's): the server ends its sessions and clears the cookie. */
  async deleteOwnAccount() {
    const deleted = await call("DELETE", `/accounts/${enc(currentSession.account.id)}`);
    remember(null);
    return deleted;
  },
  setupState: () => request("GET", "/admin/setup"),
  async createOwner(body) {
    return remember(await request("POST", "/admin/setup", { json: body }));
  },
};

/** Every account of the server: the global owner and administrators only. */
export const accounts = {
  list: async () => (await call("GET", "/accounts")).accounts,
  create: (body) => call("POST", "/accounts", { json: body }),
  setRole: (accountId, role) => call("PUT", `/accounts/${enc(accountId)}/role`, { json: { role } }),
  remove: (accountId) => call("DELETE", `/accounts/${enc(accountId)}`),
};

export const applications = {
  list: async () => (await call("GET", "/applications")).applications,
  get: (appId) => call("GET", `/applications/${enc(appId)}`),
  create: (name) => call("POST", "/applications", { json: { name } }),
  rename: (appId, name) => call("PATCH", `/applications/${enc(appId)}`, { json: { name } }),
  remove: (appId) => call("DELETE", `/applications/${enc(appId)}`),
  services: async (appId) => (await call("GET", `/applications/${enc(appId)}/services`)).services,
  createService: (appId, name, type) =>
    call("POST", `/applications/${enc(appId)}/services`, { json: { name, type } }),
};

export const members = {
  list: async (appId) => (await call("GET", `/applications/${enc(appId)}/members`)).members,
  add: (appId, email, role) => call("POST", `/applications/${enc(appId)}/members`, { json: { email, role } }),
  setRole: (appId, accountId, role) =>
    call("PUT", `/applications/${enc(appId)}/members/${enc(accountId)}`, { json: { role } }),
  remove: (appId, accountId) => call("DELETE", `/applications/${enc(appId)}/members/${enc(accountId)}`),
};

export const services = {
  get: (id) => call("GET", `/services/${enc(id)}`),
  rename: (id, name) => call("PATCH", `/services/${enc(id)}`, { json: { name } }),
  remove: (id) => call("DELETE", `/services/${enc(id)}`),
  regenerateKey: (id) => call("POST", `/services/${enc(id)}/key`),
  stats: (id, days) => call("GET", withQuery(`/services/${enc(id)}/stats`, { days })),
  /** Re-embedding of a recognition service's collection (D5): its progress, and starting a run. */
  migration: (id) => call("GET", `/services/${enc(id)}/migrate`),
  migrate: (id, embedder) => call("POST", `/services/${enc(id)}/migrate`, { json: { embedder } }),
};

/** The embedder names the server accepts for a re-embedding, and the one new collections get. */
export const embedders = () => call("GET", "/embedders");

export const collection = {
  subjects: (id, { search, page, size }) =>
    call("GET", withQuery(`/services/${enc(id)}/subjects`, { search, page, size })),
  addSubject: (id, subject) => call("POST", `/services/${enc(id)}/subjects`, { json: { subject } }),
  renameSubject: (id, subject, newName) =>
    call("PUT", `/services/${enc(id)}/subjects/${enc(subject)}`, { json: { subject: newName } }),
  removeSubject: (id, subject) => call("DELETE", `/services/${enc(id)}/subjects/${enc(subject)}`),
  examples: (id, { subject, page, size }) =>
    call("GET", withQuery(`/services/${enc(id)}/examples`, { subject, page, size })),
  /** One file per request, so each file gets its own answer as soon as it is enrolled. */
  async upload(id, subject, file) {
    const form = new FormData();
    form.append("subject", subject);
    form.append("file", file, file.name);
    const answer = await call("POST", `/services/${enc(id)}/examples`, { body: form });
    return answer.results[0];
  },
  removeExample: (id, imageId) => call("DELETE", `/services/${enc(id)}/examples/${enc(imageId)}`),
  thumbnailUrl: (id, imageId, maxSide) =>
    withQuery(`/admin/services/${enc(id)}/examples/${enc(imageId)}/image`, { max_side: maxSide }),
};
