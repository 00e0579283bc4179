// Small DOM helpers. Every text a user or the server supplied goes in as a text node, never as HTML,
// so a subject called "<img onerror=...>" is shown, not run.

const SVG_NS = "http://www.w3.org/2000/svg";

function setProps(el, props) {
  for (const [key, value] of Object.entries(props ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") el.setAttribute("class", value);
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else if (key === "value" && "value" in el) el.value = value;
    else el.setAttribute(key, value === true ? "" : String(value));
  }
}

export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** An HTML element: h("button", {type: "button", onclick}, "Save"). */
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  setProps(el, props);
  return append(el, children);
}

/** An SVG element, same calling convention as h(). */
export function s(tag, props, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  setProps(el, props);
  return append(el, children);
}

export function replace(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

let idCounter = 0;
export function uniqueId(prefix) {
  idCounter += 1;
  return `${prefix}-${idCounter}`;
}

/** A labelled input: the label is tied to the control, so screen readers and clicks both find it. */
export function field(labelText, input, hint) {
  input.id ||= uniqueId("field");
  let hintEl = null;
  if (hint) {
    hintEl = h("small", { class: "hint", id: `${input.id}-hint` }, hint);
    input.setAttribute("aria-describedby", hintEl.id);
  }
  return h("div", { class: "field" }, h("label", { for: input.id }, labelText), input, hintEl);
}

/** A live region that shows an error body ({message, code}) the way the server sent it. */
export function errorBox() {
  const box = h("div", { class: "error", role: "alert", hidden: true });
  box.show = (error) => {
    replace(box, describeError(error));
    box.hidden = false;
  };
  box.clear = () => {
    replace(box);
    box.hidden = true;
  };
  return box;
}

export function describeError(error) {
  if (error && error.code !== undefined && error.code !== null && error.status) {
    return `${error.message} (code ${error.code}, HTTP ${error.status})`;
  }
  if (error && error.status) return `${error.message} (HTTP ${error.status})`;
  return error?.message ?? String(error);
}

/** A polite status line for successes ("Saved", "Key copied"). */
export function statusLine() {
  const line = h("p", { class: "status", role: "status", "aria-live": "polite" });
  line.say = (text) => {
    line.textContent = text;
  };
  return line;
}

/** Runs `action` with the button disabled and marked busy; errors go to `box`. */
export async function busy(button, box, action) {
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  box?.clear();
  try {
    return await action();
  } catch (error) {
    if (box) box.show(error);
    else throw error;
    return undefined;
  } finally {
    button.disabled = false;
    button.removeAttribute("aria-busy");
  }
}

/** A button that copies `text()` to the clipboard and says so. */
export function copyButton(text, what) {
  const label = `Copy ${what}`;
  const button = h("button", { type: "button", class: "secondary copy", "aria-label": label }, "Copy");
  const said = h("span", { class: "copied", role: "status", "aria-live": "polite" });
  button.addEventListener("click", async () => {
    const value = text();
    try {
      await navigator.clipboard.writeText(value);
      said.textContent = "Copied";
    } catch {
      // No clipboard permission (plain http on another host): select the text so Ctrl+C works.
      said.textContent = "Select and copy it by hand";
    }
    setTimeout(() => (said.textContent = ""), 2500);
  });
  return h("span", { class: "copy-group" }, button, said);
}

export function formatDate(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString();
}

/** Asks before something that cannot be undone. */
export function confirmAction(text) {
  return window.confirm(text);
}
