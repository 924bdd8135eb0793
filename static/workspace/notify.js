/* Getting the agent's attention: the title count, toasts, sound and desktop notifications. */

import { $, el } from "../parley/dom.js";
import { fmt } from "../parley/format.js";
import { BASE_TITLE, S, T, store } from "./context.js";
import { views } from "./views.js";

export function renderTitle() {
  for (const id of Array.from(S.attention)) {
    const conv = S.conversations.get(id);
    if (!conv || (id === S.currentId && document.visibilityState === "visible" && !conv.customer_returned)) {
      S.attention.delete(id);
    }
  }
  const count = S.attention.size;
  document.title = (count ? "(" + count + ") " : "") + BASE_TITLE;
}

export function notifyAssigned(summary) {
  S.attention.add(summary.id);
  const body = fmt(T.new_assignment_body, { name: summary.customer.name });
  toast({ title: T.new_assignment, body, kind: "assigned", conversationId: summary.id });
  beep([660, 880]);
  desktopNotify(T.new_assignment, body, summary.id);
  renderTitle();
}

export function notifyReturned(summary, loud) {
  S.attention.add(summary.id);
  const body = fmt(T.customer_returned_body, { name: summary.customer.name });
  toast({ title: T.customer_returned, body, kind: "returned", conversationId: summary.id });
  if (loud) {
    beep([880, 660, 880]);
    desktopNotify(T.customer_returned, body, summary.id);
  }
  renderTitle();
}

/** A toast; with `conversationId` it offers to open that conversation. */
export function toast({ title, body, kind, conversationId }) {
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
      views.select(conversationId);
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

/** Dismiss the toasts that point at a conversation now on screen (of one `kind` only, if given). */
export function dropToastsFor(id, kind) {
  for (const old of document.querySelectorAll((kind ? ".toast-" + kind : ".toast") + "[data-conversation-id]")) {
    if (old.dataset.conversationId === id) old.remove();
  }
}

let audio = null;

export function beep(freqs) {
  if (!S.soundOn) return;
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

export function renderSound() {
  const button = $("sound-toggle");
  button.setAttribute("aria-pressed", S.soundOn ? "true" : "false");
  button.classList.toggle("on", S.soundOn);
  $("sound-label").textContent = S.soundOn ? T.sound_on : T.sound_off;
}

export function toggleSound() {
  S.soundOn = !S.soundOn;
  store.set("sound", S.soundOn);
  renderSound();
  if (S.soundOn) beep([660]);
}

export function desktopNotify(title, body, conversationId) {
  if (!("Notification" in window) || Notification.permission !== "granted") return;
  if (document.visibilityState === "visible" && document.hasFocus()) return;
  try {
    const note = new Notification(title, { body, tag: "parley-" + conversationId });
    note.onclick = () => {
      window.focus();
      views.select(conversationId);
      note.close();
    };
  } catch (e) {
    /* some platforms allow notifications only from a service worker */
  }
}

export function setupPermissionPrompt() {
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
