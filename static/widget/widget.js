/* Parley customer chat: the page inside the widget's iframe (an ES module, loaded by frame.html).
 *
 * Speaks the customer socket /ws/widget/<public_id>/ (PROTOCOL.md) through the shared client in
 * static/parley/: hello, send/ack with client_id, sync after the last seq, history before the first
 * one, typing, end. Talks to the embedding page (loader.js) only with postMessage addressed to the
 * origin the server checked, and only listens to that origin. Message text is always set with
 * textContent.
 *
 * Adding a frame: register its handler in HANDLERS below; state the widget keeps lives in `S`.
 */
import { Client, socketUrl } from "../parley/client.js";
import { $, el as node, readJson } from "../parley/dom.js";
import { fmt, formats, initials, plural } from "../parley/format.js";
import { Outbox } from "../parley/outbox.js";
import { storage } from "../parley/storage.js";
import { Thread } from "../parley/thread.js";
import { TypingSender } from "../parley/typing.js";
import * as journey from "./journey.js";

const cfg = readJson("parley-config");
const T = readJson("parley-strings");
// The customer sees dates and times in the widget's language as such (the workspace uses the agent's
// regional variant, see pageLocale).
const F = formats(cfg.language);
const els = {
  chat: $("chat"), log: $("log"), status: $("status"), statusText: $("status-text"), end: $("end"),
  minimize: $("minimize"), connection: $("connection"), typing: $("typing"), typingText: $("typing-text"),
  offline: $("offline"), ended: $("ended"), endedText: $("ended-text"), composer: $("composer"),
  input: $("input"), composerError: $("composer-error"), confirm: $("confirm"), announce: $("announce"),
  avatar: $("avatar"), initials: $("avatar-initials"),
};

// --- storage: tab-scoped state in sessionStorage, the visitor token in localStorage ---------------
const tab = storage("sessionStorage", "parley:" + cfg.publicId + ":");
const device = storage("localStorage", "parley:" + cfg.publicId + ":");

const embedded = Boolean(cfg.parentOrigin) && window.parent !== window;

/** The widget's state. */
const S = {
  token: null, tokenExp: 0, tokenRequest: null, authFailures: 0,
  customer: null,
  online: true,
  conv: null, // {id, state, agent}
  thread: new Thread(), // the conversation's messages by seq
  notices: [], // {code, text, afterSeq}
  outbox: new Outbox(tab.get("pending", []), { onChange: (box) => tab.set("pending", box.toJSON()) }),
  open: embedded ? tab.get("open", false) : true,
  unread: 0,
  typingShown: null,
};

const client = new Client({
  url: socketUrl(cfg.wsPath),
  reqPrefix: "c",
  prepare: prepareSignIn,
  hello: () => ({ type: "hello", token: cfg.auth ? S.token : null, visitor: cfg.auth ? null : device.get("visitor", null) }),
  onClose: onSocketClosed,
});

const typing = new TypingSender({
  send: (active) => client.send({ type: "typing", active }),
  idleAfter: 3000,
});

// --- parent page (loader.js) ------------------------------------------------------------------------
function toParent(message) {
  if (!embedded) return;
  message.parley = cfg.publicId;
  window.parent.postMessage(message, cfg.parentOrigin);
}

window.addEventListener("message", (event) => {
  if (!embedded || event.source !== window.parent || event.origin !== cfg.parentOrigin) return;
  const data = event.data;
  if (!data || typeof data !== "object" || data.parley !== cfg.publicId) return;
  if (data.type === "token" && S.tokenRequest) {
    const request = S.tokenRequest;
    S.tokenRequest = null;
    if (typeof data.token === "string" && data.token) request.resolve(data.token);
    else request.reject(new Error("no token"));
  } else if (data.type === "open") {
    setOpen(true, false);
  } else if (data.type === "close") {
    setOpen(false, false);
  }
});

// --- signing in (widgets with authentication) --------------------------------------------------------
function tokenExpiry(token) {
  try {
    let part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    while (part.length % 4) part += "=";
    const exp = JSON.parse(atob(part)).exp;
    return typeof exp === "number" ? exp : 0;
  } catch (e) {
    return 0;
  }
}

