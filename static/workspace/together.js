/* Agents working together (PROTOCOL.md "Agent socket, additions"; docs/agents.md): internal notes between
 * the messages, the transfer and consult dialogs, the "Consulting" section, the composer's note mode,
 * searching the open conversation, and the customer panel's context, pre-chat answers and earlier
 * conversations (read-only). Texts are always set with textContent. */

import { $, el } from "../parley/dom.js";
import { fmt } from "../parley/format.js";
import { newClientId } from "../parley/ids.js";
import { CONFIG, F, S, T, ZERO_ID, client, connected } from "./context.js";
import { listItem } from "./items.js";
import { toast } from "./notify.js";
import { withMessage, withState } from "./state.js";
import { agentRefusal, interleave, matchesSearch } from "./together_rules.js";
import { views } from "./views.js";

const EARLIER_ID = "11111111-1111-1111-1111-111111111111";

/* --- state (declared in state.js: consulting, consultEnded, noteMode, quickReplies, search) ---- */

/** The summary of a conversation the agent has or consults on. */
export function summaryOf(id) {
  return S.conversations.get(id) || S.consulting.get(id) || S.queue.find((q) => q.id === id) || null;
}

export function isConsulting(id) {
  return S.consulting.has(id) || S.consultEnded.has(id);
}

export function notesOf(id) {
  const t = S.threads.get(id);
  return t && t.notes ? Array.from(t.notes.values()) : [];
}

export function keepNotes(id, notes) {
  const t = views.thread(id);
  if (!t.notes) t.notes = new Map();
  for (const note of notes || []) t.notes.set(note.id, note);
}

/* --- messages and notes ---------------------------------------------------------------------- */

/** The message list's items in order: messages with the notes at their place. */
export function listItems(id, messages) {
  return interleave(messages, notesOf(id));
}

export function noteNode(note) {
  const li = el("li", "msg msg-note");
  li.dataset.noteId = note.id;
  const meta = el("div", "msg-meta");
  meta.append(el("span", "note-label", T.note_label));
  const mine = S.agent && note.author && String(note.author.id) === String(S.agent.id);
  meta.append(el("span", "msg-author", mine ? T.you : note.author ? note.author.name : ""));
  const when = el("time", "msg-time", F.time(note.created_at));
  when.dateTime = note.created_at;
  when.title = F.dateTime(note.created_at);
  meta.append(when);
  li.append(meta, el("div", "bubble", note.text));
  return li;
}

/* --- search within the open conversation ------------------------------------------------------ */

/** Mark the messages and notes holding the search; called after every render of the list. */
export function applySearch() {
  const list = $("message-list");
  const items = Array.from(list.querySelectorAll(".msg"));
  let hits = 0;
  for (const item of items) {
    const bubble = item.querySelector(".bubble");
    const hit = matchesSearch(bubble ? bubble.textContent : "", S.search);
    item.classList.toggle("search-hit", hit);
    item.classList.remove("search-current");
    if (hit) hits += 1;
  }
  list.classList.toggle("searching", Boolean(S.search.trim()));
  $("search-count").textContent = S.search.trim() ? fmt(hits === 1 ? T.search_one : T.search_many, { count: hits }) : "";
}

function nextHit(step) {
  const hits = Array.from($("message-list").querySelectorAll(".search-hit"));
  if (!hits.length) return;
  S.searchAt = (S.searchAt + step + hits.length) % hits.length;
  for (const hit of hits) hit.classList.remove("search-current");
  const current = hits[S.searchAt];
  current.classList.add("search-current");
  current.scrollIntoView({ block: "center" });
}

/* --- the header, the composer's mode ---------------------------------------------------------- */

/** What the agent may do here: reply, write notes, transfer, consult, leave. */
function abilities(id, conv, state) {
  const consulting = S.consulting.has(id);
  const fresh = conv && Array.isArray(conv.allowed_actions) && conv.state === state ? conv.allowed_actions : null;
  if (consulting) return { consulting, send: false, note: state !== "closed", transfer: false, consult: false };
  if (S.consultEnded.has(id)) return { consulting: true, send: false, note: false, transfer: false, consult: false };
  const mine = conv && S.conversations.has(id);
  const has = (name, fallback) => (fresh ? fresh.includes(name) : Boolean(mine && fallback));
  return {
    consulting: false,
    send: has("send", state === "active"),
    note: has("note", state !== "closed" && state !== "open"),
    transfer: has("transfer", state === "active" || state === "waiting"),
    consult: has("consult", state === "active" || state === "waiting"),
  };
}

