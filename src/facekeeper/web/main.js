// Start-up and the hash router: `#/applications/<id>` and so on, so the server only ever serves `/`.

import { session } from "./admin.js";
import { describeError, h, replace } from "./dom.js";
import { go, routePath } from "./router.js";
import { renderAccount } from "./pages/account.js";
import { MANAGERS, renderAccounts } from "./pages/accounts.js";
import { renderApplication } from "./pages/application.js";
import { renderApplications } from "./pages/applications.js";
import { renderCollection } from "./pages/collection.js";
import { renderEmbedder } from "./pages/embedder.js";
import { renderServiceTest } from "./pages/service_test.js";
import { renderSetup } from "./pages/setup.js";
import { renderSignIn } from "./pages/signin.js";

const main = document.getElementById("main");
const nav = document.getElementById("nav");

// [pattern, render, needs a signed-in session]
const ROUTES = [
  [/^\/setup$/, renderSetup, false],
  [/^\/signin$/, renderSignIn, false],
  [/^\/applications$/, renderApplications, true],
  [/^\/applications\/([^/]+)$/, renderApplication, true],
  [/^\/services\/([^/]+)\/collection$/, renderCollection, true],
  [/^\/services\/([^/]+)\/test$/, renderServiceTest, true],
  [/^\/services\/([^/]+)\/embedder$/, renderEmbedder, true],
  [/^\/accounts$/, renderAccounts, true],
  [/^\/account$/, renderAccount, true],
];

function renderNav() {
  const current = session.current();
  if (!current) {
    replace(nav);
    return;
  }
  const signOut = h("button", { type: "button", class: "link-button", title: `Signed in as ${current.account.email}` }, "Sign out");
  signOut.addEventListener("click", async () => {
    try {
      await session.signOut();
    } finally {
      go("/signin");
    }
  });
  // The current section is marked for screen readers and styled; only managers get the accounts list.
  const path = routePath();
  const link = (href, text, active, props = {}) =>
    h("a", { href: `#${href}`, "aria-current": active ? "page" : null, ...props }, text);
  replace(
    nav,
    h(
      "ul",
      {},
      h("li", {}, link("/applications", "Applications", /^\/(applications|services)\b/.test(path))),
      MANAGERS.has(current.account.role) ? h("li", {}, link("/accounts", "Accounts", path === "/accounts")) : null,
      h("li", { class: "who" }, h("span", { title: current.account.role.toLowerCase() }, current.account.email)),
      h("li", {}, link("/account", "Your account", path === "/account", { title: `Signed in as ${current.account.email}` })),
      h("li", {}, signOut),
    ),
  );
}

async function home() {
  const state = await session.setupState();
  if (!state.owner_exists) return go("/setup");
  return go(session.current() ? "/applications" : "/signin");
}

let renderCount = 0;

async function route() {
  renderCount += 1;
  const mine = renderCount;
  const path = routePath();
  const view = h("div", { class: "view" });
  try {
    if (path === "/") return await home();
    const found = ROUTES.find(([pattern]) => pattern.test(path));
    if (!found) {
      document.title = "Not found · Facekeeper";
      replace(main, h("h1", { tabindex: -1 }, "Page not found"), h("p", {}, h("a", { href: "#/" }, "Go to the start page")));
      return focusHeading();
    }
    const [pattern, render, needsSession] = found;
    if (needsSession && !session.current()) return go("/signin");
    await render(view, ...pattern.exec(path).slice(1).map(decodeURIComponent));
  } catch (error) {
    if (error.status === 401) {
      await session.load();
      renderNav();
      return go("/signin");
    }
    const title = { 403: "No access", 404: "Not found" }[error.status] ?? "Something went wrong";
    replace(
      view,
      h("h1", { tabindex: -1 }, title),
      h("p", { class: "error", role: "alert" }, describeError(error)),
      h("p", {}, h("a", { href: "#/applications" }, "Back to your applications")),
    );
  }
  if (mine !== renderCount) return undefined; // a newer navigation already replaced this one
  renderNav();
  replace(main, view);
  return focusHeading();
}

/** After a navigation, move focus to the new page's heading so keyboard and screen reader users start there. */
function focusHeading() {
  const heading = main.querySelector("h1");
  if (heading) {
    heading.tabIndex = -1;
    heading.focus({ preventScroll: true });
    document.title = `${heading.textContent} · Facekeeper`;
  }
}

document.getElementById("skip-link").addEventListener("click", (event) => {
  event.preventDefault();
  main.focus();
});

window.addEventListener("hashchange", route);

try {
  await session.load();
} catch (error) {
  replace(main, h("p", { class: "error", role: "alert" }, describeError(error)));
}
route();
