/* The supervisor's live dashboard on /ws/supervisor/ (PROTOCOL.md "Supervisor socket"), on the shared
 * client (static/parley/). The server sends the figures (`welcome`, then `stats` at most once a second
 * when something changed); between frames the longest waits keep counting here. From the tables the
 * supervisor lists a queue's or an agent's conversations, watches one read-only (its messages and
 * states stream in until "Stop watching"), transfers it to an agent or a queue, and sets an agent's
 * presence. Every text from the server goes in with textContent. */

import { Client, socketUrl } from "../parley/client.js";
import { $, el, readJson } from "../parley/dom.js";
import { fmt } from "../parley/format.js";

const T = readJson("sv-strings");
const CONFIG = readJson("sv-config");

/** The page's state: the latest figures, when they came, and the conversation watched. */
const S = {
  queues: [],
  agents: [],
  receivedAt: Date.now(),
  list: null, // {kind: "queue" | "agent", id, name}
  watched: null, // {id, summary, messages: []}
};

const client = new Client({ url: socketUrl(CONFIG.socket_path), reqPrefix: "s", offlineMessage: T.reconnecting });

function setConnection(state) {
  $("dashboard").dataset.connection = state;
  $("db-conn").textContent = state === "open" ? T.connected : state === "connecting" ? T.connecting : T.reconnecting;
}

function feedback(text, kind) {
  const node = $("db-feedback");
  node.textContent = text || "";
  node.dataset.kind = kind || "";
}

function duration(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  if (s < 60) return fmt(T.seconds, { n: s });
  if (s < 3600) return fmt(T.minutes, { m: Math.floor(s / 60), s: s % 60 });
  return fmt(T.hours, { h: Math.floor(s / 3600), m: Math.floor((s % 3600) / 60) });
}

function cell(row, text, className) {
  const td = el("td", className || "", text);
  row.append(td);
  return td;
}

function showButton(kind, item) {
  const button = el("button", "btn btn-sm", T.show);
  button.type = "button";
  button.addEventListener("click", () => showList(kind, item.id, item.name));
  return button;
}

function renderQueues() {
  const body = $("db-queues").tBodies[0];
  body.replaceChildren();
  if (!S.queues.length) {
    const row = el("tr");
    const td = cell(row, T.no_queues, "muted");
    td.colSpan = 8;
    body.append(row);
    return;
  }
  const elapsed = (Date.now() - S.receivedAt) / 1000;
  for (const queue of S.queues) {
    const row = el("tr");
    row.dataset.queueId = queue.id;
    const wait = queue.open ? queue.longest_wait_seconds + elapsed : 0;
    row.classList.toggle("db-hot", queue.open > 0 && wait >= 60);
    cell(row, queue.name);
    cell(row, queue.open, "db-open");
    cell(row, queue.open ? duration(wait) : "—", "db-wait");
    cell(row, queue.active);
    cell(row, queue.waiting);
    cell(row, queue.agents_available);
    cell(row, queue.agents_online);
    cell(row, "").append(showButton("queue", queue));
    body.append(row);
  }
}

function presenceSelect(agent) {
  const select = el("select", "db-presence-select");
  select.setAttribute("aria-label", T.set_presence + " · " + agent.name);
  for (const status of CONFIG.presences) {
    const option = el("option", "", T[status] || status);
    option.value = status;
    option.selected = status === agent.presence;
    select.append(option);
  }
  select.addEventListener("change", () => {
    select.disabled = true;
    client
      .request({ type: "set_presence", agent_id: agent.id, status: select.value })
      .then(() => feedback(T.presence_set, "ok"))
      .catch((error) => {
        feedback(error.message, "error");
        select.value = agent.presence;
      })
      .finally(() => {
        select.disabled = false;
      });
  });
  return select;
}

function renderAgents() {
  const body = $("db-agents").tBodies[0];
  body.replaceChildren();
  if (!S.agents.length) {
    const row = el("tr");
    const td = cell(row, T.no_agents, "muted");
    td.colSpan = 8;
    body.append(row);
    return;
  }
  for (const agent of S.agents) {
    const row = el("tr");
    row.dataset.agentId = agent.id;
    cell(row, agent.name);
    const presence = el("span", "db-presence", T[agent.presence] || agent.presence);
    presence.dataset.presence = agent.presence;
    cell(row, "").append(presence);
    const capacity = cell(row, "");
    const bar = el("span", "db-bar");
    const fill = el("span");
    const total = agent.capacity.total || 1;
    fill.style.width = Math.min(100, (100 * agent.capacity.used) / total) + "%";
    bar.dataset.full = String(agent.capacity.used >= agent.capacity.total);
    bar.append(fill);
    capacity.append(bar, document.createTextNode(fmt(T.capacity, agent.capacity)));
    cell(row, agent.active);
    cell(row, agent.waiting);
    cell(row, agent.offered);
    cell(row, "").append(presenceSelect(agent));
    cell(row, "").append(showButton("agent", agent));
    body.append(row);
  }
}

function renderTargets() {
  const kind = $("db-transfer-kind").value;
  const select = $("db-transfer-target");
  const chosen = select.value;
  select.replaceChildren();
  const items = kind === "agent_id" ? S.agents.filter((agent) => agent.presence !== "offline") : S.queues;
  for (const item of items) {
    const label = kind === "agent_id" ? item.name + " · " + fmt(T.capacity, item.capacity) : item.name;
    const option = el("option", "", label);
    option.value = item.id;
    option.selected = item.id === chosen;
    select.append(option);
  }
}

