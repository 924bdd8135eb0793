/* The workspace's state, declared in one place, and the pure rules that read or update it (no DOM
 * here: tests/js/ runs these under node). Page modules import `S` from context.js, made by
 * createState(). */

import { fmt } from "../parley/format.js";

export const GROUPS = ["active", "waiting", "wrap_up"];
export const PRESENCES = ["available", "busy", "away", "offline"];

/**
 * @typedef {object} WorkspaceState
 * @property {object|null} agent            the agent from `welcome` (id, name, presence, capacity)
 * @property {{total:number, used:number}} capacity
 * @property {Map<string, object>} conversations  id -> summary (as the server sends it, incl. allowed_actions)
 * @property {object[]} queue               the pick queue's items
 * @property {string|null} currentId        the conversation on screen
 * @property {string|null} currentState     its state as last heard
 * @property {boolean} currentReassigned    it was taken away from this agent
 * @property {Map<string, object>} threads  id -> Thread (static/parley/thread.js) with an `outbox`
 * @property {Map<string, string>} drafts   id -> unsent text in the composer
 * @property {Set<string>} attention        conversations that need the agent's eyes (title count)
 * @property {Set<string>} knownIds         conversations seen in this page session (tells new assignments)
 * @property {number|null} customerTyping   timer hiding the customer's typing line
 * @property {string|null} panelFor         the conversation whose customer panel is loading/shown
 * @property {boolean} soundOn
 * @property {Map<string, {conversation: object, expires_at: string}>} offers  conversation id -> an
 *           offer waiting for the agent's accept or decline (offers.js)
 * @property {string|null} focusComposerFor  the conversation whose reply box takes focus once writable
 * @property {string|null} openOnAssigned    the conversation just accepted or picked: opened when "assigned" comes
 * @property {number} queueTotal            how many wait in the pick queue (it lists the 200 oldest)
 * @property {Object<string, boolean>} more  group -> the server has more of its conversations (`list`)
 * @property {Object<string, string>} listCursor  group -> the oldest `updated_at` the server sent of it
 * @property {Set<string>} loadingMore      groups whose next page is being fetched
 * @property {Map<string, object>} consulting  conversations this agent consults on (together.js)
 * @property {Set<string>} consultEnded     consulted conversations whose consultation ended while open
 * @property {Set<string>} noteMode         conversations whose composer writes internal notes
 * @property {object[]} quickReplies        the welcome's quick replies (quickreplies.js)
 * @property {string} search                the search within the open conversation
 * @property {number} searchAt              the search match last jumped to
 */

/** @returns {WorkspaceState} */
export function createState({ capacity = { total: 0, used: 0 }, soundOn = false } = {}) {
  return {
    agent: null,
    capacity: { ...capacity },
    conversations: new Map(),
    queue: [],
    currentId: null,
    currentState: null,
    currentReassigned: false,
    threads: new Map(),
    drafts: new Map(),
    attention: new Set(),
    knownIds: new Set(),
    customerTyping: null,
    panelFor: null,
    soundOn,
    offers: new Map(),
    openOnAssigned: null,
    focusComposerFor: null,
    queueTotal: 0,
    more: { active: false, waiting: false, wrap_up: false },
    listCursor: {},
    loadingMore: new Set(),
    consulting: new Map(),
    consultEnded: new Set(),
    noteMode: new Set(),
    quickReplies: [],
    search: "",
    searchAt: -1,
  };
}

/** group -> the oldest `updated_at` among `summaries` of it (ISO times of one format sort as text),
 * merged into `cursors`: where the next `list` page of each group starts. */
export function listCursors(summaries, cursors = {}) {
  const result = { ...cursors };
  for (const summary of summaries) {
    const group = summary.state;
    if (!GROUPS.includes(group) || !summary.updated_at) continue;
    if (!result[group] || summary.updated_at < result[group]) result[group] = summary.updated_at;
  }
  return result;
}

