/* Parley chat widget loader.
 * <script src="https://parley.example.com/static/widget/loader.js" data-parley-widget="PUBLIC_ID" async></script>
 * Adds a launcher button and the chat in an iframe served by Parley. Talks to the iframe only with
 * postMessage addressed to Parley's origin and only listens to that iframe from that origin.
 */
(function () {
  "use strict";
  var script = document.currentScript || document.querySelector("script[data-parley-widget]");
  if (!script) return;
  var id = script.getAttribute("data-parley-widget") || "";
  var origin = new URL(script.src, location.href).origin;
  var registry = (window.__parleyWidgets = window.__parleyWidgets || {});
  if (!/^[a-z0-9-]{3,64}$/.test(id) || registry[id]) return;
  registry[id] = true;

  var css =
    ":host{all:initial}[hidden]{display:none!important}" +
    ".launcher{position:fixed;right:20px;bottom:20px;width:60px;height:60px;border:0;border-radius:50%;" +
    "background:var(--accent,#2563eb);color:var(--on-accent,#fff);cursor:pointer;display:grid;place-items:center;" +
    "box-shadow:0 8px 24px rgba(15,23,42,.28),0 2px 6px rgba(15,23,42,.18);z-index:2147483000;" +
    "transition:transform .18s ease,box-shadow .18s ease}" +
    ".launcher:hover{transform:scale(1.06)}.launcher:focus-visible{outline:3px solid #93c5fd;outline-offset:3px}" +
    ".launcher svg{width:28px;height:28px;transition:transform .2s ease,opacity .2s}" +
    ".launcher .x{position:absolute;opacity:0;transform:rotate(-90deg)}" +
    ".open .launcher .bubble{opacity:0;transform:rotate(90deg)}.open .launcher .x{opacity:1;transform:none}" +
    ".badge{position:absolute;top:-3px;right:-3px;min-width:22px;height:22px;padding:0 6px;border-radius:11px;" +
    "background:#ef4444;color:#fff;font:700 12px/22px system-ui,sans-serif;text-align:center;" +
    "box-shadow:0 0 0 2px #fff}" +
    ".panel{position:fixed;right:20px;bottom:92px;width:380px;height:min(640px,calc(100vh - 112px));border:0;" +
    "border-radius:16px;overflow:hidden;background:#fff;box-shadow:0 18px 50px rgba(15,23,42,.28);" +
    "z-index:2147483001;opacity:0;transform:translateY(12px) scale(.98);pointer-events:none;visibility:hidden;" +
    "transition:opacity .18s ease,transform .18s ease,visibility 0s .18s}" +
    ".open .panel{opacity:1;transform:none;pointer-events:auto;visibility:visible;transition:opacity .18s ease,transform .18s ease}" +
    "iframe{width:100%;height:100%;border:0;display:block}" +
    "@media (max-width:480px){.panel{inset:0;width:100%;height:100%;border-radius:0}.open .launcher{display:none}}" +
    "@media (prefers-reduced-motion:reduce){.panel,.launcher,.launcher svg{transition:none}}";

  var host = document.createElement("div");
  host.setAttribute("data-parley-widget-host", id);
  var root = host.attachShadow ? host.attachShadow({ mode: "open" }) : host;
  // A constructed style sheet is not an inline style: it works under the site's strict CSP too.
  var sheet = null;
  try {
    sheet = new CSSStyleSheet();
    sheet.replaceSync(css);
  } catch (e) { sheet = null; }
  var wrap = document.createElement("div");
  var panel = document.createElement("div");
  panel.className = "panel";
  var frame = document.createElement("iframe");
  frame.title = "Chat";
  // the page's language, for a widget whose language is "the visitor's"
  frame.src = origin + "/widget/" + id + "/frame/?origin=" + encodeURIComponent(location.origin) +
    "&lang=" + encodeURIComponent(document.documentElement.lang || "");
  panel.appendChild(frame);
  var button = document.createElement("button");
  button.type = "button";
  button.className = "launcher";
  button.hidden = true;
  button.setAttribute("aria-expanded", "false");
  button.innerHTML =
    '<svg class="bubble" viewBox="0 0 24 24" aria-hidden="true"><path fill="currentColor" d="M12 3C6.5 3 2 6.8 2 ' +
    "11.5c0 2.4 1.2 4.6 3.2 6.1L4.5 21l4-1.9c1.1.3 2.3.4 3.5.4 5.5 0 10-3.8 10-8.5S17.5 3 12 3Z\"/></svg>" +
    '<svg class="x" viewBox="0 0 24 24" aria-hidden="true"><path fill="none" stroke="currentColor" ' +
    'stroke-width="2.4" stroke-linecap="round" d="M6 6l12 12M18 6 6 18"/></svg>';
  var badge = document.createElement("span");
  badge.className = "badge";
  badge.hidden = true;
  badge.setAttribute("aria-hidden", "true");
  button.appendChild(badge);
  wrap.appendChild(panel);
  wrap.appendChild(button);
  if (sheet && "adoptedStyleSheets" in root) root.adoptedStyleSheets = [sheet];
  else {
    var style = document.createElement("style");
    style.textContent = css;
    root.appendChild(style);
  }
  root.appendChild(wrap);

  var labels = { open: "Open chat", close: "Close chat" };
  var unreadLabel = "";  // "2 unread messages", counted by the frame in its language
  var isOpen = false;
  var unread = 0;

  function post(message) {
    message.parley = id;
    if (frame.contentWindow) frame.contentWindow.postMessage(message, origin);
  }

  function label() {
    var text = isOpen ? labels.close : labels.open;
    if (unread && !isOpen) text += " (" + (unreadLabel || unread) + ")";
    button.setAttribute("aria-label", text);
    button.title = text;
  }

  function setOpen(open, tellFrame) {
    isOpen = open;
    wrap.className = open ? "open" : "";
    button.setAttribute("aria-expanded", String(open));
    badge.hidden = open || !unread;
    if (open) frame.focus();
    if (tellFrame) post({ type: open ? "open" : "close" });
    label();
  }

  button.addEventListener("click", function () {
    setOpen(!isOpen, true);
    if (!isOpen) button.focus();
  });

  // The site's token function: only the one the widget's authentication setting names, taken from the
  // embed snippet (data-parley-token-function) or else from Parley (/widget/<id>/loader.json); never a
  // name the frame asks for.
  var NAME_RE = /^[A-Za-z_$][\w$]*(\.[A-Za-z_$][\w$]*)*$/;
  var namedFunction = script.getAttribute("data-parley-token-function");
  var functionName = namedFunction ? Promise.resolve(namedFunction) : null;

  function configuredName() {
    if (!functionName) {
      functionName = fetch(origin + "/widget/" + id + "/loader.json", { credentials: "omit", cache: "no-store" })
        .then(function (response) { return response.ok ? response.json() : {}; })
        .then(function (data) { return typeof data.token_function === "string" ? data.token_function : null; });
      functionName.catch(function () { functionName = null; }); // asked again on the next request
    }
    return functionName;
  }

  // The function may return the token, return a Promise of it, or call the callback it is given
  // (callback(token), or node-style callback(error, token)); whichever answers first counts.
  function callTokenFunction(name) {
    return new Promise(function (resolve, reject) {
      if (!NAME_RE.test(name || "")) { resolve(null); return; }
      var parts = name.split("."), owner = window;
      for (var i = 0; i < parts.length - 1 && owner != null; i++) owner = owner[parts[i]];
      var fn = owner == null ? null : owner[parts[parts.length - 1]];
      if (typeof fn !== "function") { resolve(null); return; }
      var settled = false;
      function answer(value) {
        if (settled) return;
        settled = true;
        resolve(typeof value === "string" && value ? value : null);
      }
      function fail() {
        if (settled) return;
        settled = true;
        reject(new Error("token function failed"));
      }
      function callback(first, second) {
        if (typeof first === "string") answer(first);
        else if (first == null && typeof second === "string") answer(second);
        else if (first instanceof Error) fail();
        else answer(null);
      }
      var result;
      try { result = fn.call(owner, callback); } catch (e) { fail(); return; }
      if (result != null) Promise.resolve(result).then(answer, fail);
      // undefined: the function answers through the callback (the frame gives up after its own timeout)
    });
  }

  function giveToken() {
    Promise.resolve()
      .then(configuredName)
      .then(callTokenFunction)
      .then(function (token) { post({ type: "token", token: token }); },
        function () { post({ type: "token", token: null }); });
  }

  window.addEventListener("message", function (event) {
    if (event.origin !== origin || event.source !== frame.contentWindow) return;
    var data = event.data;
    if (!data || typeof data !== "object" || data.parley !== id) return;
    if (data.type === "ready") {
      if (data.labels) labels = data.labels;
      if (/^#[0-9a-fA-F]{6}$/.test(data.color || "")) {
        var hex = data.color.slice(1);
        var lum = 0.299 * parseInt(hex.slice(0, 2), 16) + 0.587 * parseInt(hex.slice(2, 4), 16) +
          0.114 * parseInt(hex.slice(4, 6), 16);
        host.style.setProperty("--accent", data.color);
        host.style.setProperty("--on-accent", lum > 170 ? "#111827" : "#fff");
      }
      frame.title = data.title || "Chat";
      button.hidden = false;
      setOpen(Boolean(data.open), false);
    } else if (data.type === "token_request") {
      giveToken();
    } else if (data.type === "open" || data.type === "close") {
      setOpen(data.type === "open", false);
      if (!isOpen) button.focus();
    } else if (data.type === "unread") {
      unread = Math.max(0, data.count | 0);
      unreadLabel = typeof data.label === "string" ? data.label : "";
      badge.textContent = unread > 9 ? "9+" : String(unread);
      badge.hidden = !unread || isOpen;
      label();
    }
  });

  function mount() { document.body.appendChild(host); }
  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount);
})();