export function inNoteMode(id) {
  const conv = summaryOf(id);
  const can = abilities(id, conv, S.currentState || (conv && conv.state));
  return can.note && (S.noteMode.has(id) || !can.send);
}

/** After the header rendered its own actions: the buttons and composer of working together. */
export function renderTogether() {
  const id = S.currentId;
  if (!id) return;
  const conv = summaryOf(id);
  const state = S.currentState || (conv && conv.state) || "closed";
  const can = abilities(id, conv, state);
  const online = connected();
  if (can.consulting) {
    // a consultant writes notes only: the agent's own actions are not theirs
    for (const button of document.querySelectorAll("#conversation [data-action]")) {
      button.hidden = true;
      button.parentElement.hidden = true;
    }
  }
  const show = (button, visible, enabled, tip) => {
    button.hidden = !visible;
    button.parentElement.hidden = !visible;
    button.disabled = !enabled;
    const help = button.parentElement.querySelector(".tip");
    if (help) help.textContent = tip || "";
  };
  show($("act-transfer"), can.transfer, online, online ? T.transfer_tip : T.not_connected);
  show($("act-consult"), can.consult, online, online ? T.consult_tip : T.not_connected);
  show($("act-leave-consult"), S.consulting.has(id), online, online ? T.leave_consult_tip : T.not_connected);

  const note = can.note && (S.noteMode.has(id) || !can.send);
  $("mode-reply").disabled = !can.send;
  $("mode-reply").setAttribute("aria-pressed", note ? "false" : "true");
  $("mode-note").disabled = !can.note;
  $("mode-note").setAttribute("aria-pressed", note ? "true" : "false");
  $("qr-button").disabled = !can.send || note || !S.quickReplies.length;
  $("composer-modes").hidden = !can.send && !can.note;
  $("composer").dataset.mode = note ? "note" : "reply";
  $("attach-button").hidden = note; // a note is text only
  const writable = note || can.send;
  $("composer-input").disabled = !writable;
  $("send").disabled = !writable;
  $("send").textContent = note ? T.add_note : T.send;
  $("composer").dataset.enabled = writable ? "true" : "false";
  $("composer-input").placeholder = note ? T.note_placeholder : T.reply_placeholder;

  if (can.consulting) {
    const banner = $("conv-banner");
    const from = conv && conv.consult_from ? conv.consult_from.name : "";
    banner.textContent = S.consultEnded.has(id) ? T.consult_over : from ? fmt(T.consulting_banner_from, { name: from }) : T.consulting_banner;
    banner.hidden = false;
    banner.dataset.kind = "consulting";
  }
  renderConsultants(id, conv, can);
}

function renderConsultants(id, conv, can) {
  const box = $("conv-consultants");
  const people = (conv && conv.consultants) || [];
  box.hidden = !people.length;
  if (!people.length) {
    box.replaceChildren();
    return;
  }
  const chips = people.map((person) => {
    const chip = el("span", "chip");
    chip.append(el("span", "", person.name));
    if (!can.consulting && S.conversations.has(id)) {
      const end = el("button", "chip-x", "×");
      end.type = "button";
      end.setAttribute("aria-label", fmt(T.end_consult_of, { name: person.name }));
      end.addEventListener("click", () => leaveConsult(id, person.id));
      chip.append(end);
    }
    return chip;
  });
  box.replaceChildren(el("span", "consultants-label", T.consultants_label), ...chips);
}

export function setNoteMode(on) {
  const id = S.currentId;
  if (!id) return;
  if (on) S.noteMode.add(id);
  else S.noteMode.delete(id);
  if (on) views.typing.stop(); // the customer never sees a note being written
  renderTogether();
  $("composer-input").focus();
}

/** The composer's text as a note (instead of a reply). Returns whether it took it. */
export function submitNote(id, text) {
  const input = $("composer-input");
  const client_id = newClientId();
  $("send").disabled = true;
  client.request({ type: "note", conversation_id: id, client_id, text }).then(
    (answer) => {
      keepNotes(id, [answer.note]);
      if (id === S.currentId) views.renderMessages(true);
      $("send").disabled = false;
    },
    (error) => {
      if (id === S.currentId && !input.value) input.value = text; // nothing is lost
      toast({ title: T.note_failed, body: error.message, kind: "error" });
      renderTogether();
    }
  );
  input.value = "";
  S.drafts.delete(id);
  return true;
}

/* --- the "Consulting" section ------------------------------------------------------------------ */

