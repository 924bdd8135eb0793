/* The sidebar: the agent's conversations by group, and the pick queue. */

import { $, el, paintAvatar } from "../parley/dom.js";
import { ago, fmt, plural } from "../parley/format.js";
import { F, S, T, client, connected } from "./context.js";
import { renderTitle, toast } from "./notify.js";
import { listItem } from "./items.js";
import { unread } from "./reads.js";
import { GROUPS, listCursors, pickRefusal, sortedIn } from "./state.js";
import { views } from "./views.js";

export function renderList() {
  // the list is rebuilt: a keyboard user's focus stays on the same conversation's entry
  const active = document.activeElement;
  const focusedItem = active && active.classList.contains("conv-button") ? active.closest(".conv-item") : null;
  const focusedId = focusedItem ? focusedItem.dataset.id : null;
  const focusedAt = focusedItem ? Array.from(document.querySelectorAll(".sidebar .conv-button")).indexOf(active) : -1;
  for (const group of GROUPS) {
    const list = $("list-" + group);
    const items = sortedIn(S.conversations, group);
    $("count-" + group).textContent = items.length;
    list.replaceChildren(...items.map(renderItem));
    if (S.more[group]) {
      $("count-" + group).textContent = items.length + "+";
      list.append(renderMore(group));
    } else if (!items.length) list.append(el("li", "conv-empty", T.group_empty));
  }
  renderQueue();
  renderTitle();
  if (focusedId && document.activeElement !== active) {
    // the same conversation's entry; if it left the list, the one now in its place, else the transcript
    const buttons = document.querySelectorAll(".sidebar .conv-button");
    const again =
      document.querySelector('.conv-item[data-id="' + CSS.escape(focusedId) + '"] .conv-button') ||
      buttons[Math.min(focusedAt, buttons.length - 1)];
    if (again) again.focus();
    else if (S.currentId && !$("conversation").hidden) $("messages").focus();
  }
}

function renderItem(conv) {
  const { li, body } = listItem(conv, "conv-item", views.select);
  li.dataset.state = conv.state;
  const top = el("span", "conv-top");
  const name = el("span", "conv-name", conv.customer.name);
  const when = el("span", "conv-when", conv.last_customer_message_at ? ago(conv.last_customer_message_at, T) : "");
  when.title = conv.last_customer_message_at
    ? fmt(T.last_customer, { when: F.dateTime(conv.last_customer_message_at) || "—" })
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
  if (conv.rating) {
    // the customer's post-chat rating on the ended item
    const stars = el("span", "badge badge-rating", "★".repeat(conv.rating.score) + "☆".repeat(5 - conv.rating.score));
    stars.title = conv.rating.comment || "";
    tags.append(stars);
  }
  const count = conv.id === S.currentId ? 0 : unread(conv);
  if (count > 0) {
    const badge = el("span", "unread", count > 99 ? "99+" : count);
    badge.title = plural(T.unread, count, F.locale);
    tags.append(badge);
  }
  body.append(top, bottom, tags);
  return li;
}

/* The end of a group the server has more of: scrolling it into view (or the button) fetches the next
 * page with `list` (PROTOCOL.md, "Agent socket, additions"). */
let moreObserver = null;

function renderMore(group) {
  const li = el("li", "conv-more");
  const button = el("button", "btn btn-sm conv-more-button", S.loadingMore.has(group) ? T.loading_more : T.load_more);
  button.type = "button";
  button.disabled = S.loadingMore.has(group);
  button.addEventListener("click", () => loadMore(group));
  li.append(button);
  li.dataset.group = group;
  if (!moreObserver && "IntersectionObserver" in window) {
    moreObserver = new IntersectionObserver((entries) => {
      for (const entry of entries) if (entry.isIntersecting) loadMore(entry.target.dataset.group);
    });
  }
  if (moreObserver) moreObserver.observe(li);
  return li;
}

function loadMore(group) {
  if (!S.more[group] || S.loadingMore.has(group) || !connected()) return;
  S.loadingMore.add(group);
  const frame = { type: "list", state: group };
  if (S.listCursor[group]) frame.before = S.listCursor[group];
  client.request(frame).then(
    (page) => {
      S.loadingMore.delete(group);
      for (const summary of page.items) {
        if (!S.conversations.has(summary.id)) S.conversations.set(summary.id, summary);
        S.knownIds.add(summary.id);
      }
      S.listCursor = listCursors(page.items, S.listCursor);
      S.more[group] = page.has_more && page.items.length > 0;
      renderList();
    },
    (error) => {
      S.loadingMore.delete(group);
      renderList();
      toast({ title: T.error, body: error.message, kind: "error" });
    }
  );
}

export function renderQueue() {
  const list = $("list-queue");
  $("count-queue").textContent = S.queueTotal || S.queue.length;
  if (!S.queue.length) {
    list.replaceChildren(el("li", "conv-empty", T.queue_empty));
    return;
  }
  list.replaceChildren(...S.queue.map(renderQueueItem));
  if (S.queueTotal > S.queue.length) {
    list.append(el("li", "conv-empty", fmt(T.queue_more, { shown: S.queue.length, total: S.queueTotal })));
  }
}

function renderQueueItem(item) {
  const li = el("li", "queue-item");
  li.dataset.id = item.id;
  const avatar = el("span", "avatar");
  paintAvatar(avatar, item.customer.name, item.customer.id);
  const body = el("span", "conv-body");
  const top = el("span", "conv-top");
  top.append(el("span", "conv-name", item.customer.name), el("span", "conv-when", ago(item.created_at, T)));
  const bottom = el("span", "conv-bottom");
  bottom.append(el("span", "conv-preview", item.last_message ? item.last_message.text : item.workstream.name));
  const tags = el("span", "conv-tags");
  tags.append(el("span", "badge badge-mode badge-" + item.mode, T[item.mode]));
  body.append(top, bottom, tags);
  const wrap = el("span", "tip-wrap");
  const pick = el("button", "btn btn-sm btn-primary pick-button", T.pick);
  pick.type = "button";
  const tip = el("span", "tip");
  tip.setAttribute("role", "tooltip");
  const reason = pickRefusal(item, S.capacity, connected(), T);
  pick.disabled = !!reason;
  tip.textContent = reason;
  tip.hidden = !reason;
  if (reason) pick.setAttribute("aria-description", reason);
  pick.addEventListener("click", () => pickConversation(item.id));
  wrap.append(pick, tip);
  li.append(avatar, body, wrap);
  return li;
}

function pickConversation(id) {
  // The pick's own "assigned" news arrives before its answer: it is no surprise, so no second notice.
  const known = S.knownIds.has(id);
  S.knownIds.add(id);
  client.request({ type: "pick", conversation_id: id }).then(
    () => {
      toast({ title: T.picked, kind: "success" });
      // Another agent's pick news may have taken the item off the queue before this answer, and this
      // agent's "assigned" may still be on its way: then the conversation opens when it comes.
      if (S.conversations.has(id) || S.queue.some((q) => q.id === id)) views.select(id);
      else S.openOnAssigned = id;
    },
    (error) => {
      if (!known) S.knownIds.delete(id);
      const text = error.code === "already_assigned" ? T.picked_elsewhere : error.message;
      toast({ title: T.error, body: text, kind: "error" });
    }
  );
}
