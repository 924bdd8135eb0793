/* The page at every width (workspace.css): below 1200 px the customer panel is a drawer opened from
 * the conversation header; on a phone either the list or the open conversation fills the screen.
 * Also the End confirmation and where focus goes after an action. */

import { $ } from "../parley/dom.js";
import { fmt } from "../parley/format.js";
import { T } from "./context.js";

/** "list" or "conversation": what a phone-width screen shows. */
export function setView(view) {
  $("ws").dataset.view = view;
}

export function togglePanel(open) {
  const show = open === undefined ? $("ws").dataset.panel !== "open" : open;
  $("ws").dataset.panel = show ? "open" : "closed";
  $("panel-toggle").setAttribute("aria-expanded", show ? "true" : "false");
}

/** The list entry of a conversation (its button), or null. */
export function listButton(id) {
  const item = id ? document.querySelector('.conv-item[data-id="' + CSS.escape(id) + '"] .conv-button') : null;
  return item || null;
}

/** Focus a list entry: the given conversation's, else the first one; false when the list is empty. */
export function focusList(id) {
  const button = listButton(id) || document.querySelector(".sidebar .conv-button, .sidebar .pick-button:not([disabled])");
  if (button) button.focus();
  return Boolean(button);
}

let pendingEnd = null;

/** Ask before ending: `onYes` runs only when the agent confirms. */
export function confirmEnd(name, onYes) {
  pendingEnd = onYes;
  $("end-confirm-body").textContent = fmt(T.end_confirm_body, { name });
  $("end-confirm").hidden = false;
  $("end-yes").focus();
}

function closeConfirm(confirmed) {
  const action = pendingEnd;
  pendingEnd = null;
  $("end-confirm").hidden = true;
  if (confirmed && action) action();
  else $("act-end").focus();
}

export function confirmOpen() {
  return !$("end-confirm").hidden;
}

export function wireLayout() {
  setView("list");
  togglePanel(false);
  $("panel-toggle").addEventListener("click", () => {
    togglePanel(true);
    window.requestAnimationFrame(() => $("panel-close").focus()); // once the drawer is visible
  });
  $("panel-close").addEventListener("click", () => {
    togglePanel(false);
    $("panel-toggle").focus();
  });
  $("back-to-list").addEventListener("click", () => {
    setView("list");
    focusList(document.querySelector(".conv-item.selected") ? document.querySelector(".conv-item.selected").dataset.id : null);
  });
  $("end-yes").addEventListener("click", () => closeConfirm(true));
  $("end-cancel").addEventListener("click", () => closeConfirm(false));
  $("end-confirm").addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      event.preventDefault();
      event.stopPropagation();
      closeConfirm(false);
    } else if (event.key === "Tab") {
      // keep focus inside the dialog
      const first = $("end-cancel");
      const last = $("end-yes");
      if (event.shiftKey && document.activeElement === first) {
        event.preventDefault();
        last.focus();
      } else if (!event.shiftKey && document.activeElement === last) {
        event.preventDefault();
        first.focus();
      }
    }
  });
}