export function renderConsulting() {
  const list = $("list-consulting");
  const items = Array.from(S.consulting.values());
  $("group-consulting").hidden = !items.length;
  $("count-consulting").textContent = items.length;
  list.replaceChildren(
    ...items.map((conv) => {
      const { li, body } = listItem(conv, "conv-item consult-item", views.select);
      const top = el("span", "conv-top");
      top.append(el("span", "conv-name", conv.customer.name), el("span", "conv-when", conv.agent ? conv.agent.name : ""));
      const bottom = el("span", "conv-bottom");
      bottom.append(el("span", "conv-preview", conv.last_message ? conv.last_message.text : T.no_messages));
      const tags = el("span", "conv-tags");
      tags.append(el("span", "badge badge-consult", T.consulting_badge), el("span", "badge badge-state state-" + conv.state, T[conv.state] || conv.state));
      body.append(top, bottom, tags);
      return li;
    })
  );
}

/* --- dialogs: transfer and consult --------------------------------------------------------------- */

let dialog = null; // {kind, id, targets, returnFocus}

export function dialogOpen() {
  return !$("together-dialog").hidden || !$("transcript-dialog").hidden;
}

export function openDialog(kind) {
  const id = S.currentId;
  const button = $(kind === "transfer" ? "act-transfer" : "act-consult");
  if (!id || button.hidden || button.disabled) return;
  dialog = { kind, id, targets: null, returnFocus: button };
  $("together-title").textContent = kind === "transfer" ? T.transfer_title : T.consult_title;
  $("together-intro").textContent = kind === "transfer" ? T.transfer_intro : T.consult_intro;
  $("together-note-wrap").hidden = kind !== "transfer";
  $("together-note").value = "";
  $("together-error").textContent = "";
  $("together-submit").textContent = kind === "transfer" ? T.transfer_submit : T.consult_submit;
  $("together-submit").disabled = true;
  $("together-body").replaceChildren(el("p", "muted", T.loading_targets));
  $("together-dialog").hidden = false;
  $("together-cancel").focus();
  client.request({ type: "transfer_targets", conversation_id: id }).then(
    (answer) => {
      if (!dialog || dialog.id !== id) return;
      dialog.targets = answer;
      renderTargets();
    },
    (error) => {
      $("together-body").replaceChildren();
      $("together-error").textContent = error.message;
    }
  );
}

function option(name, value, label, detail, refusal) {
  const row = el("label", "target" + (refusal ? " target-off" : ""));
  const input = el("input");
  input.type = "radio";
  input.name = "target";
  input.value = value;
  input.disabled = Boolean(refusal);
  const text = el("span", "target-text");
  text.append(el("span", "target-name", label), el("span", "target-detail", refusal || detail));
  row.append(input, text);
  return row;
}

function renderTargets() {
  const { kind, targets, id } = dialog;
  const conv = summaryOf(id);
  const units = (conv && conv.capacity_units) || 0;
  const body = [];
  if (kind === "transfer") {
    const queues = el("fieldset", "targets");
    queues.append(el("legend", "", T.queues_heading));
    for (const queue of targets.queues) {
      const detail = [queue.open ? T.queue_open : T.queue_closed, fmt(T.agents_available, { count: queue.agents_available })].join(" · ");
      queues.append(option("target", "queue:" + queue.id, queue.name, detail, ""));
    }
    body.push(queues);
  }
  const agents = el("fieldset", "targets");
  agents.append(el("legend", "", T.agents_heading));
  if (!targets.agents.length) agents.append(el("p", "muted", T.nobody_online));
  for (const agent of targets.agents) {
    const detail = [T["presence_" + agent.presence] || agent.presence, fmt(T.free_capacity, { free: agent.free_capacity })].join(" · ");
    const refusal = kind === "transfer" ? agentRefusal(agent, units, T) : "";
    agents.append(option("target", "agent:" + agent.id, agent.name, detail, refusal));
  }
  body.push(agents);
  $("together-body").replaceChildren(...body);
  for (const input of $("together-body").querySelectorAll("input")) {
    input.addEventListener("change", () => ($("together-submit").disabled = false));
  }
  const first = $("together-body").querySelector("input:not([disabled])");
  if (first) first.focus();
}

function closeDialog() {
  const back = dialog && dialog.returnFocus;
  dialog = null;
  $("together-dialog").hidden = true;
  if (back && !back.hidden && !back.disabled) back.focus();
  else $("composer-input").focus();
}

