/* Parley agent workspace: one page on the agent socket /ws/agent/ (PROTOCOL.md), as ES modules.
 *
 *   context.js      strings, config, the state `S` (declared in state.js), the socket client
 *   state.js        the state's shape and the pure rules (list order, unread, allowed actions)
 *   handlers.js     one handler per frame type from the server
 *   topbar.js       connection, presence, capacity
 *   list.js         the sidebar: conversations by group and the pick queue
 *   conversation.js the open conversation: loading, syncing, header, actions, messages
 *   composer.js     the reply box: drafts, outbox, typing
 *   panel.js        the customer panel
 *   notify.js       title count, toasts, sound, desktop notifications
 *   keyboard.js     shortcuts
 *
 * This module only wires the DOM events and starts the socket. Message text is always set with
 * textContent, never parsed as HTML.
 */
import { $ } from "../parley/dom.js";
import { wireAttachments } from "./attach.js";
import { S, client } from "./context.js";
import { act, loadOlder } from "./conversation.js";
import { onComposerInput, submitReply } from "./composer.js";
import { registerHandlers } from "./handlers.js";
import { onKey, toggleHelp } from "./keyboard.js";
import { wireLayout } from "./layout.js";
import { renderList } from "./list.js";
import { renderSound, setupPermissionPrompt, toggleSound } from "./notify.js";
import { wireQuickReplies } from "./quickreplies.js";
import { wireTogether } from "./together.js";
import { markCurrentRead } from "./reads.js";
import { renderAll } from "./render.js";
import { setConnection, setPresence } from "./topbar.js";

registerHandlers();
wireLayout();
wireTogether(); // before the composer's keys below: the quick-reply list takes Enter while it is open
wireQuickReplies();
// 4403: the server ended this user's access (signed out, deactivated, password changed: docs/security.md).
// Loading the page again leads to the sign-in page, or back in if this browser is still signed in.
const ACCESS_ENDED = 4403;
client.onClose = (event) => {
  if (event && event.code === ACCESS_ENDED) {
    window.location.reload();
    return 60000; // no reconnecting while the page goes
  }
  setConnection("reconnecting");
  renderAll();
};

$("presence").addEventListener("change", (event) => setPresence(event.target.value));
$("composer").addEventListener("submit", (event) => {
  event.preventDefault();
  submitReply();
});
$("composer-input").addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    submitReply();
  }
});
$("composer-input").addEventListener("input", onComposerInput);
wireAttachments();
$("messages").addEventListener("scroll", () => {
  if ($("messages").scrollTop < 60) loadOlder();
});
for (const button of document.querySelectorAll("#conversation [data-action]")) {
  button.addEventListener("click", () => act(button.dataset.action));
}
$("sound-toggle").addEventListener("click", toggleSound);
$("help-toggle").addEventListener("click", () => toggleHelp());
document.addEventListener("keydown", onKey);
document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "visible" && S.currentId) {
    markCurrentRead();
    renderList();
  }
});
window.setInterval(renderList, 30000); // "2 min ago" stays true

renderSound();
setupPermissionPrompt();
setConnection("connecting");
renderAll();
client.start();