/** Whole seconds left until `expiresAt` (an ISO time) at `now` (milliseconds), never below 0. */
export function secondsLeft(expiresAt, now) {
  return Math.max(0, Math.ceil((Date.parse(expiresAt) - now) / 1000));
}

/** The conversations of one list group, returning customers first, then by the customer's latest word. */
export function sortedIn(conversations, group) {
  const time = (c) => Date.parse(c.last_customer_message_at || c.updated_at || c.created_at);
  return Array.from(conversations.values())
    .filter((c) => c.state === group)
    .sort((a, b) => {
      const returned = Number(!!b.customer_returned) - Number(!!a.customer_returned);
      return returned || time(b) - time(a);
    });
}

/** Every listed conversation id in screen order (for Alt+↑/↓). */
export function orderedIds(conversations) {
  return GROUPS.flatMap((g) => sortedIn(conversations, g).map((c) => c.id));
}

/** Messages after the agent's read cursor. */
export function unreadOf(conv, cursors) {
  const cursor = cursors[conv.id];
  if (cursor === undefined) return conv.last_seq;
  return Math.max(0, conv.last_seq - cursor);
}

/** A summary after a message of its conversation (the list's preview and order). */
export function withMessage(conv, msg) {
  const next = {
    ...conv,
    last_seq: Math.max(conv.last_seq || 0, msg.seq),
    last_message: { seq: msg.seq, role: msg.sender.role, text: String(msg.text).slice(0, 140), sent_at: msg.sent_at },
  };
  if (msg.sender.role === "customer") next.last_customer_message_at = msg.sent_at;
  return next;
}

/** A summary after a bare state change: its allowed_actions were for the old state, so they go. */
export function withState(conv, state) {
  if (conv.state === state) return conv;
  const { allowed_actions: _stale, ...rest } = conv;
  return { ...rest, state };
}

/** The frames the server allows now, when the summary says so for the state shown; else null. */
export function allowedNow(conv, state) {
  if (!conv || !Array.isArray(conv.allowed_actions) || conv.state !== state) return null;
  return conv.allowed_actions;
}

/**
 * What the conversation's action buttons show: per action, `reason` (why it is disabled, "" when
 * enabled) and `hidden`; `canWrite` for the composer. The server's allowed_actions decide when the
 * summary carries them; the state-based rules below are the fallback while it does not.
 */
export function conversationActions(conv, state, connected, T) {
  const mode = conv ? conv.mode : "live";
  const allowed = allowedNow(conv, state);
  const refusal = {
    set_waiting: mode !== "persistent" ? T.set_aside_live : T.set_aside_state,
    resume: T.resume_state,
    end: T.end_state,
    close: T.close_state,
  };
  const byState = {
    set_waiting: mode === "persistent" && state === "active",
    resume: state === "waiting",
    end: state === "active" || state === "waiting",
    close: state === "wrap_up",
  };
  const off = connected ? "" : T.not_connected;
  const actions = {};
  for (const name of Object.keys(refusal)) {
    const ok = allowed ? allowed.includes(name) : byState[name];
    actions[name] = { reason: off || (ok ? "" : refusal[name]) };
  }
  actions.resume.hidden = state !== "waiting";
  actions.set_waiting.hidden = state === "waiting" || mode !== "persistent";
  actions.close.hidden = state !== "wrap_up";
  actions.end.hidden = state === "wrap_up" || state === "closed";
  const canWrite = allowed ? allowed.includes("send") : state === "active";
  return { actions, canWrite };
}

/** Why a queue item cannot be picked now ("" when it can). */
export function pickRefusal(item, capacity, connected, T) {
  if (!connected) return T.not_connected;
  if (Array.isArray(item.allowed_actions) && !item.allowed_actions.includes("pick")) return T.picked_elsewhere;
  const units = item.capacity_units || 0;
  const free = capacity.total - capacity.used;
  if (free < units) return T.no_capacity + ". " + fmt(T.no_capacity_detail, { units, free });
  return "";
}