function submitDialog(event) {
  event.preventDefault();
  if (!dialog) return;
  const chosen = $("together-body").querySelector("input:checked");
  if (!chosen) {
    $("together-error").textContent = T.choose_target;
    return;
  }
  const [what, targetId] = chosen.value.split(":");
  const { kind, id } = dialog;
  const frame =
    kind === "transfer"
      ? { type: "transfer", conversation_id: id, to: what === "queue" ? { queue_id: targetId } : { agent_id: targetId } }
      : { type: "consult", conversation_id: id, agent_id: targetId };
  const note = $("together-note").value.trim();
  if (kind === "transfer" && note) frame.note = note;
  const name = chosen.closest(".target").querySelector(".target-name").textContent;
  $("together-submit").disabled = true;
  client.request(frame).then(
    () => {
      closeDialog();
      toast({ title: fmt(kind === "transfer" ? T.transferred_to : T.consult_invited, { name }), kind: "success" });
    },
    (error) => {
      $("together-error").textContent = error.message;
      $("together-submit").disabled = false;
    }
  );
}

function leaveConsult(id, agentId) {
  const frame = { type: "leave_consult", conversation_id: id };
  if (agentId) frame.agent_id = agentId;
  client.request(frame).then(
    () => {},
    (error) => toast({ title: T.error, body: error.message, kind: "error" })
  );
}

function trapFocus(event, box) {
  if (event.key !== "Tab") return;
  const items = Array.from(box.querySelectorAll("button, input, textarea, [tabindex='0']")).filter((n) => !n.disabled && n.offsetParent !== null);
  if (!items.length) return;
  const first = items[0];
  const last = items[items.length - 1];
  if (event.shiftKey && document.activeElement === first) {
    event.preventDefault();
    last.focus();
  } else if (!event.shiftKey && document.activeElement === last) {
    event.preventDefault();
    first.focus();
  }
}

/* --- the customer panel: context, pre-chat answers, earlier conversations ---------------------- */

export function renderPanelExtras(data) {
  const context = Object.entries(data.context || {});
  $("context-card").hidden = !context.length;
  $("context-rows").replaceChildren(
    ...context.map(([key, value]) => {
      const row = el("tr");
      row.append(el("th", "", key), el("td", "", typeof value === "string" ? value : JSON.stringify(value)));
      row.firstChild.scope = "row";
      return row;
    })
  );
  const answers = data.pre_chat || [];
  $("prechat-card").hidden = !answers.length;
  $("prechat-facts").replaceChildren(...answers.flatMap((a) => [el("dt", "", a.label), el("dd", "", a.value)]));
}

/** The button on an earlier conversation of the panel that opens it read-only. */
export function earlierButton(other) {
  const button = el("button", "link-btn earlier-open", T.read_earlier);
  button.type = "button";
  button.setAttribute("aria-label", fmt(T.read_earlier_of, { when: F.dateTime(other.created_at) || "" }));
  button.addEventListener("click", () => openEarlier(other.id, button));
  return button;
}

let transcriptReturn = null;

function openEarlier(otherId, from) {
  const url = CONFIG.earlier_url.replace(ZERO_ID, encodeURIComponent(S.currentId)).replace(EARLIER_ID, encodeURIComponent(otherId));
  transcriptReturn = from;
  $("transcript-title").textContent = T.loading;
  $("transcript-meta").textContent = "";
  $("transcript-list").replaceChildren();
  $("transcript-dialog").hidden = false;
  $("transcript-close").focus();
  fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
    .then((response) => (response.ok ? response.json() : response.json().then((e) => Promise.reject(e))))
    .then((data) => renderTranscript(data.conversation))
    .catch((error) => {
      $("transcript-title").textContent = T.error;
      $("transcript-meta").textContent = (error && error.message) || T.panel_failed;
    });
}

function renderTranscript(conv) {
  $("transcript-title").textContent = fmt(T.earlier_title, { when: F.dateTime(conv.created_at) || "" });
  $("transcript-meta").textContent = [T[conv.state] || conv.state, conv.workstream.name, conv.queue.name, conv.agent ? conv.agent.name : ""]
    .filter(Boolean)
    .join(" · ");
  const nodes = [];
  if (conv.has_more) nodes.push(el("li", "history-mark", T.earlier_truncated));
  for (const { kind, item } of interleave(conv.messages, conv.notes || [])) {
    if (kind === "note") {
      nodes.push(noteNode(item));
      continue;
    }
    const li = el("li", "msg msg-" + item.sender.role);
    const meta = el("div", "msg-meta");
    meta.append(el("span", "msg-author", item.sender.name), el("time", "msg-time", F.dateTime(item.sent_at)));
    li.append(meta, el("div", "bubble" + (item.sender.role === "system" ? " system-text" : ""), item.text));
    nodes.push(li);
  }
  if (!nodes.length) nodes.push(el("li", "conv-empty", T.no_messages));
  $("transcript-list").replaceChildren(...nodes);
}

function closeTranscript() {
  $("transcript-dialog").hidden = true;
  if (transcriptReturn && document.body.contains(transcriptReturn)) transcriptReturn.focus();
  transcriptReturn = null;
}

