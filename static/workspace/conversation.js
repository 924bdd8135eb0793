/* The open conversation: selecting it, loading and syncing its messages, its header and action
 * buttons, and the message list. */

import { $, el, paintAvatar } from "../parley/dom.js";
import { Outbox } from "../parley/outbox.js";
import { Thread } from "../parley/thread.js";
import { messageAttachments } from "./attach.js";
import { F, HISTORY_PAGE, S, T, client, connected, store } from "./context.js";
import { flushOutbox, hideCustomerTyping, restoreDraft, retryOutgoing, discardOutgoing, typing } from "./composer.js";
import { renderList } from "./list.js";
import { dropToastsFor, toast } from "./notify.js";
import { confirmEnd, focusList, listButton, setView } from "./layout.js";
import { loadPanel } from "./panel.js";
import { markCurrentRead } from "./reads.js";
import { conversationActions, orderedIds } from "./state.js";
import { applySearch, keepNotes, listItems, noteNode, renderTogether, summaryOf } from "./together.js";
import { views } from "./views.js";

/** The thread of a conversation (messages by seq + the outbox of replies not yet confirmed). */
export function thread(id) {
  let t = S.threads.get(id);
  if (!t) {
    t = new Thread();
    t.outbox = new Outbox();
    S.threads.set(id, t);
  }
  return t;
}

export function select(id) {
  if (!S.conversations.has(id) && !S.queue.some((q) => q.id === id) && !S.consulting.has(id)) return;
  if (S.currentId && S.currentId !== id) typing.stop();
  S.currentId = id;
  S.currentReassigned = false;
  store.set("current", id);
  const conv = S.conversations.get(id) || S.consulting.get(id);
  S.currentState = conv ? conv.state : "open";
  if (S.search) {
    S.search = "";
    $("conv-search").value = "";
  }
  if (conv && conv.customer_returned) S.attention.delete(id);
  dropToastsFor(id);
  $("empty-state").hidden = true;
  $("conversation").hidden = false;
  hideCustomerTyping();
  restoreDraft(id);
  renderConversationHeader();
  renderMessages(true);
  renderList();
  const t = thread(id);
  if (!t.loaded) openConversation(id);
  else resyncCurrent();
  loadPanel(id);
  setView("conversation");
  // Focus stays where the agent is (the list entry), so that shortcuts such as ? keep working;
  // / or a click puts it in the reply box.
}

export function restoreSelection() {
  const saved = store.get("current", null);
  if (saved && S.conversations.has(saved)) select(saved);
}

function openConversation(id) {
  client.request({ type: "open", conversation_id: id }).then(
    (answer) => {
      const t = thread(id);
      t.loaded = true;
      t.hasMore = answer.conversation.has_more;
      const { messages, has_more: _hasMore, notes, ...summary } = answer.conversation;
      keepNotes(id, notes);
      if (S.conversations.has(id)) S.conversations.set(id, { ...S.conversations.get(id), ...summary });
      if (S.consulting.has(id)) S.consulting.set(id, { ...S.consulting.get(id), ...summary });
      addMessages(id, messages);
      flushOutbox(id); // replies written here while the socket was down (a resend is harmless)
      if (id === S.currentId) {
        S.currentState = summary.state;
        renderConversationHeader();
        renderMessages(true);
        markCurrentRead();
        renderList();
      }
    },
    (error) => toast({ title: T.error, body: error.message, kind: "error" })
  );
}

/** After a reconnect: fetch everything after the last seq we hold, then resend the outbox. */
export function resyncCurrent() {
  const id = S.currentId;
  const t = S.threads.get(id);
  if (!t || !t.loaded) {
    if (S.conversations.has(id) || S.consulting.has(id)) openConversation(id);
    return;
  }
  client.syncAll({ conversation_id: id }, t.maxSeq, (messages) => addMessages(id, messages)).then(
    () => {
      flushOutbox(id);
      if (id === S.currentId) markCurrentRead();
      renderList();
    },
    (error) => {
      if (error.code === "not_allowed" || error.code === "not_found") {
        S.currentState = "closed";
        renderConversationHeader();
      }
    }
  );
}

/** Keep messages of a conversation (from open, sync, history or live); they confirm outbox items. */
export function addMessages(id, messages) {
  const t = thread(id);
  let changed = false;
  for (const msg of messages) {
    if (t.outbox.confirm(msg.client_id)) changed = true;
    if (t.add(msg)) changed = true;
  }
  if (changed && id === S.currentId) renderMessages(false);
}

