/* Parley customer chat: the page inside the widget's iframe.
 *
 * Speaks the customer socket /ws/widget/<public_id>/ (PROTOCOL.md): hello,
 * send/ack with client_id, sync after the last seq, history before the first
 * one, typing, end. Talks to the embedding page (loader.js) only with
 * postMessage addressed to the origin the server checked, and only listens
 * to that origin. Message text is always set with textContent.
 */
(function () {
  "use strict";

  var cfg = JSON.parse(document.getElementById("parley-config").textContent);
  var T = JSON.parse(document.getElementById("parley-strings").textContent);
  var $ = function (id) { return document.getElementById(id); };
  var els = {
    chat: $("chat"), log: $("log"), status: $("status"), statusText: $("status-text"), end: $("end"),
    minimize: $("minimize"), connection: $("connection"), typing: $("typing"), typingText: $("typing-text"),
    offline: $("offline"), ended: $("ended"), endedText: $("ended-text"), composer: $("composer"),
    input: $("input"), composerError: $("composer-error"), confirm: $("confirm"), announce: $("announce"),
    avatar: $("avatar"), initials: $("avatar-initials")
  };

  function fmt(text, values) {
    return text.replace(/%\((\w+)\)s/g, function (whole, key) {
      return Object.prototype.hasOwnProperty.call(values, key) ? String(values[key]) : whole;
    });
  }

  // --- storage: tab-scoped state in sessionStorage, the visitor token in localStorage ---------
  function storage(area) {
    var prefix = "parley:" + cfg.publicId + ":";
    return {
      get: function (key, fallback) {
        try {
          var raw = window[area].getItem(prefix + key);
          return raw === null ? fallback : JSON.parse(raw);
        } catch (e) { return fallback; }
      },
      set: function (key, value) {
        try { window[area].setItem(prefix + key, JSON.stringify(value)); } catch (e) { /* storage off */ }
      },
      remove: function (key) {
        try { window[area].removeItem(prefix + key); } catch (e) { /* storage off */ }
      }
    };
  }
  var tab = storage("sessionStorage");
  var device = storage("localStorage");

  var embedded = Boolean(cfg.parentOrigin) && window.parent !== window;
  var S = {
    ws: null, socketNo: 0, welcomed: false, attempt: 0, retryTimer: null, closeCode: null, everWelcomed: false,
    token: null, tokenExp: 0, tokenRequest: null, authFailures: 0,
    customer: null, online: true,
    conv: null,                 // {id, state, agent}
    messages: new Map(),        // seq -> Message
    minSeq: 0, maxSeq: 0, hasMore: false, loadingOlder: false,
    notices: [],                // {code, text, afterSeq}
    pending: tab.get("pending", []),  // [{client_id, text, at, failed}]
    open: embedded ? tab.get("open", false) : true,
    unread: 0, typingTimer: null, typingSent: false, typingIdle: null
  };

  // --- parent page (loader.js) ------------------------------------------------------------------
  function toParent(message) {
    if (!embedded) return;
    message.parley = cfg.publicId;
    window.parent.postMessage(message, cfg.parentOrigin);
  }

  window.addEventListener("message", function (event) {
    if (!embedded || event.source !== window.parent || event.origin !== cfg.parentOrigin) return;
    var data = event.data;
    if (!data || typeof data !== "object" || data.parley !== cfg.publicId) return;
    if (data.type === "token" && S.tokenRequest) {
      var request = S.tokenRequest;
      S.tokenRequest = null;
      if (typeof data.token === "string" && data.token) request.resolve(data.token);
      else request.reject(new Error("no token"));
    } else if (data.type === "open") {
      setOpen(true, false);
    } else if (data.type === "close") {
      setOpen(false, false);
    }
  });

  function tokenExpiry(token) {
    try {
      var part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
      while (part.length % 4) part += "=";
      var exp = JSON.parse(atob(part)).exp;
      return typeof exp === "number" ? exp : 0;
    } catch (e) { return 0; }
  }

  function requestToken() {
    if (!embedded) return Promise.reject(new Error("not embedded"));
    if (S.tokenRequest) return S.tokenRequest.promise;
    var request = {};
    request.promise = new Promise(function (resolve, reject) {
      request.resolve = resolve;
      request.reject = reject;
      setTimeout(function () {
        if (S.tokenRequest === request) { S.tokenRequest = null; reject(new Error("timeout")); }
      }, 15000);
    });
    S.tokenRequest = request;
    toParent({ type: "token_request", fn: cfg.authFunction });
    return request.promise.then(function (token) {
      S.token = token;
      S.tokenExp = tokenExpiry(token);
      return token;
    });
  }

  function tokenFresh() {
    return Boolean(S.token) && (!S.tokenExp || S.tokenExp * 1000 - Date.now() > 30000);
  }

  // --- the socket ---------------------------------------------------------------------------------
  function connect() {
    clearTimeout(S.retryTimer);
    S.retryTimer = null;
    if (S.ws) return;
    if (cfg.auth && !tokenFresh()) {
      setConnection("signing_in");
      requestToken().then(openSocket, function () {
        setConnection("signin_needed");
        scheduleReconnect(5000);
      });
      return;
    }
    openSocket();
  }

  function openSocket() {
    if (S.ws) return;
    var scheme = location.protocol === "https:" ? "wss:" : "ws:";
    var ws = new WebSocket(scheme + "//" + location.host + cfg.wsPath);
    var number = ++S.socketNo;
    S.ws = ws;
    S.welcomed = false;
    ws.onopen = function () {
      ws.send(JSON.stringify({
        type: "hello",
        token: cfg.auth ? S.token : null,
        visitor: cfg.auth ? null : device.get("visitor", null)
      }));
    };
    ws.onmessage = function (event) {
      if (S.socketNo !== number) return;
      var frame;
      try { frame = JSON.parse(event.data); } catch (e) { return; }
      if (frame && typeof frame === "object") handle(frame);
    };
    ws.onclose = function (event) {
      if (S.ws !== ws) return;
      S.ws = null;
      S.welcomed = false;
      S.loadingOlder = false;
      S.closeCode = event.code;
      showTyping(false);
      if (event.code === 4401) {
        S.token = null;
        S.authFailures += 1;
      }
      if (event.code === 4409) {
        setConnection("elsewhere");
        scheduleReconnect(30000);
        return;
      }
      setConnection(S.everWelcomed ? "reconnecting" : "connecting");
      scheduleReconnect();
    };
  }

  function scheduleReconnect(delay) {
    clearTimeout(S.retryTimer);
    if (delay === undefined) {
      delay = Math.min(15000, 500 * Math.pow(2, S.attempt)) * (0.8 + Math.random() * 0.4);
      if (S.authFailures > 2) delay = Math.max(delay, 10000);
    }
    S.attempt += 1;
    S.retryTimer = setTimeout(connect, delay);
  }

  function send(frame) {
    if (!S.ws || !S.welcomed || S.ws.readyState !== WebSocket.OPEN) return false;
    S.ws.send(JSON.stringify(frame));
    return true;
  }

  // --- frames from the server ----------------------------------------------------------------------
  function handle(frame) {
    switch (frame.type) {
      case "welcome": onWelcome(frame); break;
      case "ack": onAck(frame); break;
      case "message": onMessage(frame.message, true); break;
      case "sync": onSync(frame); break;
      case "history": onHistory(frame); break;
      case "state": onState(frame); break;
      case "typing": if (frame.role === "agent") showTyping(frame.active); break;
      case "notice": onNotice(frame); break;
      case "error": onError(frame); break;
      default: break;
    }
  }

  function onWelcome(frame) {
    S.welcomed = true;
    S.everWelcomed = true;
    S.attempt = 0;
    S.authFailures = 0;
    S.online = Boolean(frame.widget && frame.widget.online);
    if (frame.visitor) device.set("visitor", frame.visitor);
    var customerId = frame.customer && frame.customer.id;
    if (tab.get("customer", null) !== customerId) {
      // another customer signed in in this tab: nothing of the previous one carries over
      if (tab.get("customer", null) !== null) {
        S.pending = [];
        savePending();
        els.input.value = "";
        tab.remove("draft");
        resetConversation(null);
      }
      tab.set("customer", customerId);
    }
    S.customer = frame.customer;
    var conv = frame.conversation;
    if (conv) {
      var known = S.conv && S.conv.id === conv.id;
      if (!known) resetConversation(conv);
      var gapFrom = known && S.maxSeq && conv.messages.length && conv.messages[0].seq > S.maxSeq + 1 ? S.maxSeq : null;
      S.conv.state = conv.state;
      S.conv.agent = conv.agent || null;
      conv.messages.forEach(function (m) { keep(m); });
      if (!known) S.hasMore = conv.has_more;
      if (gapFrom !== null) send({ type: "sync", after_seq: gapFrom });
    } else if (S.conv && S.conv.state !== "closed") {
      // our conversation ended while we were away
      S.conv.state = "closed";
    }
    setConnection("connected");
    flushPending();
    render("bottom");
  }

  function resetConversation(conv) {
    S.conv = conv ? { id: conv.id, state: conv.state, agent: conv.agent || null } : null;
    S.messages = new Map();
    S.notices = [];
    S.minSeq = 0;
    S.maxSeq = 0;
    S.hasMore = false;
  }

  function keep(message) {
    if (!message || typeof message.seq !== "number") return false;
    if (S.conv && message.conversation_id && message.conversation_id !== S.conv.id) return false;
    var isNew = !S.messages.has(message.seq);
    S.messages.set(message.seq, message);
    if (!S.minSeq || message.seq < S.minSeq) S.minSeq = message.seq;
    if (message.seq > S.maxSeq) S.maxSeq = message.seq;
    if (message.client_id) dropPending(message.client_id);
    return isNew;
  }

  function onAck(frame) {
    var message = frame.message;
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
    var isNew = keep(message);
    if (isNew && live && message.sender && message.sender.role !== "customer") {
      if (message.sender.role === "agent") showTyping(false);
      if (!S.open || document.hidden) {
        S.unread += 1;
        toParent({ type: "unread", count: S.unread });
      }
      announce(fmt(T.new_message_from, { name: message.sender.name || T.agent, text: message.text }));
    }
    render("bottom");
  }

  function onSync(frame) {
    (frame.messages || []).forEach(function (m) { keep(m); });
    if (frame.has_more) send({ type: "sync", after_seq: S.maxSeq });
    render("bottom");
  }

  function onHistory(frame) {
    S.loadingOlder = false;
    (frame.messages || []).forEach(function (m) { keep(m); });
    S.hasMore = Boolean(frame.has_more);
    render("keep");
  }

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
      showTyping(false);
      S.notices = S.notices.filter(function (n) { return n.code !== "queue_position" && n.code !== "average_wait_time"; });
    }
    render("bottom");
  }

  function onNotice(frame) {
    var replaces = frame.code === "queue_position" || frame.code === "average_wait_time";
    if (replaces) S.notices = S.notices.filter(function (n) { return n.code !== frame.code; });
    if (frame.code === "agent_joined") {
      S.notices = S.notices.filter(function (n) { return n.code !== "queue_position" && n.code !== "average_wait_time"; });
    }
    S.notices.push({ code: frame.code, text: String(frame.text || ""), afterSeq: S.maxSeq });
    announce(String(frame.text || ""));
    render("bottom");
  }

  function onError(frame) {
    if (frame.client_id !== undefined) {
      var item = S.pending.filter(function (p) { return p.client_id === frame.client_id; })[0];
      if (!item) return;
      if (frame.code === "rate_limited") {
        setTimeout(function () { sendPending(item); }, 1500);
        return;
      }
      if (frame.code === "unavailable") {
        // live chat outside operating hours: give the text back and show the offline state
        S.online = false;
        if (!els.input.value) els.input.value = item.text;
        saveDraft();
        dropPending(item.client_id);
      } else {
        item.failed = frame.message || T.not_sent;
        savePending();
      }
      render("bottom");
      return;
    }
    if (frame.code === "not_allowed" || frame.code === "not_found") {
      showComposerError(frame.message);
    }
  }

  // --- sending ------------------------------------------------------------------------------------
  function newClientId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  function savePending() {
    tab.set("pending", S.pending.map(function (p) {
      return { client_id: p.client_id, text: p.text, at: p.at, failed: p.failed || null };
    }));
  }

  function dropPending(clientId) {
    var before = S.pending.length;
    S.pending = S.pending.filter(function (p) { return p.client_id !== clientId; });
    if (S.pending.length !== before) savePending();
  }

  function sendPending(item) {
    if (item.failed) return;
    if (send({ type: "send", client_id: item.client_id, text: item.text })) item.sentOn = S.socketNo;
  }

  function flushPending() {
    S.pending.forEach(function (item) {
      if (item.sentOn !== S.socketNo) sendPending(item);
    });
  }

  function submit() {
    var text = els.input.value.trim();
    if (!text) return;
    if (text.length > cfg.maxChars) {
      showComposerError(fmt(T.too_long, { max: cfg.maxChars }));
      return;
    }
    if (S.conv && S.conv.state === "closed") resetConversation(null);
    var item = { client_id: newClientId(), text: text, at: new Date().toISOString() };
    S.pending.push(item);
    savePending();
    els.input.value = "";
    saveDraft();
    autosize();
    stopTyping();
    showComposerError("");
    sendPending(item);
    render("force");
  }

  // --- typing -----------------------------------------------------------------------------------
  function onInput() {
    saveDraft();
    autosize();
    if (!S.conv || S.conv.state === "closed") return;
    if (!S.typingSent && els.input.value.trim()) {
      if (send({ type: "typing", active: true })) S.typingSent = true;
    }
    clearTimeout(S.typingIdle);
    S.typingIdle = setTimeout(stopTyping, 3000);
  }

  function stopTyping() {
    clearTimeout(S.typingIdle);
    if (S.typingSent) {
      send({ type: "typing", active: false });
      S.typingSent = false;
    }
  }

  function showTyping(active) {
    clearTimeout(S.typingTimer);
    var name = (S.conv && S.conv.agent && S.conv.agent.name) || T.agent;
    els.typingText.textContent = fmt(T.typing, { name: name });
    els.typing.hidden = !active;
    if (active) S.typingTimer = setTimeout(function () { els.typing.hidden = true; }, 10000);
  }

  // --- drafts, open state ---------------------------------------------------------------------
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
      setTimeout(function () { els.input.focus(); scrollToBottom(); }, 50);
    }
    if (tellParent) toParent({ type: open ? "open" : "close" });
  }

  // --- rendering --------------------------------------------------------------------------------
  function announce(text) {
    var line = document.createElement("p");
    line.textContent = text;
    els.announce.appendChild(line);
    while (els.announce.childNodes.length > 5) els.announce.removeChild(els.announce.firstChild);
  }

  function timeOf(iso) {
    var date = new Date(iso);
    return isNaN(date) ? "" : date.toLocaleTimeString(cfg.language, { hour: "2-digit", minute: "2-digit" });
  }

  function dayOf(iso) {
    var date = new Date(iso);
    return isNaN(date) ? "" : date.toLocaleDateString(cfg.language, { weekday: "long", day: "numeric", month: "long" });
  }

  function node(tag, className, text) {
    var element = document.createElement(tag);
    if (className) element.className = className;
    if (text !== undefined) element.textContent = text;
    return element;
  }

  function bubble(role, name, text, showName) {
    var row = node("div", "msg msg-" + role);
    if (showName) row.appendChild(node("div", "msg-name", name));
    row.appendChild(node("div", "bubble", text));
    return row;
  }

  function nearBottom() {
    var log = els.log;
    return log.scrollHeight - log.scrollTop - log.clientHeight < 80;
  }

  function scrollToBottom() { els.log.scrollTop = els.log.scrollHeight; }

  function render(scroll) {
    var log = els.log;
    var stick = scroll === "force" || nearBottom();
    var fromBottom = log.scrollHeight - log.scrollTop;
    var fragment = document.createDocumentFragment();

    if (cfg.mode === "persistent") fragment.appendChild(node("div", "info", T.persistent_info));
    else if ((!S.conv || S.messages.size === 0) && S.online) fragment.appendChild(node("div", "info", T.welcome_live));
    if (S.hasMore) fragment.appendChild(node("div", "history-mark", T.load_older));
    else if (S.minSeq === 1) fragment.appendChild(node("div", "history-mark", T.start_of_history));

    var lastDay = null;
    var lastSender = null;
    var notices = S.notices.slice();
    function flushNotices(uptoSeq) {
      while (notices.length && notices[0].afterSeq <= uptoSeq) {
        fragment.appendChild(node("div", "notice notice-" + notices[0].code, notices[0].text));
        notices.shift();
        lastSender = null;
      }
    }
    var ordered = Array.from(S.messages.values()).sort(function (a, b) { return a.seq - b.seq; });
    ordered.forEach(function (m) {
      flushNotices(m.seq - 1);
      var day = dayOf(m.sent_at);
      if (day !== lastDay) {
        fragment.appendChild(node("div", "day", day));
        lastDay = day;
        lastSender = null;
      }
      var role = (m.sender && m.sender.role) || "system";
      if (role === "system") {
        fragment.appendChild(node("div", "notice", m.text));
        lastSender = null;
        return;
      }
      var name = role === "customer" ? T.you : (m.sender.name || T.agent);
      var senderKey = role + ":" + name;
      var row = bubble(role, name, m.text, role === "agent" && senderKey !== lastSender);
      row.dataset.seq = String(m.seq);
      if (m.client_id) row.dataset.clientId = m.client_id;
      var meta = node("div", "meta");
      var time = node("time", "", timeOf(m.sent_at));
      time.dateTime = m.sent_at;
      time.title = new Date(m.sent_at).toLocaleString(cfg.language);
      meta.appendChild(time);
      if (role === "customer") meta.appendChild(node("span", "tick", "✓"));
      row.appendChild(meta);
      fragment.appendChild(row);
      lastSender = senderKey;
    });
    flushNotices(Infinity);

    S.pending.forEach(function (p) {
      var row = bubble("customer", T.you, p.text, false);
      row.classList.add(p.failed ? "failed" : "pending");
      row.dataset.clientId = p.client_id;
      var meta = node("div", "meta");
      if (p.failed) {
        meta.appendChild(node("span", "status-failed", T.not_sent));
        var retry = node("button", "link", T.retry);
        retry.type = "button";
        retry.addEventListener("click", function () { p.failed = null; savePending(); sendPending(p); render("keep"); });
        var discard = node("button", "link", T.discard);
        discard.type = "button";
        discard.addEventListener("click", function () { dropPending(p.client_id); render("keep"); });
        meta.appendChild(retry);
        meta.appendChild(discard);
      } else {
        meta.appendChild(node("span", "status-pending", T.sending));
      }
      row.appendChild(meta);
      fragment.appendChild(row);
    });

    log.replaceChildren(fragment);
    if (scroll === "keep") log.scrollTop = log.scrollHeight - fromBottom;
    else if (stick) scrollToBottom();
    renderChrome();
  }

  function initials(name) {
    return name.split(/\s+/).filter(Boolean).slice(0, 2).map(function (w) { return w[0]; }).join("").toUpperCase();
  }

  function renderChrome() {
    var conv = S.conv;
    var state = conv ? conv.state : null;
    var ended = state === "closed" || state === "wrap_up";
    var agentName = conv && conv.agent && conv.agent.name;

    if (S.welcomed) {
      var text;
      var dot = "online";
      if (agentName && state === "active") text = fmt(T.with_agent, { name: agentName });
      else if (cfg.mode === "persistent") text = T.persistent_status;
      else if (state === "open") { text = T.waiting_agent; dot = "waiting"; }
      else if (ended) { text = T.ended; dot = "off"; }
      else if (S.online) text = T.online;
      else { text = T.offline; dot = "off"; }
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
    var showEnded = cfg.mode === "live" && ended;
    var showOffline = !showEnded && cfg.mode === "live" && !S.online && (!conv || ended);
    els.ended.hidden = !showEnded;
    els.endedText.textContent = T.ended_panel;
    els.offline.hidden = !showOffline;
    els.log.hidden = showOffline;
    els.composer.hidden = showEnded || showOffline;
    if (cfg.mode === "persistent" && state === "closed") showComposerHint(T.ended_persistent);
    else showComposerHint("");
    els.chat.dataset.state = state || "none";
  }

  function showComposerHint(text) {
    els.input.placeholder = text || T.placeholder;
  }

  function showComposerError(text) {
    els.composerError.textContent = text || "";
    els.composerError.hidden = !text;
  }

  function setConnection(state) {
    var text = { connecting: T.connecting, reconnecting: T.reconnecting, signing_in: T.signing_in,
      signin_needed: T.signin_needed, elsewhere: T.elsewhere }[state];
    els.connection.textContent = text || "";
    els.connection.hidden = !text || (state === "connecting" && !S.everWelcomed);
    els.connection.dataset.state = state;
    els.chat.dataset.connection = state;
    if (!S.welcomed) {
      els.statusText.textContent = text || T.connecting;
      els.status.dataset.state = "connecting";
    }
  }

  // --- transcript -------------------------------------------------------------------------------
  function downloadTranscript() {
    var lines = [fmt(T.transcript_title, { title: cfg.title }), fmt(T.transcript_saved, { date: new Date().toLocaleString(cfg.language) }), ""];
    Array.from(S.messages.values()).sort(function (a, b) { return a.seq - b.seq; }).forEach(function (m) {
      var role = (m.sender && m.sender.role) || "system";
      var name = role === "customer" ? T.you : (m.sender && m.sender.name) || T.system;
      lines.push("[" + new Date(m.sent_at).toLocaleString(cfg.language) + "] " + name + ": " + m.text);
    });
    var blob = new Blob([lines.join("\n") + "\n"], { type: "text/plain;charset=utf-8" });
    var link = document.createElement("a");
    link.href = URL.createObjectURL(blob);
    link.download = "chat-transcript-" + new Date().toISOString().slice(0, 10) + ".txt";
    document.body.appendChild(link);
    link.click();
    setTimeout(function () { URL.revokeObjectURL(link.href); link.remove(); }, 1000);
  }

  // --- wiring -----------------------------------------------------------------------------------
  function applyTheme() {
    var hex = cfg.color.slice(1);
    var r = parseInt(hex.slice(0, 2), 16), g = parseInt(hex.slice(2, 4), 16), b = parseInt(hex.slice(4, 6), 16);
    var light = (0.299 * r + 0.587 * g + 0.114 * b) > 170;
    document.documentElement.style.setProperty("--accent", cfg.color);
    document.documentElement.style.setProperty("--on-accent", light ? "#111827" : "#ffffff");
  }

  function wire() {
    applyTheme();
    els.minimize.hidden = !embedded;
    els.composer.addEventListener("submit", function (event) { event.preventDefault(); submit(); });
    els.input.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) { event.preventDefault(); submit(); }
    });
    els.input.addEventListener("input", onInput);
    els.input.addEventListener("blur", stopTyping);
    els.minimize.addEventListener("click", function () { setOpen(false, true); });
    els.end.addEventListener("click", function () { els.confirm.hidden = false; $("confirm-cancel").focus(); });
    $("confirm-cancel").addEventListener("click", function () { els.confirm.hidden = true; els.end.focus(); });
    $("confirm-end").addEventListener("click", function () {
      els.confirm.hidden = true;
      send({ type: "end" });
    });
    els.confirm.addEventListener("keydown", function (event) {
      if (event.key === "Escape") { els.confirm.hidden = true; els.end.focus(); }
    });
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && els.confirm.hidden && embedded) setOpen(false, true);
    });
    $("transcript").addEventListener("click", downloadTranscript);
    $("new-chat").addEventListener("click", function () {
      resetConversation(null);
      render("force");
      els.input.focus();
    });
    els.log.addEventListener("scroll", function () {
      if (els.log.scrollTop < 60 && S.hasMore && !S.loadingOlder && S.minSeq > 1) {
        if (send({ type: "history", before_seq: S.minSeq, limit: 30 })) { S.loadingOlder = true; }
      }
    });
    window.addEventListener("online", function () { if (!S.ws) connect(); });
    document.addEventListener("visibilitychange", function () {
      if (!document.hidden && !S.ws && S.retryTimer) connect();
      if (!document.hidden && S.open && S.unread) { S.unread = 0; toParent({ type: "unread", count: 0 }); }
    });
    els.input.value = tab.get("draft", "");
    autosize();
    render("force");
    setConnection("connecting");
    toParent({
      type: "ready", open: S.open, color: cfg.color, title: cfg.title,
      labels: { open: T.open_chat, close: T.close_chat, unread: T.unread }
    });
    connect();
  }

  wire();
})();