function requestToken() {
  if (!embedded) return Promise.reject(new Error("not embedded"));
  if (S.tokenRequest) return S.tokenRequest.promise;
  const request = {};
  request.promise = new Promise((resolve, reject) => {
    request.resolve = resolve;
    request.reject = reject;
    setTimeout(() => {
      if (S.tokenRequest === request) {
        S.tokenRequest = null;
        reject(new Error("timeout"));
      }
    }, 15000);
  });
  S.tokenRequest = request;
  toParent({ type: "token_request", fn: cfg.authFunction });
  return request.promise.then((token) => {
    S.token = token;
    S.tokenExp = tokenExpiry(token);
    return token;
  });
}

function tokenFresh() {
  return Boolean(S.token) && (!S.tokenExp || S.tokenExp * 1000 - Date.now() > 30000);
}

/** Before each socket: a widget with authentication needs a fresh token from the site. */
function prepareSignIn() {
  if (!cfg.auth || tokenFresh()) return null;
  setConnection("signing_in");
  return requestToken().catch(() => {
    setConnection("signin_needed");
    throw { retryIn: 5000 };
  });
}

function onSocketClosed(event) {
  S.thread.loadingOlder = false;
  showTyping(false);
  if (event.code === 4401) {
    S.token = null;
    S.authFailures += 1;
  }
  if (event.code === 4409) {
    setConnection("elsewhere");
    return 30000;
  }
  setConnection(client.everReady ? "reconnecting" : "connecting");
  return S.authFailures > 2 ? Math.max(client.nextDelay(), 10000) : undefined;
}

// --- frames from the server ----------------------------------------------------------------------------
const HANDLERS = {
  welcome: onWelcome,
  ack: onAck,
  message: (frame) => onMessage(frame.message, true),
  sync: onSync,
  history: onHistory,
  state: onState,
  typing: (frame) => {
    if (frame.role === "agent") showTyping(frame.active);
  },
  notice: onNotice,
  error: onError,
};
for (const [type, handler] of Object.entries(HANDLERS)) client.on(type, handler);

function onWelcome(frame) {
  S.authFailures = 0;
  S.online = Boolean(frame.widget && frame.widget.online);
  if (frame.visitor) device.set("visitor", frame.visitor);
  const customerId = frame.customer && frame.customer.id;
  if (tab.get("customer", null) !== customerId) {
    // another customer signed in in this tab: nothing of the previous one carries over
    if (tab.get("customer", null) !== null) {
      S.outbox.clear();
      els.input.value = "";
      tab.remove("draft");
      resetConversation(null);
    }
    tab.set("customer", customerId);
  }
  S.customer = frame.customer;
  const conv = frame.conversation;
  if (conv) {
    const known = S.conv && S.conv.id === conv.id;
    if (!known) resetConversation(conv);
    const gapFrom = known && conv.messages.length && S.thread.gapBefore(conv.messages[0].seq) ? S.thread.maxSeq : null;
    S.conv.state = conv.state;
    S.conv.agent = conv.agent || null;
    conv.messages.forEach(keep);
    if (!known) S.thread.hasMore = conv.has_more;
    if (gapFrom !== null) client.send({ type: "sync", after_seq: gapFrom });
  } else if (S.conv && S.conv.state !== "closed") {
    // our conversation ended while we were away
    S.conv.state = "closed";
  }
  setConnection("connected");
  journey.onWelcome(frame);
  flushPending();
  render("bottom");
}

function resetConversation(conv) {
  S.conv = conv ? { id: conv.id, state: conv.state, agent: conv.agent || null } : null;
  S.thread = new Thread();
  S.notices = [];
}

function keep(message) {
  if (!message || typeof message.seq !== "number") return false;
  if (S.conv && message.conversation_id && message.conversation_id !== S.conv.id) return false;
  const isNew = S.thread.add(message);
  if (message.client_id) S.outbox.confirm(message.client_id);
  return isNew;
}

