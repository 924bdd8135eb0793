/* What each frame from the agent socket does (PROTOCOL.md, "Agent socket"). A new frame type gets
 * its handler here: update `S` (state.js declares it), then re-render the parts it touched. */

import { $ } from "../parley/dom.js";
import { fmt, plural } from "../parley/format.js";
import { F, S, T, client } from "./context.js";
import { addMessages, forgetOtherThreads, renderConversationHeader, renderMessages, restoreSelection, resyncCurrent, select, thread } from "./conversation.js";
import { failOutgoing, hideCustomerTyping, showCustomerTyping } from "./composer.js";
import { renderList, renderQueue } from "./list.js";
import { loadPanel } from "./panel.js";
import { dropToastsFor, notifyAssigned, notifyReturned, toast } from "./notify.js";
import { addOffer, dropOffer, replaceOffers } from "./offers.js";
import { markRead } from "./reads.js";
import { renderAll } from "./render.js";
import { listCursors, withMessage, withState } from "./state.js";
import { renderCapacity, renderPresence, setConnection } from "./topbar.js";

let welcomed = false;

export const HANDLERS = {
  welcome(frame) {
    const first = !welcomed;
    welcomed = true;
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
    S.more = { active: false, waiting: false, wrap_up: false, ...(frame.conversations_more || {}) };
    S.listCursor = listCursors(frame.conversations);
    S.queue = frame.queue;
    S.queueTotal = frame.queue_total ?? frame.queue.length;
    replaceOffers(frame.offers);
    forgetOtherThreads();
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
    if (summary.id === S.openOnAssigned) {
      S.openOnAssigned = null;
      renderList();
      select(summary.id); // the agent accepted or picked it a moment ago: open it
      return;
    }
    if (isNew) notifyAssigned(summary);
    renderList();
    if (summary.id === S.currentId) renderConversationHeader();
  },

  state(frame) {
    const id = frame.conversation_id;
    const conv = S.conversations.get(id);
    if (frame.conversation) {
      if (frame.state === "closed") {
        S.conversations.delete(id);
        S.attention.delete(id);
      } else {
        S.conversations.set(id, { ...(conv || {}), ...frame.conversation });
        // Routing announces the transition to active just before "assigned": either one is the news.
        if (!conv && !S.knownIds.has(id)) {
          S.knownIds.add(id);
          notifyAssigned(frame.conversation);
        }
      }
    } else if (conv) {
      S.conversations.set(id, withState(conv, frame.state));
    }
    // back to active: a "Customer returned" toast about it is old news
    if (frame.state === "active") dropToastsFor(id, "returned");
    const name = (frame.conversation && frame.conversation.customer.name) || (conv && conv.customer.name) || "";
    if (frame.reason === "customer_ended") {
      // the visitor ended a live chat: say so in a toast and at the end of the transcript
      thread(id).endedLine = fmt(T.customer_ended_body, { name });
      toast({ title: T.customer_ended, body: thread(id).endedLine, kind: "info" });
    }
    if (id === S.currentId) {
      S.currentState = frame.state;
      renderConversationHeader();
      renderMessages(true);
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
    const id = msg.conversation_id;
    const conv = S.conversations.get(id);
    if (conv) S.conversations.set(id, withMessage(conv, msg));
    if (S.threads.has(id)) addMessages(id, [msg]);
    if (id === S.currentId && document.visibilityState === "visible") {
      markRead(id, msg.seq);
    } else if (msg.sender.role === "customer") {
      S.attention.add(id);
    }
    if (msg.sender.role === "customer" && id === S.currentId) hideCustomerTyping();
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
    S.queueTotal = frame.total ?? frame.items.length;
    renderQueue();
  },

  presence(frame) {
    if (S.agent) S.agent.presence = frame.status;
    $("presence").value = frame.status;
    renderPresence();
    const status = T["presence_" + frame.status] || frame.status;
    if (frame.reason === "offers_expired") {
      toast({ title: T.away_offers_expired, body: plural(T.away_offers_expired_body, frame.missed_offers, F.locale), kind: "error" });
    } else if (frame.by) {
      toast({ title: fmt(T.presence_set_by, { name: frame.by.name, status }), kind: "info" });
    }
  },

  offer(frame) {
    addOffer(frame);
  },

  offer_withdrawn(frame) {
    dropOffer(frame.conversation_id, frame.reason);
  },

  rating(frame) {
    // the customer rated an ended conversation of mine (post-chat survey): on its item, and a toast
    const conv = S.conversations.get(frame.conversation_id);
    const score = frame.rating.score;
    if (conv) S.conversations.set(frame.conversation_id, { ...conv, rating: frame.rating });
    const stars = "★".repeat(score) + "☆".repeat(5 - score);
    const name = conv ? conv.customer.name : T.customer_role;
    toast({ title: fmt(T.rated, { name, stars }), body: frame.rating.comment || "", conversationId: frame.conversation_id });
    renderList();
  },

  error(frame) {
    if (frame.client_id) failOutgoing(frame.client_id, frame.message);
    else toast({ title: T.error, body: frame.message, kind: "error" });
  },
};

export function registerHandlers() {
  for (const [type, handler] of Object.entries(HANDLERS)) client.on(type, handler);
}
