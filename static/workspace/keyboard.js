/* Keyboard shortcuts (the help dialog in the template lists them). */

import { $ } from "../parley/dom.js";
import { S, connected } from "./context.js";
import { act, select } from "./conversation.js";
import { confirmOpen } from "./layout.js";
import { PRESENCES, orderedIds } from "./state.js";
import { setPresence } from "./topbar.js";
import { openPicker } from "./quickreplies.js";
import { dialogOpen, onTogetherKey } from "./together.js";

/** Alt+<key> -> conversation action. */
const ACTION_KEYS = { KeyW: "set_waiting", KeyR: "resume", KeyE: "end", KeyC: "close" };

function moveSelection(step) {
  const ids = orderedIds(S.conversations);
  if (!ids.length) return;
  const at = ids.indexOf(S.currentId);
  const next = at < 0 ? (step > 0 ? 0 : ids.length - 1) : (at + step + ids.length) % ids.length;
  select(ids[next]);
}

export function toggleHelp(show) {
  const help = $("help");
  const visible = show === undefined ? help.hidden : show;
  help.hidden = !visible;
  $("help-toggle").setAttribute("aria-expanded", visible ? "true" : "false");
}

export function onKey(event) {
  const typingInField = /^(TEXTAREA|INPUT|SELECT)$/.test(event.target.tagName);
  if (confirmOpen() || dialogOpen()) return; // the End confirmation and the dialogs handle their own keys
  if (event.key === "Escape") {
    toggleHelp(false);
    const last = $("toasts").lastElementChild;
    if (last) last.remove();
    return;
  }
  if (event.altKey && !event.ctrlKey && !event.metaKey) {
    if (onTogetherKey(event)) return;
    if (event.code === "KeyQ") {
      event.preventDefault();
      openPicker();
    } else if (ACTION_KEYS[event.code]) {
      event.preventDefault();
      act(ACTION_KEYS[event.code]);
    } else if (event.code === "ArrowDown" || event.code === "ArrowUp") {
      event.preventDefault();
      moveSelection(event.code === "ArrowDown" ? 1 : -1);
    } else if (event.code === "KeyP") {
      event.preventDefault();
      const button = document.querySelector("#list-queue .pick-button:not([disabled])");
      if (button) button.click();
    } else if (/^Digit[1-4]$/.test(event.code)) {
      event.preventDefault();
      if (connected()) setPresence(PRESENCES[Number(event.code.slice(5)) - 1]);
    }
    return;
  }
  if (typingInField || event.ctrlKey || event.metaKey) return;
  if (event.key === "?") {
    event.preventDefault();
    toggleHelp();
  } else if (event.key === "/") {
    event.preventDefault();
    $("composer-input").focus();
  }
}