function onAck(frame) {
  const message = frame.message;
  if (!S.conv || S.conv.id !== message.conversation_id) {
    if (!S.conv || S.conv.state === "closed") resetConversation({ id: message.conversation_id, state: "open" });
  }
  keep(message);
  render("bottom");
}

function onMessage(message, live) {
  if (!message) return;
  if (!S.conv || (S.conv.id !== message.conversation_id && S.conv.state === "closed")) {
    resetConversation({ id: message.conversation_id, state: "open" });
  }
  const isNew = keep(message);
  if (isNew && live && message.sender && message.sender.role !== "customer") {
    if (message.sender.role === "agent") showTyping(false);
    if (!S.open || document.hidden) {
      S.unread += 1;
      toParent({ type: "unread", count: S.unread, label: plural(T.unread, S.unread, F.locale) });
    }
    announce(fmt(T.new_message_from, { name: message.sender.name || T.agent, text: message.text }));
  }
  render("bottom");
}

function onSync(frame) {
  (frame.messages || []).forEach(keep);
  if (frame.has_more) client.send({ type: "sync", after_seq: S.thread.maxSeq });
  render("bottom");
}

function onHistory(frame) {
  S.thread.loadingOlder = false;
  S.thread.pagedBack = true;
  (frame.messages || []).forEach(keep);
  S.thread.hasMore = Boolean(frame.has_more);
  render("keep");
}

const WAIT_NOTICES = ["queue_position", "average_wait_time"];

function onState(frame) {
  if (!S.conv || (S.conv.id !== frame.conversation_id && S.conv.state === "closed")) {
    resetConversation({ id: frame.conversation_id, state: frame.state });
  } else if (S.conv.id !== frame.conversation_id) {
    return;
  }
  // Wrap-up is the agent's after-work: for the customer the conversation has ended, and their next
  // message starts a new one (as after "closed").
  S.conv.state = frame.state === "wrap_up" ? "closed" : frame.state;
  if (frame.agent) S.conv.agent = frame.agent;
  if (frame.state === "closed" || frame.state === "wrap_up") {
    journey.onConversationEnded();
    showTyping(false);
    S.notices = S.notices.filter((n) => !WAIT_NOTICES.includes(n.code));
  }
  render("bottom");
}

function onNotice(frame) {
  if (journey.onNotice(frame)) return;
  if (WAIT_NOTICES.includes(frame.code)) S.notices = S.notices.filter((n) => n.code !== frame.code);
  if (frame.code === "agent_joined") S.notices = S.notices.filter((n) => !WAIT_NOTICES.includes(n.code));
  S.notices.push({ code: frame.code, text: String(frame.text || ""), data: frame.data || {}, afterSeq: S.thread.maxSeq });
  announce(String(frame.text || ""));
  render("bottom");
}

function onError(frame) {
  if (frame.client_id !== undefined) {
    const item = S.outbox.get(frame.client_id);
    if (!item) return;
    if (frame.code === "rate_limited") {
      setTimeout(() => sendPending(item), 1500);
      return;
    }
    if (journey.onSendError(frame, item)) {
      saveDraft();
      return;
    }
    if (frame.code === "unavailable") {
      // live chat outside operating hours: give the text back and show the offline state
      S.online = false;
      if (!els.input.value) els.input.value = item.text;
      saveDraft();
      S.outbox.drop(item.client_id);
    } else {
      S.outbox.fail(item.client_id, frame.message || T.not_sent);
    }
    render("bottom");
    return;
  }
  if (frame.code === "not_allowed" || frame.code === "not_found") {
    showComposerError(frame.message);
  }
}

// --- sending ------------------------------------------------------------------------------------------
function sendPending(item) {
  if (item.failed) return;
  const frame = { type: "send", client_id: item.client_id, text: item.text };
  if (item.files && item.files.length) frame.attachments = item.files.map((f) => f.id);
  if (client.send(frame)) {
    S.outbox.markSent(item.client_id, client.socketNo);
  }
}

function flushPending() {
  S.outbox.due(client.socketNo).forEach(sendPending);
}

