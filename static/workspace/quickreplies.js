/* Quick replies in the composer (docs/agents.md): typing "/" and a shortcut at the start of the reply
 * box offers the matching replies; the picker (its button or Alt+Q) offers them all with a filter.
 * Arrow keys choose, Enter or Tab inserts with {customer} and {agent} filled in, Esc closes: the
 * keyboard alone does it all. The list is a listbox whose active option the input points at
 * (aria-activedescendant). */

import { $, el } from "../parley/dom.js";
import { S, T } from "./context.js";
import { summaryOf, inNoteMode } from "./together.js";
import { fillPlaceholders, matchQuickReplies, slashQuery } from "./together_rules.js";

let mode = null; // null (closed), "slash" (from the reply box) or "picker" (the filter field)
let shown = [];
let active = 0;

function fill(reply) {
  const conv = summaryOf(S.currentId);
  return fillPlaceholders(reply.text, {
    customer: conv ? conv.customer.name : "",
    agent: S.agent ? S.agent.name : "",
  });
}

function owner() {
  return mode === "picker" ? $("qr-filter") : $("composer-input");
}

function render() {
  const list = $("qr-list");
  if (!shown.length) {
    list.replaceChildren(el("li", "qr-empty", T.no_quick_replies));
    owner().removeAttribute("aria-activedescendant");
    return;
  }
  list.replaceChildren(
    ...shown.map((reply, index) => {
      const li = el("li", "qr-item");
      li.id = "qr-option-" + index;
      li.setAttribute("role", "option");
      li.setAttribute("aria-selected", index === active ? "true" : "false");
      const top = el("span", "qr-top");
      top.append(el("span", "qr-shortcut", "/" + reply.shortcut), el("span", "qr-title", reply.title));
      li.append(top, el("span", "qr-text", fill(reply)));
      li.addEventListener("mousedown", (event) => event.preventDefault()); // keep focus where it is
      li.addEventListener("click", () => choose(index));
      return li;
    })
  );
  owner().setAttribute("aria-activedescendant", "qr-option-" + active);
  const current = $("qr-option-" + active);
  if (current) current.scrollIntoView({ block: "nearest" });
}

function show(newMode, query) {
  mode = newMode;
  shown = matchQuickReplies(S.quickReplies, query);
  active = 0;
  $("qr-popup").hidden = false;
  $("qr-filter-wrap").hidden = mode !== "picker";
  $("qr-button").setAttribute("aria-expanded", "true");
  $("composer-input").setAttribute("aria-controls", "qr-list");
  render();
}

export function closeQuickReplies({ focusComposer = false } = {}) {
  if (!mode) return;
  owner().removeAttribute("aria-activedescendant");
  mode = null;
  $("qr-popup").hidden = true;
  $("qr-button").setAttribute("aria-expanded", "false");
  if (focusComposer) $("composer-input").focus();
}

function choose(index) {
  const reply = shown[index];
  if (!reply) return;
  const input = $("composer-input");
  const text = fill(reply);
  if (mode === "slash") {
    input.value = text;
  } else {
    const start = input.selectionStart ?? input.value.length;
    const end = input.selectionEnd ?? input.value.length;
    input.value = input.value.slice(0, start) + text + input.value.slice(end);
  }
  closeQuickReplies();
  input.focus();
  input.setSelectionRange(input.value.length, input.value.length);
  input.dispatchEvent(new Event("input", { bubbles: true })); // the draft and typing follow
}

/** The picker: the button or Alt+Q. */
export function openPicker() {
  const id = S.currentId;
  if (!id || $("qr-button").disabled) return;
  show("picker", "");
  $("qr-filter").value = "";
  $("qr-filter").focus();
}

function navigate(event) {
  if (!mode) return false;
  if (event.key === "ArrowDown" || event.key === "ArrowUp") {
    if (shown.length) {
      active = (active + (event.key === "ArrowDown" ? 1 : -1) + shown.length) % shown.length;
      render();
    }
  } else if (event.key === "Enter" || event.key === "Tab") {
    if (!shown.length) {
      if (event.key === "Tab") return false;
      closeQuickReplies({ focusComposer: true });
    } else choose(active);
  } else if (event.key === "Escape") {
    closeQuickReplies({ focusComposer: true });
  } else return false;
  event.preventDefault();
  event.stopImmediatePropagation();
  return true;
}

export function wireQuickReplies() {
  const input = $("composer-input");
  // registered before main.js's own keydown (Enter sends): while the list is open, Enter inserts
  input.addEventListener("keydown", (event) => {
    if (mode === "slash" && !event.isComposing) navigate(event);
  });
  input.addEventListener("input", () => {
    const query = slashQuery(input.value);
    if (query !== null && S.quickReplies.length && !inNoteMode(S.currentId) && !input.disabled) show("slash", query);
    else if (mode === "slash") closeQuickReplies();
  });
  input.addEventListener("blur", () => {
    if (mode === "slash") closeQuickReplies();
  });
  $("qr-filter").addEventListener("input", (event) => {
    shown = matchQuickReplies(S.quickReplies, event.target.value);
    active = 0;
    render();
  });
  $("qr-filter").addEventListener("keydown", (event) => navigate(event));
  $("qr-filter").addEventListener("blur", () => {
    window.setTimeout(() => {
      if (mode === "picker" && !$("qr-popup").contains(document.activeElement)) closeQuickReplies();
    }, 0);
  });
  $("qr-button").addEventListener("click", () => (mode ? closeQuickReplies({ focusComposer: true }) : openPicker()));
}
