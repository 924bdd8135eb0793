/* Offers (PROTOCOL.md "Agent socket, additions": offers): routing asks this agent to take a
 * conversation before a deadline. Each pending offer is a card at the top of the sidebar with the
 * customer, a countdown, Accept and Decline; a new offer plays a sound, shows a toast and, when the
 * tab is in the background, a desktop notification. Accepting makes the conversation this agent's
 * ("assigned" follows and opens it); declining or the deadline passes it on to another agent. */

import { $, el } from "../parley/dom.js";
import { fmt } from "../parley/format.js";
import { S, T, client } from "./context.js";
import { select } from "./conversation.js";
import { beep, desktopNotify, toast } from "./notify.js";
import { secondsLeft } from "./state.js";

let ticker = null;

/** A new offer (or the offers of `welcome`, with `quiet`). */
export function addOffer(frame, { quiet = false } = {}) {
  const id = frame.conversation.id;
  const isNew = !S.offers.has(id);
  S.offers.set(id, { conversation: frame.conversation, expires_at: frame.expires_at });
  renderOffers();
  if (isNew && !quiet) {
    const body = fmt(T.offer_body, { name: frame.conversation.customer.name });
    beep([520, 780, 1040]);
    desktopNotify(T.offer_title, body, id);
  }
}

/** The offer is gone: accepted elsewhere, expired, or the customer left. */
export function dropOffer(conversationId, reason) {
  if (!S.offers.delete(conversationId)) return;
  renderOffers();
  if (reason === "expired") toast({ title: T.offer_expired, kind: "info" });
  else if (reason === "closed") toast({ title: T.offer_withdrawn, kind: "info" });
}

export function replaceOffers(frames) {
  S.offers = new Map();
  for (const frame of frames || []) addOffer(frame, { quiet: true });
  renderOffers();
}

function answer(type, conversationId, buttons) {
  for (const button of buttons) button.disabled = true;
  client
    .request({ type, conversation_id: conversationId })
    .then(() => {
      S.offers.delete(conversationId);
      renderOffers();
      // "assigned" follows the answer: open the conversation now if it came first, else when it comes
      if (type === "accept" && S.conversations.has(conversationId)) select(conversationId);
      else if (type === "accept") S.openOnAssigned = conversationId;
    })
    .catch((error) => {
      if (error.code === "expired") {
        dropOffer(conversationId, "expired");
      } else {
        for (const button of buttons) button.disabled = false;
        toast({ title: T.error, body: error.message, kind: "error" });
      }
    });
}

export function renderOffers() {
  const box = $("offers");
  box.replaceChildren();
  box.hidden = S.offers.size === 0;
  const now = Date.now();
  for (const [id, offer] of S.offers) {
    const conv = offer.conversation;
    const left = secondsLeft(offer.expires_at, now);
    const card = el("article", "offer-card");
    card.dataset.conversationId = id;
    card.setAttribute("aria-label", fmt(T.offer_body, { name: conv.customer.name }));
    const head = el("div", "offer-head");
    head.append(el("strong", "offer-title", T.offer_title));
    const countdown = el("span", "offer-countdown", fmt(T.offer_expires_in, { seconds: left }));
    countdown.dataset.expiresAt = offer.expires_at;
    head.append(countdown);
    card.append(head);
    card.append(el("div", "offer-who", conv.customer.name));
    card.append(el("div", "offer-meta muted", conv.workstream.name));
    const bar = el("div", "offer-bar");
    const fill = el("span", "offer-fill");
    fill.dataset.expiresAt = offer.expires_at;
    fill.dataset.total = String(Math.max(left, 1));
    fill.style.width = "100%";
    bar.append(fill);
    card.append(bar);
    const actions = el("div", "offer-actions");
    const accept = el("button", "btn btn-primary btn-sm offer-accept", T.accept);
    const decline = el("button", "btn btn-sm offer-decline", T.decline);
    accept.type = decline.type = "button";
    const allowed = conv.allowed_actions || ["accept", "decline"];
    accept.disabled = !allowed.includes("accept") || !client.ready;
    decline.disabled = !allowed.includes("decline") || !client.ready;
    accept.addEventListener("click", () => answer("accept", id, [accept, decline]));
    decline.addEventListener("click", () => answer("decline", id, [accept, decline]));
    actions.append(accept, decline);
    card.append(actions);
    box.append(card);
  }
  tick();
  if (S.offers.size && !ticker) ticker = window.setInterval(tick, 1000);
  if (!S.offers.size && ticker) {
    window.clearInterval(ticker);
    ticker = null;
  }
}

/** The countdowns, once a second; the server withdraws an offer when its time is up. */
function tick() {
  const now = Date.now();
  for (const node of document.querySelectorAll("#offers .offer-countdown")) {
    node.textContent = fmt(T.offer_expires_in, { seconds: secondsLeft(node.dataset.expiresAt, now) });
  }
  for (const node of document.querySelectorAll("#offers .offer-fill")) {
    const left = secondsLeft(node.dataset.expiresAt, now);
    const total = Number(node.dataset.total);
    node.style.width = Math.min(100, (100 * left) / total) + "%";
    node.classList.toggle("offer-fill-late", left <= 10);
  }
}