function submit() {
  const text = els.input.value.trim();
  if (journey.uploading()) {
    showComposerError(T.wait_upload);
    return;
  }
  const files = journey.takeAttachments();
  if (!text && !files.length) return;
  if (text.length > cfg.maxChars) {
    showComposerError(fmt(T.too_long, { max: cfg.maxChars }));
    return;
  }
  if (S.conv && S.conv.state === "closed") resetConversation(null);
  const item = S.outbox.add({ text, files, at: new Date().toISOString() });
  els.input.value = "";
  saveDraft();
  autosize();
  typing.stop();
  showComposerError("");
  sendPending(item);
  render("force");
}

// --- typing ------------------------------------------------------------------------------------------
function onInput() {
  saveDraft();
  autosize();
  if (!S.conv || S.conv.state === "closed") return;
  typing.input(Boolean(els.input.value.trim()));
}

function showTyping(active) {
  clearTimeout(S.typingShown);
  const name = (S.conv && S.conv.agent && S.conv.agent.name) || T.agent;
  els.typingText.textContent = fmt(T.typing, { name });
  els.typing.hidden = !active;
  if (active) S.typingShown = setTimeout(() => { els.typing.hidden = true; }, 10000);
}

// --- drafts, open state -----------------------------------------------------------------------------
function saveDraft() {
  if (els.input.value) tab.set("draft", els.input.value);
  else tab.remove("draft");
}

function autosize() {
  els.input.style.height = "auto";
  els.input.style.height = Math.min(els.input.scrollHeight, 132) + "px";
}

function setOpen(open, tellParent) {
  S.open = open;
  tab.set("open", open);
  if (open) {
    S.unread = 0;
    toParent({ type: "unread", count: 0 });
    setTimeout(() => {
      els.input.focus();
      scrollToBottom();
    }, 50);
  }
  if (tellParent) toParent({ type: open ? "open" : "close" });
}

// --- rendering -------------------------------------------------------------------------------------
function announce(text) {
  const line = document.createElement("p");
  line.textContent = text;
  els.announce.appendChild(line);
  while (els.announce.childNodes.length > 5) els.announce.removeChild(els.announce.firstChild);
}

function bubble(role, name, text, showName, attachments) {
  const row = node("div", "msg msg-" + role);
  if (showName) row.appendChild(node("div", "msg-name", name));
  if (text) row.appendChild(node("div", "bubble", text));
  if (attachments) row.appendChild(attachments);
  return row;
}

function nearBottom() {
  const log = els.log;
  return log.scrollHeight - log.scrollTop - log.clientHeight < 80;
}

function scrollToBottom() {
  els.log.scrollTop = els.log.scrollHeight;
}

function render(scroll) {
  const log = els.log;
  const stick = scroll === "force" || nearBottom();
  const fromBottom = log.scrollHeight - log.scrollTop;
  const fragment = document.createDocumentFragment();

  const earlier = journey.earlierNode();
  if (earlier) fragment.appendChild(earlier);
  const ordered = S.thread.ordered();
  const answered = ordered.some((m) => m.sender && m.sender.role === "agent");
  if (cfg.mode === "persistent") fragment.appendChild(node("div", "info", T.persistent_info));
  else if (S.online && !answered && !(S.conv && S.conv.state === "closed")) {
    // the greeting stays until the first reply
    fragment.appendChild(node("div", "info", T.welcome_live));
  }
  // "Start of the conversation" only where a day line alone would not say it: history spanning days,
  // or older pages the customer scrolled back through
  const days = new Set(ordered.map((m) => F.weekdayDay(m.sent_at)));
  const long = days.size > 1 || S.thread.pagedBack;
  if (S.thread.hasMore) fragment.appendChild(node("div", "history-mark", T.load_older));
  else if (S.thread.minSeq === 1 && long) fragment.appendChild(node("div", "history-mark", T.start_of_history));

  let lastDay = null;
  let lastSender = null;
  const notices = S.notices.slice();
  const flushNotices = (uptoSeq) => {
    while (notices.length && notices[0].afterSeq <= uptoSeq) {
      fragment.appendChild(node("div", "notice notice-" + notices[0].code, notices[0].text));
      notices.shift();
      lastSender = null;
    }
  };
  for (const m of ordered) {
    flushNotices(m.seq - 1);
    const day = F.weekdayDay(m.sent_at);
    if (day !== lastDay) {
      fragment.appendChild(node("div", "day", day));
      lastDay = day;
      lastSender = null;
    }
    const role = (m.sender && m.sender.role) || "system";
    if (role === "system") {
      fragment.appendChild(node("div", "notice", m.text));
      lastSender = null;
      continue;
    }
    const name = role === "customer" ? T.you : m.sender.name || T.agent;
    const senderKey = role + ":" + name;
    const row = bubble(role, name, m.text, role === "agent" && senderKey !== lastSender, journey.attachmentsOf(m));
    row.dataset.seq = String(m.seq);
    if (m.client_id) row.dataset.clientId = m.client_id;
    const meta = node("div", "meta");
    const time = node("time", "", F.time(m.sent_at));
    time.dateTime = m.sent_at;
    time.title = F.stamp(m.sent_at);
    meta.appendChild(time);
    if (role === "customer") meta.appendChild(node("span", "tick", "✓"));
    row.appendChild(meta);
    fragment.appendChild(row);
    lastSender = senderKey;
  }
  flushNotices(Infinity);

  for (const p of S.outbox.items()) fragment.appendChild(pendingRow(p));

  log.replaceChildren(fragment);
  if (scroll === "keep") log.scrollTop = log.scrollHeight - fromBottom;
  else if (stick) scrollToBottom();
  renderChrome();
}