function renderAll() {
  renderQueues();
  renderAgents();
  renderTargets();
}

function figures(frame) {
  S.queues = frame.queues;
  S.agents = frame.agents;
  S.receivedAt = Date.now();
  renderAll();
  if (S.list) refreshList();
}

// --- lists of conversations -------------------------------------------------------------------

function showList(kind, id, name) {
  S.list = { kind, id, name };
  $("db-list").hidden = false;
  $("db-list-title").textContent = fmt(kind === "queue" ? T.list_of_queue : T.list_of_agent, { name });
  refreshList();
}

function refreshList() {
  const list = S.list;
  const url = CONFIG.list_url + "?" + new URLSearchParams({ [list.kind]: list.id });
  fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
    .then((response) => response.json().then((data) => ({ ok: response.ok, data })))
    .then(({ ok, data }) => {
      if (S.list !== list) return;
      if (!ok) {
        feedback(data.message, "error");
        return;
      }
      renderList(data);
    })
    .catch(() => feedback(T.reconnecting, "error"));
}

function renderList(data) {
  const body = $("db-list-table").tBodies[0];
  body.replaceChildren();
  for (const item of data.items) {
    const row = el("tr");
    row.dataset.conversationId = item.id;
    cell(row, item.customer.name);
    cell(row, T[item.state] || item.state);
    cell(row, item.agent ? item.agent.name : T.nobody);
    cell(row, new Date(item.queued_at).toLocaleTimeString());
    const watch = el("button", "btn btn-sm", S.watched && S.watched.id === item.id ? T.watching : T.watch);
    watch.type = "button";
    watch.addEventListener("click", () => startWatching(item.id));
    cell(row, "").append(watch);
    body.append(row);
  }
  $("db-list-note").textContent = data.items.length ? (data.has_more ? T.list_more : "") : T.list_empty;
}

// --- watching ---------------------------------------------------------------------------------

function startWatching(id) {
  const previous = S.watched;
  feedback("");
  client
    .request({ type: "watch", conversation_id: id })
    .then((answer) => {
      if (previous && previous.id !== answer.conversation.id) {
        client.request({ type: "unwatch", conversation_id: previous.id }).catch(() => {});
      }
      const summary = answer.conversation;
      S.watched = { id: summary.id, summary, messages: summary.messages.slice() };
      $("db-watch-id").value = summary.id;
      renderWatched();
      if (S.list) refreshList();
    })
    .catch((error) => feedback(error.message, "error"));
}

function stopWatching() {
  if (!S.watched) return;
  const id = S.watched.id;
  S.watched = null;
  renderWatched();
  client.request({ type: "unwatch", conversation_id: id }).catch(() => {});
  if (S.list) refreshList();
}

function renderWatched() {
  const box = $("db-watched");
  box.hidden = !S.watched;
  if (!S.watched) return;
  const summary = S.watched.summary;
  $("db-watched-title").textContent = summary.customer.name;
  const agent = summary.agent ? " · " + summary.agent.name : "";
  $("db-watched-state").textContent = (T[summary.state] || summary.state) + agent + " · " + summary.queue.name;
  const list = $("db-messages");
  list.replaceChildren();
  if (!S.watched.messages.length) list.append(el("li", "muted", T.no_messages));
  for (const message of S.watched.messages) {
    const item = el("li");
    item.dataset.role = message.sender.role;
    const who = message.sender.role === "customer" ? T.customer_role : message.sender.name;
    item.append(el("span", "db-who", who), document.createTextNode(message.text));
    list.append(item);
  }
  list.scrollTop = list.scrollHeight;
}

client.on("welcome", (frame) => {
  setConnection("open");
  feedback("");
  figures(frame);
  if (S.watched) startWatching(S.watched.id); // a new socket follows the conversation again
});
client.on("stats", figures);
client.on("message", (frame) => {
  if (!S.watched || frame.message.conversation_id !== S.watched.id) return;
  if (S.watched.messages.some((m) => m.seq === frame.message.seq)) return;
  S.watched.messages.push(frame.message);
  renderWatched();
});
client.on("note", (frame) => {
  if (!S.watched || frame.note.conversation_id !== S.watched.id) return;
  S.watched.messages.push({ seq: -1, text: frame.note.text, sender: { role: "system", name: T.note } });
  renderWatched();
});
client.on("state", (frame) => {
  if (!S.watched || frame.conversation_id !== S.watched.id) return;
  S.watched.summary = { ...S.watched.summary, state: frame.state, agent: frame.agent };
  renderWatched();
});
client.on("error", (frame) => feedback(frame.message, "error"));
client.onClose = (event) => {
  if (event && event.code === 4403) {
    // the server ended this user's access: loading the page again leads to the sign-in page
    window.location.reload();
    return 60000;
  }
  setConnection("reconnecting");
  return undefined;
};

$("db-watch-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const id = $("db-watch-id").value.trim();
  if (id) startWatching(id);
});
$("db-unwatch").addEventListener("click", stopWatching);
$("db-transfer-kind").addEventListener("change", renderTargets);
$("db-transfer-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const target = $("db-transfer-target").value;
  if (!S.watched || !target) {
    feedback(T.choose_target, "error");
    return;
  }
  client
    .request({ type: "transfer", conversation_id: S.watched.id, to: { [$("db-transfer-kind").value]: target } })
    .then(() => feedback(T.transfer_done, "ok"))
    .catch((error) => feedback(error.message, "error"));
});
window.setInterval(renderQueues, 1000); // the longest waits keep counting between frames

setConnection("connecting");
client.start();
