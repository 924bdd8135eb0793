/* The reply box: drafts, sending through the conversation's outbox, typing both ways. */

import { $ } from "../parley/dom.js";
import { fmt } from "../parley/format.js";
import { TypingSender } from "../parley/typing.js";
import { CONFIG, S, T, TYPING_IDLE, TYPING_SEND_EVERY, TYPING_SHOW_FOR, client } from "./context.js";
import { takeAttachments, uploading } from "./attach.js";
import { renderList } from "./list.js";
import { markCurrentRead } from "./reads.js";
import { withMessage } from "./state.js";
import { inNoteMode, submitNote } from "./together.js";
import { views } from "./views.js";

export const typing = new TypingSender({
  send: (active) => (S.currentId ? client.send({ type: "typing", conversation_id: S.currentId, active }) : false),
  repeatEvery: TYPING_SEND_EVERY,
  idleAfter: TYPING_IDLE,
});

export function restoreDraft(id) {
  $("composer-input").value = S.drafts.get(id) || "";
}

export function submitReply() {
  const id = S.currentId;
  const input = $("composer-input");
  const text = input.value.trim();
  if (!id || input.disabled) return;
  if (inNoteMode(id)) {
    // an internal note: only agents see it (together.js)
    if (!text) return;
    if (text.length > CONFIG.max_text_chars) {
      $("composer-note").textContent = fmt(T.too_long, { max: CONFIG.max_text_chars });
      return;
    }
    submitNote(id, text);
    return;
  }
  if (uploading()) {
    $("composer-note").textContent = T.wait_upload;
    return;
  }
  const files = takeAttachments();
  if (!text && !files.length) return;
  if (text.length > CONFIG.max_text_chars) {
    $("composer-note").textContent = fmt(T.too_long, { max: CONFIG.max_text_chars });
    return;
  }
  const item = views.thread(id).outbox.add({
    conversation_id: id,
    text,
    files,
    attachments: [],
    sender: { role: "agent", name: S.agent ? S.agent.name : T.you },
    sent_at: null,
  });
  input.value = "";
  S.drafts.delete(id);
  typing.stop();
  views.renderMessages(true);
  sendOutgoing(id, item);
}

function sendOutgoing(id, item) {
  if (!client.ready) return; // stays in the outbox; flushOutbox() sends it after the next welcome
  const outbox = views.thread(id).outbox;
  outbox.markSent(item.client_id, client.socketNo);
  const frame = { type: "send", conversation_id: id, client_id: item.client_id, text: item.text };
  if (item.files && item.files.length) frame.attachments = item.files.map((f) => f.id);
  client.request(frame).then(
    (answer) => {
      const t = views.thread(id);
      t.outbox.confirm(item.client_id);
      t.add(answer.message);
      const conv = S.conversations.get(id);
      if (conv) S.conversations.set(id, withMessage(conv, answer.message));
      if (id === S.currentId) {
        markCurrentRead();
        views.renderMessages(false);
      }
      renderList();
    },
    (error) => {
      if (error.code === "unavailable" && !client.ready) return; // resent on reconnect
      failOutgoing(item.client_id, error.message);
    }
  );
}

/** The server refused a reply (an `error` echoing its client_id). */
export function failOutgoing(clientId, message) {
  for (const [id, t] of S.threads) {
    if (t.outbox.fail(clientId, message || T.not_sent) && id === S.currentId) views.renderMessages(false);
  }
}

export function retryOutgoing(id, clientId) {
  const item = views.thread(id).outbox.retry(clientId);
  if (item) sendOutgoing(id, item);
  views.renderMessages(false);
}

export function discardOutgoing(id, clientId) {
  views.thread(id).outbox.drop(clientId);
  views.renderMessages(false);
}

/** Send what the conversation's outbox has not sent on this socket yet. */
export function flushOutbox(id) {
  const t = S.threads.get(id);
  if (!t) return;
  for (const item of t.outbox.due(client.socketNo)) sendOutgoing(id, item);
}

export function onComposerInput() {
  const id = S.currentId;
  if (!id) return;
  S.drafts.set(id, $("composer-input").value);
  if ($("composer-input").disabled || inNoteMode(id)) return; // the customer never sees a note typed
  typing.input(true);
}

export function showCustomerTyping() {
  const conv = S.conversations.get(S.currentId);
  $("typing").textContent = fmt(T.typing, { name: conv ? conv.customer.name : T.customer_role });
  $("typing").classList.add("on");
  window.clearTimeout(S.customerTyping);
  S.customerTyping = window.setTimeout(hideCustomerTyping, TYPING_SHOW_FOR);
}

export function hideCustomerTyping() {
  window.clearTimeout(S.customerTyping);
  $("typing").textContent = "";
  $("typing").classList.remove("on");
}

Object.assign(views, { typing });