function pendingRow(p) {
  const row = bubble("customer", T.you, p.text, false);
  for (const f of p.files || []) row.appendChild(node("div", "pending-file", "📎 " + f.name));
  row.classList.add(p.failed ? "failed" : "pending");
  row.dataset.clientId = p.client_id;
  const meta = node("div", "meta");
  if (p.failed) {
    meta.appendChild(node("span", "status-failed", T.not_sent));
    const retry = node("button", "link", T.retry);
    retry.type = "button";
    retry.addEventListener("click", () => {
      S.outbox.retry(p.client_id);
      sendPending(p);
      render("keep");
    });
    const discard = node("button", "link", T.discard);
    discard.type = "button";
    discard.addEventListener("click", () => {
      S.outbox.drop(p.client_id);
      render("keep");
    });
    meta.appendChild(retry);
    meta.appendChild(discard);
  } else {
    meta.appendChild(node("span", "status-pending", T.sending));
  }
  row.appendChild(meta);
  return row;
}

function renderChrome() {
  const conv = S.conv;
  const state = conv ? conv.state : null;
  const ended = state === "closed" || state === "wrap_up";
  const agentName = conv && conv.agent && conv.agent.name;

  if (client.ready) {
    let text;
    let dot = "online";
    if (agentName && state === "active") text = fmt(T.with_agent, { name: agentName });
    else if (cfg.mode === "persistent") text = T.persistent_status;
    else if (state === "open") {
      text = queuedStatus();
      dot = "waiting";
    } else if (ended) {
      text = T.ended;
      dot = "off";
    } else if (S.online) text = T.online;
    else {
      text = T.offline;
      dot = "off";
    }
    els.statusText.textContent = text;
    els.status.title = text;
    els.status.dataset.state = dot;
  }
  if (agentName && state !== "open") {
    els.initials.textContent = initials(agentName);
    els.initials.hidden = false;
    els.avatar.classList.add("has-initials");
  } else {
    els.initials.hidden = true;
    els.avatar.classList.remove("has-initials");
  }

  els.end.hidden = !(cfg.customerCanEnd && conv && !ended);
  const showEnded = cfg.mode === "live" && ended;
  const showOffline = !showEnded && cfg.mode === "live" && !S.online && (!conv || ended);
  els.ended.hidden = !showEnded;
  els.endedText.textContent = T.ended_panel;
  els.offline.hidden = !showOffline;
  els.log.hidden = showOffline;
  els.composer.hidden = showEnded || showOffline;
  if (cfg.mode === "persistent" && state === "closed") showComposerHint(T.ended_persistent);
  else showComposerHint("");
  els.chat.dataset.state = state || "none";
  journey.renderPanels({ ended });
}

