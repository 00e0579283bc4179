// Hash routes (`#/applications/<id>?tab=x`): the server only ever serves `/`, and a reload keeps the page.

/** Navigates to `path`; re-renders when it is already the current one. */
export function go(path) {
  if (location.hash === `#${path}`) window.dispatchEvent(new HashChangeEvent("hashchange"));
  else location.hash = path;
}

export function routePath() {
  return (location.hash.slice(1) || "/").split("?")[0];
}

/** Query parameters of the current route. */
export function routeQuery() {
  const hash = location.hash.slice(1);
  const at = hash.indexOf("?");
  return new URLSearchParams(at < 0 ? "" : hash.slice(at + 1));
}

/** Changes the route's query without re-rendering (so a reload comes back to the same selection). */
export function replaceQuery(params) {
  const query = new URLSearchParams(params).toString();
  history.replaceState(null, "", `#${routePath()}${query ? `?${query}` : ""}`);
}