/** After a (re)connect: threads of other conversations may have missed messages, so they reload on
 * open; their outbox stays and goes out now (client_id makes a resend harmless). */
export function forgetOtherThreads() {
  for (const [id, t] of Array.from(S.threads)) {
    if (id === S.currentId) continue;
    if (t.outbox.size === 0) {
      S.threads.delete(id);
      continue;
    }
    t.clear();
    flushOutbox(id);
  }
}

export function renderConversationHeader() {
  const id = S.currentId;
  if (!id) return;
  const conv = summaryOf(id);
  const state = S.currentState || (conv && conv.state) || "closed";
  if (conv) {
    $("conv-name").textContent = conv.customer.name;
    paintAvatar($("conv-avatar"), conv.customer.name, conv.customer.id);
    $("conv-mode").textContent = T[conv.mode];
    $("conv-mode").className = "badge badge-mode badge-" + conv.mode;
    $("conv-workstream").textContent = conv.workstream.name;
  }
  $("conv-state").textContent = T["state_" + state] || T[state] || state;
  $("conv-state").className = "badge badge-state state-" + state;
  $("conversation").dataset.state = state;
  const { actions, canWrite } = conversationActions(conv, state, connected(), T);
  for (const button of document.querySelectorAll("#conversation [data-action]")) {
    const view = actions[button.dataset.action];
    if (!view) continue;
    const tip = button.parentElement.querySelector(".tip");
    button.disabled = !!view.reason;
    button.hidden = !!view.hidden;
    button.parentElement.hidden = button.hidden;
    if (tip) {
      tip.textContent = view.reason || T[ACTION_HELP[button.dataset.action]] || "";
      button.setAttribute("aria-describedby", tip.id);
    }
  }

  const banner = $("conv-banner");
  let note = "";
  if (state === "waiting") {
    note = conv && conv.customer_returned ? T.customer_returned_body.replace("%(name)s", conv.customer.name) + " " + T.reply_waiting : T.reply_waiting;
  } else if (state === "wrap_up") note = T.reply_wrap_up;
  else if (state === "closed") note = S.currentReassigned ? T.unassigned : T.closed_readonly;
  banner.textContent = note;
  banner.hidden = !note;
  banner.dataset.kind = conv && conv.customer_returned && state === "waiting" ? "returned" : state;

  if (!canWrite) hideCustomerTyping();
  $("composer-input").disabled = !canWrite;
  if (canWrite && S.focusComposerFor === id) {
    S.focusComposerFor = null;
    $("composer-input").focus();
  }
  $("send").disabled = !canWrite;
  $("composer").dataset.enabled = canWrite ? "true" : "false";
  $("composer-note").textContent = canWrite && !connected() ? T.composer_disabled_offline : "";
  renderTogether(); // transfer, consult, notes (together.js)
}

/** The help text of each action button's tooltip while it is enabled. */
const ACTION_HELP = { set_waiting: "set_aside_tip", resume: "resume_tip", end: "end_tip", close: "close_tip" };

function messageNode(msg, pending) {
  const role = msg.sender.role;
  const li = el("li", "msg msg-" + role);
  if (msg.seq) li.dataset.seq = msg.seq;
  if (msg.client_id) li.dataset.clientId = msg.client_id;
  if (role === "system") {
    li.append(el("div", "bubble system-text", msg.text));
    return li;
  }
  const meta = el("div", "msg-meta");
  meta.append(el("span", "msg-author", role === "agent" && S.agent && msg.sender.name === S.agent.name ? T.you : msg.sender.name));
  const when = el("time", "msg-time", pending ? (pending.failed ? T.not_sent : T.sending) : F.time(msg.sent_at));
  if (msg.sent_at) {
    when.dateTime = msg.sent_at;
    when.title = F.dateTime(msg.sent_at);
  }
  meta.append(when);
  li.append(meta);
  if (msg.text) li.append(el("div", "bubble", msg.text));
  const files = messageAttachments(msg);
  if (files) li.append(files);
  if (pending) {
    li.classList.add(pending.failed ? "failed" : "pending");
    if (pending.failed) {
      const row = el("div", "msg-failed");
      row.append(el("span", "", typeof pending.failed === "string" ? pending.failed : T.not_sent));
      const retry = el("button", "link-btn", T.retry);
      retry.type = "button";
      retry.addEventListener("click", () => retryOutgoing(msg.conversation_id, msg.client_id));
      const discard = el("button", "link-btn", T.discard);
      discard.type = "button";
      discard.addEventListener("click", () => discardOutgoing(msg.conversation_id, msg.client_id));
      row.append(retry, discard);
      li.append(row);
    }
  }
  return li;
}