/** What is true while the conversation waits in the queue: nobody available, the position, or waiting. */
function queuedStatus() {
  const latest = (code) => S.notices.filter((n) => n.code === code).pop();
  if (latest("no_agent_available")) return T.no_agent_status;
  const position = latest("queue_position");
  if (position && position.data && position.data.position) return fmt(T.queue_status, { position: position.data.position });
  return T.waiting_agent;
}

/** A hint above the reply box (a closed persistent conversation): a line of its own, never a clipped
 * placeholder. */
function showComposerHint(text) {
  const hint = $("composer-hint");
  hint.textContent = text || "";
  hint.hidden = !text;
  els.input.placeholder = T.placeholder;
}

function showComposerError(text) {
  els.composerError.textContent = text || "";
  els.composerError.hidden = !text;
}

function setConnection(state) {
  const text = {
    connecting: T.connecting, reconnecting: T.reconnecting, signing_in: T.signing_in,
    signin_needed: T.signin_needed, elsewhere: T.elsewhere,
  }[state];
  els.connection.textContent = text || "";
  els.connection.hidden = !text || (state === "connecting" && !client.everReady);
  els.connection.dataset.state = state;
  els.chat.dataset.connection = state;
  if (!client.ready) {
    els.statusText.textContent = text || T.connecting;
    els.status.dataset.state = "connecting";
  }
}

// --- wiring ------------------------------------------------------------------------------------------
function applyTheme() {
  // the brand colour, text on it in the colour with the better contrast (the server chose it)
  document.documentElement.style.setProperty("--accent", cfg.color);
  document.documentElement.style.setProperty("--on-accent", cfg.onColor || "#ffffff");
  if (cfg.logoUrl) {
    const logo = $("avatar-logo");
    logo.addEventListener("error", () => {
      logo.hidden = true;
      els.avatar.classList.remove("has-logo");
    });
    logo.src = cfg.logoUrl;
    logo.hidden = false;
    els.avatar.classList.add("has-logo");
  }
}

function loadOlder() {
  const t = S.thread;
  if (els.log.scrollTop < 60 && t.hasMore && !t.loadingOlder && t.minSeq > 1) {
    if (client.send({ type: "history", before_seq: t.minSeq, limit: 30 })) t.loadingOlder = true;
  }
}

function wire() {
  applyTheme();
  journey.initJourney({ cfg, T, F, client, S, tab, render, keep });
  els.minimize.hidden = !embedded;
  els.composer.addEventListener("submit", (event) => {
    event.preventDefault();
    submit();
  });
  els.input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      submit();
    }
  });
  els.input.addEventListener("input", onInput);
  els.input.addEventListener("blur", () => typing.stop());
  els.minimize.addEventListener("click", () => setOpen(false, true));
  els.end.addEventListener("click", () => {
    els.confirm.hidden = false;
    $("confirm-cancel").focus();
  });
  $("confirm-cancel").addEventListener("click", () => {
    els.confirm.hidden = true;
    els.end.focus();
  });
  $("confirm-end").addEventListener("click", () => {
    els.confirm.hidden = true;
    client.send({ type: "end" });
  });
  els.confirm.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      els.confirm.hidden = true;
      els.end.focus();
    }
  });
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && els.confirm.hidden && embedded) setOpen(false, true);
  });
  $("transcript").addEventListener("click", () => journey.downloadTranscript("txt"));
  $("new-chat").addEventListener("click", () => {
    resetConversation(null);
    render("force");
    els.input.focus();
  });
  els.log.addEventListener("scroll", loadOlder);
  window.addEventListener("online", () => client.wake());
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden && client.retryTimer) client.wake();
    if (!document.hidden && S.open && S.unread) {
      S.unread = 0;
      toParent({ type: "unread", count: 0 });
    }
  });
  els.input.value = tab.get("draft", "");
  autosize();
  render("force");
  setConnection("connecting");
  toParent({
    type: "ready", open: S.open, color: cfg.color, title: cfg.title,
    labels: { open: T.open_chat, close: T.close_chat },
  });
  client.start();
}

wire();