/* --- frames ------------------------------------------------------------------------------------ */

const HANDLERS = {
  welcome(frame) {
    S.quickReplies = frame.quick_replies || [];
    const fresh = new Map();
    for (const summary of frame.consulting || []) fresh.set(summary.id, { ...(S.consulting.get(summary.id) || {}), ...summary });
    for (const id of S.consulting.keys()) if (!fresh.has(id) && id === S.currentId) S.consultEnded.add(id);
    S.consulting = fresh;
    if (S.currentId && fresh.has(S.currentId)) {
      S.currentState = fresh.get(S.currentId).state;
      views.renderConversationHeader();
    }
    renderConsulting();
  },

  consult(frame) {
    const summary = { ...frame.conversation, consult_from: frame.from };
    S.consulting.set(summary.id, summary);
    S.consultEnded.delete(summary.id);
    renderConsulting();
    toast({
      title: T.consult_request,
      body: fmt(T.consult_request_body, { name: frame.from.name, customer: summary.customer.name }),
      kind: "assigned",
      conversationId: summary.id,
    });
    if (summary.id === S.currentId) views.renderConversationHeader();
  },

  consult_ended(frame) {
    const id = frame.conversation_id;
    const had = S.consulting.delete(id);
    renderConsulting();
    if (!had) return;
    if (frame.reason !== "left") toast({ title: T.consult_ended, body: fmt(T.consult_ended_body, { name: frame.by.name }), kind: "info" });
    if (id === S.currentId) {
      S.consultEnded.add(id);
      views.renderConversationHeader();
    }
  },

  consultants(frame) {
    const conv = S.conversations.get(frame.conversation_id);
    if (conv) conv.consultants = frame.consultants;
    if (frame.conversation_id === S.currentId) views.renderConversationHeader();
  },

  note(frame) {
    const note = frame.note;
    if (!S.threads.has(note.conversation_id)) return; // read with the conversation when it opens
    keepNotes(note.conversation_id, [note]);
    if (note.conversation_id === S.currentId) views.renderMessages(false);
  },

  message(frame) {
    const id = frame.message.conversation_id;
    const conv = S.consulting.get(id);
    if (!conv) return;
    S.consulting.set(id, withMessage(conv, frame.message));
    renderConsulting();
  },

  state(frame) {
    const conv = S.consulting.get(frame.conversation_id);
    if (conv) {
      S.consulting.set(frame.conversation_id, withState(conv, frame.state));
      renderConsulting();
    }
  },

  unassigned(frame) {
    S.noteMode.delete(frame.conversation_id);
  },
};

/* --- wiring ------------------------------------------------------------------------------------ */

export function wireTogether() {
  for (const [type, handler] of Object.entries(HANDLERS)) client.on(type, handler);
  $("act-transfer").addEventListener("click", () => openDialog("transfer"));
  $("act-consult").addEventListener("click", () => openDialog("consult"));
  $("act-leave-consult").addEventListener("click", () => {
    if (S.currentId) leaveConsult(S.currentId, null);
  });
  $("mode-reply").addEventListener("click", () => setNoteMode(false));
  $("mode-note").addEventListener("click", () => setNoteMode(true));
  $("together-form").addEventListener("submit", submitDialog);
  $("together-cancel").addEventListener("click", closeDialog);
  $("together-dialog").addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      event.preventDefault();
      event.stopPropagation();
      closeDialog();
    } else trapFocus(event, $("together-dialog"));
  });
  $("transcript-close").addEventListener("click", closeTranscript);
  $("transcript-dialog").addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      event.preventDefault();
      event.stopPropagation();
      closeTranscript();
    } else trapFocus(event, $("transcript-dialog"));
  });
  $("conv-search").addEventListener("input", (event) => {
    S.search = event.target.value;
    S.searchAt = -1;
    applySearch();
  });
  $("conv-search").addEventListener("keydown", (event) => {
    if (event.key === "Enter") {
      event.preventDefault();
      nextHit(event.shiftKey ? -1 : 1);
    } else if (event.key === "Escape" && S.search) {
      event.preventDefault();
      event.stopPropagation();
      event.target.value = "";
      S.search = "";
      applySearch();
    }
  });
}

/** Alt+<key> of working together; returns whether it handled the key. */
export function onTogetherKey(event) {
  if (event.code === "KeyT") openDialog("transfer");
  else if (event.code === "KeyK") openDialog("consult");
  else if (event.code === "KeyN") setNoteMode(!inNoteMode(S.currentId));
  else return false;
  event.preventDefault();
  return true;
}