export function renderMessages(toBottom) {
  const id = S.currentId;
  const box = $("messages");
  const list = $("message-list");
  const t = thread(id);
  const nearBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 80;
  const nodes = [];
  let lastDay = "";
  const ordered = t.ordered();
  for (const { kind, item: msg } of listItems(id, ordered)) {
    if (kind === "note") {
      nodes.push(noteNode(msg));
      continue;
    }
    const day = F.dayKey(msg.sent_at);
    if (day !== lastDay) {
      nodes.push(el("li", "day-mark", F.fullDay(msg.sent_at)));
      lastDay = day;
    }
    nodes.push(messageNode(msg, null));
  }
  for (const out of t.outbox.items()) nodes.push(messageNode(out, out));
  if (t.endedLine) {
    const line = el("li", "msg msg-system msg-local");
    line.append(el("div", "bubble system-text", t.endedLine));
    nodes.push(line);
  }
  if (!nodes.length && t.loaded) nodes.push(el("li", "conv-empty", T.no_messages));
  list.replaceChildren(...nodes);
  $("history-mark").textContent = t.loaded && !t.hasMore && ordered.length ? T.start_of_history : t.loadingOlder ? T.load_older : "";
  applySearch();
  if (toBottom || nearBottom) box.scrollTop = box.scrollHeight;
}

export function loadOlder() {
  const id = S.currentId;
  const t = S.threads.get(id);
  if (!t || !t.loaded || !t.hasMore || t.loadingOlder || !connected() || !t.minSeq) return;
  t.loadingOlder = true;
  $("history-mark").textContent = T.load_older;
  const box = $("messages");
  client.history({ conversation_id: id }, t.minSeq, HISTORY_PAGE).then(
    (answer) => {
      t.loadingOlder = false;
      t.hasMore = answer.has_more;
      if (id !== S.currentId) return;
      const fromBottom = box.scrollHeight - box.scrollTop;
      t.addAll(answer.messages);
      renderMessages(false);
      box.scrollTop = box.scrollHeight - fromBottom;
    },
    () => {
      t.loadingOlder = false;
      $("history-mark").textContent = T.older_failed;
    }
  );
}

/** One of the conversation's actions (set_waiting, resume, end, close) from its button or shortcut.
 * End asks first. Afterwards the transcript shows its end and focus goes where the work goes on:
 * the reply box after Resume, the Close button after End, else the next conversation in the list. */
export function act(type) {
  const id = S.currentId;
  const button = document.querySelector('#conversation [data-action="' + type + '"]');
  if (!id || !button || button.disabled || button.hidden) return;
  if (type === "end") {
    const conv = S.conversations.get(id);
    confirmEnd(conv ? conv.customer.name : "", () => send(type, id, button));
    return;
  }
  send(type, id, button);
}

/** The reply box takes focus as soon as the conversation is writable (its "state" news may come
 * after the action's answer). */
function focusComposerWhenWritable(id) {
  if (!$("composer-input").disabled) $("composer-input").focus();
  else S.focusComposerFor = id;
}

function send(type, id, button) {
  const ids = orderedIds(S.conversations).filter((other) => other !== id);
  const at = orderedIds(S.conversations).indexOf(id);
  const next = ids[Math.min(Math.max(at, 0), ids.length - 1)];
  button.disabled = true;
  client.request({ type, conversation_id: id }).then(
    () => {
      if (type === "resume") dropToastsFor(id, "returned"); // "is back" is old news once resumed
      renderList();
      if (id !== S.currentId) return;
      renderConversationHeader();
      renderMessages(true);
      if (type === "resume") focusComposerWhenWritable(id);
      else if (type === "end" && !$("act-close").hidden && !$("act-close").disabled) $("act-close").focus();
      else if (listButton(next)) listButton(next).focus();
      else if (!focusList(id)) $("messages").focus(); // nothing else to work on: the transcript
    },
    (error) => {
      toast({ title: T.error, body: error.message, kind: "error" });
      renderConversationHeader();
    }
  );
}

Object.assign(views, { renderConversationHeader, renderMessages, select, thread });
