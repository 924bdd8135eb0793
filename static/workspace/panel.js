/* The customer panel on the right: who the customer is, this conversation, earlier ones. */

import { $, el, paintAvatar } from "../parley/dom.js";
import { ago, fmt, plural } from "../parley/format.js";
import { CONFIG, F, S, T, ZERO_ID } from "./context.js";
import { earlierButton, renderPanelExtras } from "./together.js";

const dateTime = (iso) => F.dateTime(iso) || "—";

export function loadPanel(id) {
  S.panelFor = id;
  $("panel-empty").hidden = false;
  $("panel-empty").textContent = T.panel_loading;
  fetch(CONFIG.panel_url.replace(ZERO_ID, encodeURIComponent(id)), { credentials: "same-origin", headers: { Accept: "application/json" } })
    .then((response) => (response.ok ? response.json() : Promise.reject(response.status)))
    .then((data) => {
      if (S.panelFor === id) renderPanel(data);
    })
    .catch(() => {
      if (S.panelFor !== id) return;
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
  $("cust-seen").textContent = c.last_seen_at ? ago(c.last_seen_at, T) : "—";
  $("conv-queue").textContent = data.conversation.queue;
  $("conv-started").textContent = dateTime(data.conversation.created_at);
  $("conv-assigned").textContent = dateTime(data.conversation.assigned_at);
  renderPanelExtras(data);
  const list = $("earlier");
  if (!data.earlier_conversations.length) {
    list.replaceChildren(el("li", "muted", T.no_earlier));
    return;
  }
  list.replaceChildren(
    ...data.earlier_conversations.map((other) => {
      const li = el("li", "earlier-item");
      const top = el("div", "earlier-top");
      top.append(el("span", "", dateTime(other.created_at)), el("span", "badge badge-state state-" + other.state, T["state_" + other.state] || T[other.state] || other.state));
      const bottom = el("div", "muted");
      bottom.textContent = [other.workstream, T[other.mode], other.agent, plural(T.messages_count, other.messages, F.locale)].filter(Boolean).join(" · ");
      li.append(top, bottom, earlierButton(other));
      return li;
    })
  );
}
