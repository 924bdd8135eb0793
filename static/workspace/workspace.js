/* Parley agent workspace: one page on the agent socket /ws/agent/ (PROTOCOL.md).
 *
 * State lives in `S`; every socket frame updates it and re-renders the part it
 * touched. Message text is always set with textContent, never parsed as HTML.
 * Translated strings come from the server in <script id="ws-strings">.
 */
(function () {
  "use strict";

  const T = JSON.parse(document.getElementById("ws-strings").textContent);
  const CONFIG = JSON.parse(document.getElementById("ws-config").textContent);
  const ZERO_ID = "00000000-0000-0000-0000-000000000000";
  const GROUPS = ["active", "waiting", "wrap_up"];
  const PRESENCES = ["available", "busy", "away", "offline"];
  const HISTORY_PAGE = 50;
  const TYPING_SEND_EVERY = 3000;
  const TYPING_IDLE = 4000;
  const TYPING_SHOW_FOR = 6000;
  const BASE_TITLE = document.title;

  const $ = (id) => document.getElementById(id);
  const el = (tag, cls, text) => {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  };
  const fmt = (template, values) =>
    String(template).replace(/%\((\w+)\)s/g, (_, key) => (values && key in values ? String(values[key]) : ""));

  const S = {
    socket: null,
    connected: false,
    everConnected: false,
    retry: 0,
    reqCounter: 0,
    pending: new Map(), // req -> {resolve, reject}
    agent: null,
    capacity: { total: 0, used: 0 },
    conversations: new Map(), // id -> summary (+ unread, returned)
    queue: [],
    currentId: null,
    threads: new Map(), // id -> {messages: Map(seq -> msg), outbox: Map(client_id -> msg), hasMore, loadingOlder}
    typingTimer: null,
    typingSentAt: 0,
    typingIdle: null,
    customerTyping: null,
    attention: new Set(), // conversation ids that need the agent's eyes
    knownIds: new Set(), // conversations seen in this page session (to tell new assignments)
  };

  // --- storage: read cursors, sound preference -----------------------------------

  const store = {
    get(key, fallback) {
      try {
        const raw = window.localStorage.getItem("parley.ws." + key);
        return raw === null ? fallback : JSON.parse(raw);
      } catch (e) {
        return fallback;
      }
    },
    set(key, value) {
      try {
        window.localStorage.setItem("parley.ws." + key, JSON.stringify(value));
      } catch (e) {
        /* private mode: preferences just do not persist */
      }
    },
  };
  const readCursors = store.get("read." + CONFIG.agent_id, {});

  function markRead(id, seq) {
    if (!seq || (readCursors[id] || 0) >= seq) return;
    readCursors[id] = seq;
    store.set("read." + CONFIG.agent_id, readCursors);
  }

  function unreadOf(conv) {
    const cursor = readCursors[conv.id];
    if (cursor === undefined) return conv.last_seq;
    return Math.max(0, conv.last_seq - cursor);
  }

  // --- socket -----------------------------------------------------------------------

  function connect() {
    const scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    setConnection(S.everConnected ? "reconnecting" : "connecting");
    const socket = new WebSocket(scheme + window.location.host + CONFIG.socket_path);
    S.socket = socket;
    socket.addEventListener("message", (event) => {
      let frame;
      try {
        frame = JSON.parse(event.data);
      } catch (e) {
        return;
      }
      handleFrame(frame);
    });
    socket.addEventListener("close", () => {
      if (S.socket !== socket) return;
      S.connected = false;
      S.socket = null;
      for (const waiter of S.pending.values()) waiter.reject({ code: "unavailable", message: T.not_connected });
      S.pending.clear();
      setConnection("reconnecting");
      renderAll();
      const delay = Math.min(15000, 500 * 2 ** Math.min(S.retry, 5)) * (0.75 + Math.random() * 0.5);
      S.retry += 1;
      window.setTimeout(connect, delay);
    });
  }

  function send(frame) {
    if (!S.connected || !S.socket) return false;
    S.socket.send(JSON.stringify(frame));
    return true;
  }

  /** Send a frame with a `req` and resolve with its answer (reject on `error`). */
  function request(frame) {
    return new Promise((resolve, reject) => {
      if (!S.connected) {
        reject({ code: "unavailable", message: T.not_connected });
        return;
      }
      S.reqCounter += 1;
      const req = "w" + S.reqCounter;
      S.pending.set(req, { resolve, reject });
      send({ ...frame, req });
    });
  }

  function handleFrame(frame) {
    if (frame.req && S.pending.has(frame.req)) {
      const waiter = S.pending.get(frame.req);
      S.pending.delete(frame.req);
      if (frame.type === "error") waiter.reject(frame);
      else waiter.resolve(frame);
      return;
    }
    const handler = HANDLERS[frame.type];
    if (handler) handler(frame);
  }

  const HANDLERS = {
    welcome(frame) {
      const first = !S.everConnected;
      S.connected = true;
      S.everConnected = true;
      S.retry = 0;
      S.agent = frame.agent;
      S.capacity = frame.agent.capacity;
      setConnection("connected");
      const fresh = new Map();
      for (const summary of frame.conversations) {
        const old = S.conversations.get(summary.id);
        fresh.set(summary.id, summary);
        if (!first && !old && !S.knownIds.has(summary.id)) notifyAssigned(summary);
        if (summary.customer_returned && !(old && old.customer_returned)) notifyReturned(summary, !first);
        S.knownIds.add(summary.id);
      }
      S.conversations = fresh;
      S.queue = frame.queue;
      // Threads of other conversations may have missed messages: reload them on open. Replies written
      // while the socket was down stay in their outbox and go out now (client_id makes a resend harmless).
      for (const [id, t] of Array.from(S.threads)) {
        if (id === S.currentId) continue;
        if (t.outbox.size === 0) {
          S.threads.delete(id);
          continue;
        }
        t.messages = new Map();
        t.loaded = false;
        t.hasMore = false;
        flushOutbox(id);
      }
      if (S.currentId && fresh.has(S.currentId)) S.currentState = fresh.get(S.currentId).state;
      else if (S.currentId && !frame.queue.some((q) => q.id === S.currentId)) S.currentState = "closed";
      $("presence").value = frame.agent.presence;
      renderAll();
      if (S.currentId) resyncCurrent();
      else if (first) restoreSelection();
    },
    assigned(frame) {
      const summary = frame.conversation;
      const isNew = !S.conversations.has(summary.id) && !S.knownIds.has(summary.id);
      S.conversations.set(summary.id, { ...(S.conversations.get(summary.id) || {}), ...summary });
      S.knownIds.add(summary.id);
      if (isNew) notifyAssigned(summary);
      renderList();
      if (summary.id === S.currentId) renderConversationHeader();
    },
    state(frame) {
      const conv = S.conversations.get(frame.conversation_id);
      if (frame.conversation) {
        if (frame.state === "closed") {
          S.conversations.delete(frame.conversation_id);
          S.attention.delete(frame.conversation_id);
        } else {
          S.conversations.set(frame.conversation_id, { ...(conv || {}), ...frame.conversation });
          // Routing announces the transition to active just before "assigned": either one is the news.
          if (!conv && !S.knownIds.has(frame.conversation_id)) {
            S.knownIds.add(frame.conversation_id);
            notifyAssigned(frame.conversation);
          }
        }
      } else if (conv) {
        conv.state = frame.state;
      }
      if (frame.conversation_id === S.currentId) {
        S.currentState = frame.state;
        renderConversationHeader();
        loadPanel(S.currentId);
      }
      renderList();
    },
    unassigned(frame) {
      S.conversations.delete(frame.conversation_id);
      S.attention.delete(frame.conversation_id);
      toast({ title: T.unassigned, kind: "info" });
      if (frame.conversation_id === S.currentId) {
        S.currentState = "closed";
        S.currentReassigned = true;
        renderConversationHeader();
      }
      renderList();
    },
    message(frame) {
      const msg = frame.message;
      const conv = S.conversations.get(msg.conversation_id);
      if (conv) {
        conv.last_seq = Math.max(conv.last_seq || 0, msg.seq);
        conv.last_message = { seq: msg.seq, role: msg.sender.role, text: msg.text.slice(0, 140), sent_at: msg.sent_at };
        if (msg.sender.role === "customer") conv.last_customer_message_at = msg.sent_at;
      }
      const thread = S.threads.get(msg.conversation_id);
      if (thread) addMessages(msg.conversation_id, [msg]);
      if (msg.conversation_id === S.currentId && document.visibilityState === "visible") {
        markRead(msg.conversation_id, msg.seq);
      } else if (msg.sender.role === "customer") {
        S.attention.add(msg.conversation_id);
      }
      if (msg.sender.role === "customer" && msg.conversation_id === S.currentId) hideCustomerTyping();
      renderList();
    },
    typing(frame) {
      if (frame.role !== "customer" || frame.conversation_id !== S.currentId) return;
      if (frame.active) showCustomerTyping();
      else hideCustomerTyping();
    },
    customer_returned(frame) {
      const conv = S.conversations.get(frame.conversation_id);
      if (!conv) return;
      const was = conv.customer_returned;
      conv.customer_returned = true;
      if (!was) notifyReturned(conv, true);
      if (frame.conversation_id === S.currentId) renderConversationHeader();
      renderList();
    },
    capacity(frame) {
      S.capacity = { total: frame.total, used: frame.used };
      renderCapacity();
      renderQueue();
      if (S.currentId) renderConversationHeader();
    },
    queue(frame) {
      S.queue = frame.items;
      renderQueue();
    },
    presence(frame) {
      if (S.agent) S.agent.presence = frame.status;
      $("presence").value = frame.status;
      renderPresence();
    },
    error(frame) {
      if (frame.client_id) failOutgoing(frame.client_id, frame.message);
      else toast({ title: T.error, body: frame.message, kind: "error" });
    },
  };

  // --- connection / presence / capacity -----------------------------------------------

  function setConnection(state) {
    $("ws").dataset.connection = state;
    $("conn").dataset.state = state;
    $("conn-text").textContent = T[state] || state;
    $("presence").disabled = state !== "connected";
  }

  function renderPresence() {
    $("presence-dot").dataset.presence = $("presence").value;
  }

  function renderCapacity() {
    const { total, used } = S.capacity;
    const pct = total > 0 ? Math.min(100, Math.round((used / total) * 100)) : 100;
    $("capacity-fill").style.width = pct + "%";
    $("capacity-fill").dataset.level = pct >= 100 ? "full" : pct >= 75 ? "high" : "ok";
    $("capacity-meter").setAttribute("aria-valuenow", String(used));
    $("capacity-meter").setAttribute("aria-valuemax", String(total));
    const text = $("capacity-text");
    text.dataset.used = used;
    text.dataset.total = total;
    text.textContent = used + " / " + total;
    $("capacity").title = fmt(T.capacity, { used, total });
  }

  function freeCapacity() {
    return S.capacity.total - S.capacity.used;
  }

  // --- time helpers ----------------------------------------------------------------

  function ago(iso) {
    if (!iso) return T.never;
    const seconds = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
    if (seconds < 60) return T.just_now;
    if (seconds < 3600) return fmt(T.minutes_ago, { n: Math.floor(seconds / 60) });
    if (seconds < 86400) return fmt(T.hours_ago, { n: Math.floor(seconds / 3600) });
    return fmt(T.days_ago, { n: Math.floor(seconds / 86400) });
  }

  // The browser's regional format when it speaks the page's language (en-GB: 24 h), else the page's language.
  const LOCALE = (navigator.language || "").toLowerCase().startsWith(CONFIG.language) ? navigator.language : CONFIG.language;
  const timeFormat = new Intl.DateTimeFormat(LOCALE, { hour: "2-digit", minute: "2-digit" });
  const dateTimeFormat = new Intl.DateTimeFormat(LOCALE, { dateStyle: "medium", timeStyle: "short" });
  const dayFormat = new Intl.DateTimeFormat(LOCALE, { dateStyle: "full" });
  const clock = (iso) => (iso ? timeFormat.format(new Date(iso)) : "");
  const dateTime = (iso) => (iso ? dateTimeFormat.format(new Date(iso)) : "—");

  function initials(name) {
    const parts = String(name || "?").trim().split(/\s+/);
    return ((parts[0] || "?")[0] + (parts.length > 1 ? parts[parts.length - 1][0] : "")).toUpperCase();
  }

  function hue(text) {
    let h = 0;
    for (const ch of String(text)) h = (h * 31 + ch.charCodeAt(0)) % 360;
    return h;
  }

  function paintAvatar(node, name, seed) {
    node.textContent = initials(name);
    node.style.background = "hsl(" + hue(seed || name) + " 55% 92%)";
    node.style.color = "hsl(" + hue(seed || name) + " 45% 32%)";
  }

  // --- the list -----------------------------------------------------------------------

  function sortedIn(group) {
    return Array.from(S.conversations.values())
      .filter((c) => c.state === group)
      .sort((a, b) => {
        if (!!b.customer_returned - !!a.customer_returned) return !!b.customer_returned - !!a.customer_returned;
        const ta = Date.parse(a.last_customer_message_at || a.updated_at || a.created_at);
        const tb = Date.parse(b.last_customer_message_at || b.updated_at || b.created_at);
        return tb - ta;
      });
  }

  function orderedIds() {
    return GROUPS.flatMap((g) => sortedIn(g).map((c) => c.id));
  }

  function renderList() {
    for (const group of GROUPS) {
      const list = $("list-" + group);
      const items = sortedIn(group);
      $("count-" + group).textContent = items.length;
      list.replaceChildren(...items.map(renderItem));
      if (!items.length) list.append(el("li", "conv-empty", T.group_empty));
    }
    renderQueue();
    renderTitle();
  }

  function renderItem(conv) {
    const li = el("li", "conv-item");
    li.dataset.id = conv.id;
    li.dataset.state = conv.state;
    const button = el("button", "conv-button");
    button.type = "button";
    if (conv.id === S.currentId) {
      li.classList.add("selected");
      button.setAttribute("aria-current", "true");
    }
    const avatar = el("span", "avatar");
    paintAvatar(avatar, conv.customer.name, conv.customer.id);
    const body = el("span", "conv-body");
    const top = el("span", "conv-top");
    const name = el("span", "conv-name", conv.customer.name);
    const when = el("span", "conv-when", conv.last_customer_message_at ? ago(conv.last_customer_message_at) : "");
    when.title = conv.last_customer_message_at
      ? fmt(T.last_customer, { when: dateTime(conv.last_customer_message_at) })
      : T.no_customer_message;
    top.append(name, when);
    const bottom = el("span", "conv-bottom");
    const preview = el("span", "conv-preview");
    if (conv.last_message) {
      if (conv.last_message.role === "agent") preview.append(el("span", "preview-you", T.you + ": "));
      preview.append(document.createTextNode(conv.last_message.text));
    } else {
      preview.textContent = T.no_messages;
    }
    bottom.append(preview);
    const tags = el("span", "conv-tags");
    tags.append(el("span", "badge badge-mode badge-" + conv.mode, T[conv.mode]));
    if (conv.customer_returned) tags.append(el("span", "badge badge-returned", T.returned_badge));
    const unread = conv.id === S.currentId ? 0 : unreadOf(conv);
    if (unread > 0) {
      const count = el("span", "unread", unread > 99 ? "99+" : unread);
      count.title = fmt(T.unread, { count: unread });
      tags.append(count);
    }
    body.append(top, bottom, tags);
    button.append(avatar, body);
    button.addEventListener("click", () => select(conv.id));
    li.append(button);
    return li;
  }

  function renderQueue() {
    const list = $("list-queue");
    $("count-queue").textContent = S.queue.length;
    if (!S.queue.length) {
      list.replaceChildren(el("li", "conv-empty", T.queue_empty));
      return;
    }
    list.replaceChildren(
      ...S.queue.map((item) => {
        const li = el("li", "queue-item");
        li.dataset.id = item.id;
        const avatar = el("span", "avatar");
        paintAvatar(avatar, item.customer.name, item.customer.id);
        const body = el("span", "conv-body");
        const top = el("span", "conv-top");
        top.append(el("span", "conv-name", item.customer.name), el("span", "conv-when", ago(item.created_at)));
        const bottom = el("span", "conv-bottom");
        bottom.append(el("span", "conv-preview", item.last_message ? item.last_message.text : item.workstream.name));
        const tags = el("span", "conv-tags");
        tags.append(el("span", "badge badge-mode badge-" + item.mode, T[item.mode]));
        body.append(top, bottom, tags);
        const wrap = el("span", "tip-wrap");
        const pick = el("button", "btn btn-sm btn-primary pick-button", T.pick);
        pick.type = "button";
        const units = item.capacity_units || 0;
        const tip = el("span", "tip");
        tip.setAttribute("role", "tooltip");
        let reason = "";
        if (!S.connected) reason = T.not_connected;
        else if (freeCapacity() < units) reason = T.no_capacity + ". " + fmt(T.no_capacity_detail, { units, free: freeCapacity() });
        pick.disabled = !!reason;
        tip.textContent = reason;
        tip.hidden = !reason;
        if (reason) pick.setAttribute("aria-description", reason);
        pick.addEventListener("click", () => pickConversation(item.id));
        wrap.append(pick, tip);
        li.append(avatar, body, wrap);
        return li;
      })
    );
  }

  function pickConversation(id) {
    // The pick's own "assigned" news arrives before its answer: it is no surprise, so no second notice.
    const known = S.knownIds.has(id);
    S.knownIds.add(id);
    request({ type: "pick", conversation_id: id }).then(
      () => {
        toast({ title: T.picked, kind: "success" });
        select(id);
      },
      (error) => {
        if (!known) S.knownIds.delete(id);
        const text = error.code === "already_assigned" ? T.picked_elsewhere : error.message;
        toast({ title: T.error, body: text, kind: "error" });
      }
    );
  }

  // --- attention: title, toasts, sound, desktop notifications ----------------------------------

  function renderTitle() {
    for (const id of Array.from(S.attention)) {
      const conv = S.conversations.get(id);
      if (!conv || (id === S.currentId && document.visibilityState === "visible" && !conv.customer_returned)) {
        S.attention.delete(id);
      }
    }
    const count = S.attention.size;
    document.title = (count ? "(" + count + ") " : "") + BASE_TITLE;
  }

  function notifyAssigned(summary) {
    S.attention.add(summary.id);
    const body = fmt(T.new_assignment_body, { name: summary.customer.name });
    toast({ title: T.new_assignment, body, kind: "assigned", conversationId: summary.id });
    beep([660, 880]);
    desktopNotify(T.new_assignment, body, summary.id);
    renderTitle();
  }

  function notifyReturned(summary, loud) {
    S.attention.add(summary.id);
    const body = fmt(T.customer_returned_body, { name: summary.customer.name });
    toast({ title: T.customer_returned, body, kind: "returned", conversationId: summary.id });
    if (loud) {
      beep([880, 660, 880]);
      desktopNotify(T.customer_returned, body, summary.id);
    }
    renderTitle();
  }

  function toast({ title, body, kind, conversationId }) {
    const box = el("div", "toast toast-" + (kind || "info"));
    if (conversationId) box.dataset.conversationId = conversationId;
    box.setAttribute("role", kind === "error" ? "alert" : "status");
    const text = el("div", "toast-text");
    text.append(el("strong", "", title));
    if (body) text.append(el("span", "", body));
    box.append(text);
    if (conversationId) {
      const open = el("button", "btn btn-sm btn-primary", T.open_conversation);
      open.type = "button";
      open.addEventListener("click", () => {
        select(conversationId);
        box.remove();
      });
      box.append(open);
    }
    const close = el("button", "toast-close", "×");
    close.type = "button";
    close.setAttribute("aria-label", T.dismiss);
    close.addEventListener("click", () => box.remove());
    box.append(close);
    $("toasts").append(box);
    while ($("toasts").children.length > 3) $("toasts").firstElementChild.remove();
    window.setTimeout(() => box.remove(), kind === "error" ? 8000 : 12000);
  }

  let audio = null;
  let soundOn = store.get("sound", false);

  function beep(freqs) {
    if (!soundOn) return;
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      let at = audio.currentTime + 0.01;
      for (const freq of freqs) {
        const osc = audio.createOscillator();
        const gain = audio.createGain();
        osc.type = "sine";
        osc.frequency.value = freq;
        gain.gain.setValueAtTime(0.0001, at);
        gain.gain.exponentialRampToValueAtTime(0.18, at + 0.02);
        gain.gain.exponentialRampToValueAtTime(0.0001, at + 0.16);
        osc.connect(gain).connect(audio.destination);
        osc.start(at);
        osc.stop(at + 0.18);
        at += 0.17;
      }
    } catch (e) {
      /* no audio device: the toast and the title still show it */
    }
  }

  function renderSound() {
    const button = $("sound-toggle");
    button.setAttribute("aria-pressed", soundOn ? "true" : "false");
    button.classList.toggle("on", soundOn);
    $("sound-label").textContent = soundOn ? T.sound_on : T.sound_off;
  }

  function desktopNotify(title, body, conversationId) {
    if (!("Notification" in window) || Notification.permission !== "granted") return;
    if (document.visibilityState === "visible" && document.hasFocus()) return;
    try {
      const note = new Notification(title, { body, tag: "parley-" + conversationId });
      note.onclick = () => {
        window.focus();
        select(conversationId);
        note.close();
      };
    } catch (e) {
      /* some platforms allow notifications only from a service worker */
    }
  }

  function setupPermissionPrompt() {
    if (!("Notification" in window) || Notification.permission !== "default" || store.get("notify-asked", false)) return;
    $("permission").hidden = false;
    $("permission-yes").addEventListener("click", () => {
      store.set("notify-asked", true);
      $("permission").hidden = true;
      Notification.requestPermission().then((answer) => {
        toast({ title: answer === "granted" ? T.notifications_enabled : T.notifications_denied, kind: "info" });
      });
    });
    $("permission-no").addEventListener("click", () => {
      store.set("notify-asked", true);
      $("permission").hidden = true;
    });
  }

  // --- the open conversation -----------------------------------------------------------

  function thread(id) {
    let t = S.threads.get(id);
    if (!t) {
      t = { messages: new Map(), outbox: new Map(), hasMore: false, loadingOlder: false, loaded: false };
      S.threads.set(id, t);
    }
    return t;
  }

  function select(id) {
    if (!S.conversations.has(id) && !S.queue.some((q) => q.id === id)) return;
    if (S.currentId && S.currentId !== id) stopTyping();
    S.currentId = id;
    S.currentReassigned = false;
    store.set("current", id);
    const conv = S.conversations.get(id);
    S.currentState = conv ? conv.state : "open";
    if (conv && conv.customer_returned) S.attention.delete(id);
    for (const old of document.querySelectorAll(".toast[data-conversation-id]")) {
      if (old.dataset.conversationId === id) old.remove();
    }
    $("empty-state").hidden = true;
    $("conversation").hidden = false;
    hideCustomerTyping();
    $("composer-input").value = drafts.get(id) || "";
    renderConversationHeader();
    renderMessages(true);
    renderList();
    const t = thread(id);
    if (!t.loaded) openConversation(id);
    else resyncCurrent();
    loadPanel(id);
    window.requestAnimationFrame(() => $("composer-input").focus());
  }

  function restoreSelection() {
    const saved = store.get("current", null);
    if (saved && S.conversations.has(saved)) select(saved);
  }

  function openConversation(id) {
    request({ type: "open", conversation_id: id }).then(
      (answer) => {
        const t = thread(id);
        t.loaded = true;
        t.hasMore = answer.conversation.has_more;
        const { messages, has_more, ...summary } = answer.conversation;
        if (S.conversations.has(id)) S.conversations.set(id, { ...S.conversations.get(id), ...summary });
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
  function resyncCurrent() {
    const id = S.currentId;
    const t = S.threads.get(id);
    if (!t || !t.loaded) {
      if (S.conversations.has(id)) openConversation(id);
      return;
    }
    const after = Math.max(0, ...t.messages.keys());
    request({ type: "sync", conversation_id: id, after_seq: after }).then(
      (answer) => {
        addMessages(id, answer.messages);
        if (answer.has_more) resyncCurrent();
        else flushOutbox(id);
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

  function addMessages(id, messages) {
    const t = thread(id);
    let changed = false;
    for (const msg of messages) {
      if (msg.client_id && t.outbox.has(msg.client_id)) {
        t.outbox.delete(msg.client_id);
        changed = true;
      }
      if (!t.messages.has(msg.seq)) {
        t.messages.set(msg.seq, msg);
        changed = true;
      }
    }
    if (changed && id === S.currentId) renderMessages(false);
  }

  function markCurrentRead() {
    const conv = S.conversations.get(S.currentId);
    if (!conv) return;
    const t = S.threads.get(S.currentId);
    const top = Math.max(conv.last_seq || 0, ...(t ? t.messages.keys() : [0]));
    markRead(S.currentId, top);
  }

  function renderConversationHeader() {
    const id = S.currentId;
    if (!id) return;
    const conv = S.conversations.get(id) || S.queue.find((q) => q.id === id);
    const state = S.currentState || (conv && conv.state) || "closed";
    if (conv) {
      $("conv-name").textContent = conv.customer.name;
      paintAvatar($("conv-avatar"), conv.customer.name, conv.customer.id);
      $("conv-mode").textContent = T[conv.mode];
      $("conv-mode").className = "badge badge-mode badge-" + conv.mode;
      $("conv-workstream").textContent = conv.workstream.name;
    }
    $("conv-state").textContent = T[state] || state;
    $("conv-state").className = "badge badge-state state-" + state;
    $("conversation").dataset.state = state;
    const mode = conv ? conv.mode : "live";
    const off = !S.connected ? T.not_connected : "";
    setAction("act-set-aside", "tip-set-aside", off || (mode !== "persistent" ? T.set_aside_live : state !== "active" ? T.set_aside_state : ""), T.set_aside_tip);
    setAction("act-resume", "tip-resume", off || (state !== "waiting" ? T.resume_state : ""), T.resume_tip);
    setAction("act-end", "tip-end", off || (state !== "active" && state !== "waiting" ? T.end_state : ""), T.end_tip);
    setAction("act-close", "tip-close", off || (state !== "wrap_up" ? T.close_state : ""), T.close_tip);
    $("act-resume").hidden = state !== "waiting";
    $("act-set-aside").hidden = state === "waiting" || mode !== "persistent";
    $("act-close").hidden = state !== "wrap_up";
    $("act-end").hidden = state === "wrap_up" || state === "closed";
    $("act-set-aside").parentElement.hidden = $("act-set-aside").hidden;
    $("act-resume").parentElement.hidden = $("act-resume").hidden;
    $("act-close").parentElement.hidden = $("act-close").hidden;
    $("act-end").parentElement.hidden = $("act-end").hidden;

    const banner = $("conv-banner");
    let note = "";
    if (state === "waiting") note = conv && conv.customer_returned ? T.customer_returned_body.replace("%(name)s", conv.customer.name) + " " + T.reply_waiting : T.reply_waiting;
    else if (state === "wrap_up") note = T.reply_wrap_up;
    else if (state === "closed") note = S.currentReassigned ? T.unassigned : T.closed_readonly;
    banner.textContent = note;
    banner.hidden = !note;
    banner.dataset.kind = conv && conv.customer_returned && state === "waiting" ? "returned" : state;

    const canWrite = state === "active";
    if (!canWrite) hideCustomerTyping();
    $("composer-input").disabled = !canWrite;
    $("send").disabled = !canWrite;
    $("composer").dataset.enabled = canWrite ? "true" : "false";
    $("composer-note").textContent = canWrite && !S.connected ? T.composer_disabled_offline : "";
  }

  function setAction(buttonId, tipId, reason, help) {
    const button = $(buttonId);
    button.disabled = !!reason;
    const tip = $(tipId);
    tip.textContent = reason || help;
    button.setAttribute("aria-describedby", tipId);
  }

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
    const when = el("time", "msg-time", pending ? (pending.failed ? T.not_sent : T.sending) : clock(msg.sent_at));
    if (msg.sent_at) {
      when.dateTime = msg.sent_at;
      when.title = dateTime(msg.sent_at);
    }
    meta.append(when);
    const bubble = el("div", "bubble", msg.text);
    li.append(meta, bubble);
    if (pending) {
      li.classList.add(pending.failed ? "failed" : "pending");
      if (pending.failed) {
        const row = el("div", "msg-failed");
        row.append(el("span", "", pending.error || T.not_sent));
        const retry = el("button", "link-btn", T.retry);
        retry.type = "button";
        retry.addEventListener("click", () => {
          pending.failed = false;
          pending.error = "";
          sendOutgoing(msg.conversation_id, pending);
          renderMessages(false);
        });
        const discard = el("button", "link-btn", T.discard);
        discard.type = "button";
        discard.addEventListener("click", () => {
          thread(msg.conversation_id).outbox.delete(msg.client_id);
          renderMessages(false);
        });
        row.append(retry, discard);
        li.append(row);
      }
    }
    return li;
  }

  function renderMessages(toBottom) {
    const id = S.currentId;
    const box = $("messages");
    const list = $("message-list");
    const t = thread(id);
    const nearBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 80;
    const seqs = Array.from(t.messages.keys()).sort((a, b) => a - b);
    const nodes = [];
    let lastDay = "";
    for (const seq of seqs) {
      const msg = t.messages.get(seq);
      const day = new Date(msg.sent_at).toDateString();
      if (day !== lastDay) {
        nodes.push(el("li", "day-mark", dayFormat.format(new Date(msg.sent_at))));
        lastDay = day;
      }
      nodes.push(messageNode(msg, null));
    }
    for (const out of t.outbox.values()) nodes.push(messageNode(out, out));
    if (!nodes.length && t.loaded) nodes.push(el("li", "conv-empty", T.no_messages));
    list.replaceChildren(...nodes);
    $("history-mark").textContent = t.loaded && !t.hasMore && seqs.length ? T.start_of_history : t.loadingOlder ? T.load_older : "";
    if (toBottom || nearBottom) box.scrollTop = box.scrollHeight;
  }

  function loadOlder() {
    const id = S.currentId;
    const t = S.threads.get(id);
    if (!t || !t.loaded || !t.hasMore || t.loadingOlder || !S.connected) return;
    const first = Math.min(...t.messages.keys());
    if (!Number.isFinite(first)) return;
    t.loadingOlder = true;
    $("history-mark").textContent = T.load_older;
    const box = $("messages");
    request({ type: "history", conversation_id: id, before_seq: first, limit: HISTORY_PAGE }).then(
      (answer) => {
        t.loadingOlder = false;
        t.hasMore = answer.has_more;
        if (id !== S.currentId) return;
        const fromBottom = box.scrollHeight - box.scrollTop;
        for (const msg of answer.messages) t.messages.set(msg.seq, msg);
        renderMessages(false);
        box.scrollTop = box.scrollHeight - fromBottom;
      },
      () => {
        t.loadingOlder = false;
        $("history-mark").textContent = T.older_failed;
      }
    );
  }

  // --- sending ----------------------------------------------------------------------

  const drafts = new Map();

  function newClientId() {
    if (window.crypto && window.crypto.randomUUID) return window.crypto.randomUUID();
    return "c" + Date.now().toString(36) + Math.random().toString(36).slice(2, 10);
  }

  function submitReply() {
    const id = S.currentId;
    const input = $("composer-input");
    const text = input.value.trim();
    if (!id || !text || S.currentState !== "active") return;
    if (text.length > CONFIG.max_text_chars) {
      $("composer-note").textContent = fmt(T.too_long, { max: CONFIG.max_text_chars });
      return;
    }
    const msg = {
      conversation_id: id,
      client_id: newClientId(),
      text,
      sender: { role: "agent", name: S.agent ? S.agent.name : T.you },
      sent_at: null,
      failed: false,
    };
    thread(id).outbox.set(msg.client_id, msg);
    input.value = "";
    drafts.delete(id);
    stopTyping();
    renderMessages(true);
    sendOutgoing(id, msg);
  }

  function sendOutgoing(id, msg) {
    if (!S.connected) return; // stays in the outbox; flushOutbox() sends it after the next welcome
    request({ type: "send", conversation_id: id, client_id: msg.client_id, text: msg.text }).then(
      (answer) => {
        const t = thread(id);
        t.outbox.delete(msg.client_id);
        t.messages.set(answer.message.seq, answer.message);
        const conv = S.conversations.get(id);
        if (conv) {
          conv.last_seq = Math.max(conv.last_seq || 0, answer.message.seq);
          conv.last_message = { seq: answer.message.seq, role: "agent", text: msg.text.slice(0, 140), sent_at: answer.message.sent_at };
        }
        if (id === S.currentId) {
          markCurrentRead();
          renderMessages(false);
        }
        renderList();
      },
      (error) => {
        if (error.code === "unavailable" && !S.connected) return; // resent on reconnect
        failOutgoing(msg.client_id, error.message);
      }
    );
  }

  function failOutgoing(clientId, message) {
    for (const [id, t] of S.threads) {
      const msg = t.outbox.get(clientId);
      if (msg) {
        msg.failed = true;
        msg.error = message;
        if (id === S.currentId) renderMessages(false);
      }
    }
  }

  function flushOutbox(id) {
    const t = S.threads.get(id);
    if (!t) return;
    for (const msg of t.outbox.values()) if (!msg.failed) sendOutgoing(id, msg);
  }

  // --- typing -----------------------------------------------------------------------

  function onComposerInput() {
    const id = S.currentId;
    if (!id) return;
    drafts.set(id, $("composer-input").value);
    if (S.currentState !== "active") return;
    const now = Date.now();
    if (now - S.typingSentAt > TYPING_SEND_EVERY) {
      S.typingSentAt = now;
      send({ type: "typing", conversation_id: id, active: true });
    }
    window.clearTimeout(S.typingIdle);
    S.typingIdle = window.setTimeout(stopTyping, TYPING_IDLE);
  }

  function stopTyping() {
    window.clearTimeout(S.typingIdle);
    if (S.typingSentAt && S.currentId) send({ type: "typing", conversation_id: S.currentId, active: false });
    S.typingSentAt = 0;
  }

  function showCustomerTyping() {
    const conv = S.conversations.get(S.currentId);
    $("typing").textContent = fmt(T.typing, { name: conv ? conv.customer.name : T.customer_role });
    $("typing").classList.add("on");
    window.clearTimeout(S.customerTyping);
    S.customerTyping = window.setTimeout(hideCustomerTyping, TYPING_SHOW_FOR);
  }

  function hideCustomerTyping() {
    window.clearTimeout(S.customerTyping);
    $("typing").textContent = "";
    $("typing").classList.remove("on");
  }

  // --- actions ----------------------------------------------------------------------

  function act(type) {
    const id = S.currentId;
    const button = document.querySelector('[data-action="' + type + '"]');
    if (!id || !button || button.disabled || button.hidden) return;
    button.disabled = true;
    request({ type, conversation_id: id }).then(
      () => renderConversationHeader(),
      (error) => {
        toast({ title: T.error, body: error.message, kind: "error" });
        renderConversationHeader();
      }
    );
  }

  // --- customer panel -----------------------------------------------------------------

  let panelFor = null;

  function loadPanel(id) {
    panelFor = id;
    $("panel-empty").hidden = false;
    $("panel-empty").textContent = T.panel_loading;
    fetch(CONFIG.panel_url.replace(ZERO_ID, encodeURIComponent(id)), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then((response) => (response.ok ? response.json() : Promise.reject(response.status)))
      .then((data) => {
        if (panelFor === id) renderPanel(data);
      })
      .catch(() => {
        if (panelFor !== id) return;
        $("panel-body").hidden = true;
        $("panel-empty").hidden = false;
        $("panel-empty").textContent = T.panel_failed;
      });
  }

  function renderPanel(data) {
    const c = data.customer;
    $("panel-empty").hidden = true;
    $("panel-body").hidden = false;
    $("cust-name").textContent = c.name;
    paintAvatar($("cust-avatar"), c.name, c.id);
    $("cust-email").textContent = c.email || "—";
    $("cust-identity").textContent = c.authenticated ? T.authenticated + (c.authentication ? " · " + c.authentication : "") : T.anonymous;
    $("cust-subject").textContent = c.subject || c.username || "—";
    $("cust-since").textContent = dateTime(c.created_at);
    $("cust-seen").textContent = c.last_seen_at ? ago(c.last_seen_at) : "—";
    $("conv-queue").textContent = data.conversation.queue;
    $("conv-started").textContent = dateTime(data.conversation.created_at);
    $("conv-assigned").textContent = dateTime(data.conversation.assigned_at);
    const list = $("earlier");
    if (!data.earlier_conversations.length) {
      list.replaceChildren(el("li", "muted", T.no_earlier));
      return;
    }
    list.replaceChildren(
      ...data.earlier_conversations.map((other) => {
        const li = el("li", "earlier-item");
        const top = el("div", "earlier-top");
        top.append(el("span", "", dateTime(other.created_at)), el("span", "badge badge-state state-" + other.state, T[other.state] || other.state));
        const bottom = el("div", "muted");
        bottom.textContent = [other.workstream, T[other.mode], other.agent, fmt(T.messages_count, { count: other.messages })].filter(Boolean).join(" · ");
        li.append(top, bottom);
        return li;
      })
    );
  }

  // --- keyboard -----------------------------------------------------------------------

  function moveSelection(step) {
    const ids = orderedIds();
    if (!ids.length) return;
    const at = ids.indexOf(S.currentId);
    const next = at < 0 ? (step > 0 ? 0 : ids.length - 1) : (at + step + ids.length) % ids.length;
    select(ids[next]);
  }

  function toggleHelp(show) {
    const help = $("help");
    const visible = show === undefined ? help.hidden : show;
    help.hidden = !visible;
    $("help-toggle").setAttribute("aria-expanded", visible ? "true" : "false");
  }

  function setPresence(status) {
    const select = $("presence");
    const previous = S.agent ? S.agent.presence : select.value;
    select.value = status;
    renderPresence();
    request({ type: "presence", status }).then(
      () => {
        if (S.agent) S.agent.presence = status;
      },
      (error) => {
        select.value = previous;
        renderPresence();
        toast({ title: T.error, body: error.message, kind: "error" });
      }
    );
  }

  function onKey(event) {
    const typingInField = /^(TEXTAREA|INPUT|SELECT)$/.test(event.target.tagName);
    if (event.key === "Escape") {
      toggleHelp(false);
      const last = $("toasts").lastElementChild;
      if (last) last.remove();
      return;
    }
    if (event.altKey && !event.ctrlKey && !event.metaKey) {
      const map = { KeyW: "set_waiting", KeyR: "resume", KeyE: "end", KeyC: "close" };
      if (map[event.code]) {
        event.preventDefault();
        act(map[event.code]);
      } else if (event.code === "ArrowDown" || event.code === "ArrowUp") {
        event.preventDefault();
        moveSelection(event.code === "ArrowDown" ? 1 : -1);
      } else if (event.code === "KeyP") {
        event.preventDefault();
        const button = document.querySelector("#list-queue .pick-button:not([disabled])");
        if (button) button.click();
      } else if (/^Digit[1-4]$/.test(event.code)) {
        event.preventDefault();
        if (S.connected) setPresence(PRESENCES[Number(event.code.slice(5)) - 1]);
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

  // --- wiring -----------------------------------------------------------------------

  function renderAll() {
    renderPresence();
    renderCapacity();
    renderList();
    if (S.currentId) renderConversationHeader();
  }

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
  $("messages").addEventListener("scroll", () => {
    if ($("messages").scrollTop < 60) loadOlder();
  });
  for (const button of document.querySelectorAll("[data-action]")) {
    button.addEventListener("click", () => act(button.dataset.action));
  }
  $("sound-toggle").addEventListener("click", () => {
    soundOn = !soundOn;
    store.set("sound", soundOn);
    renderSound();
    if (soundOn) beep([660]);
  });
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
  const initialCapacity = $("capacity-text").dataset;
  S.capacity = { used: Number(initialCapacity.used), total: Number(initialCapacity.total) };
  renderAll();
  connect();
})();
