/* Pure rules of agents working together (no DOM: tests/js/together.test.mjs runs them under node):
 * where notes go between the messages, quick replies offered for what the agent typed, their
 * placeholders, searching a conversation, and who a transfer may go to. */

/**
 * Messages (ascending seq) and notes merged into the order the conversation shows them: a note right
 * after the message it followed (`after_seq`), notes of one place by time. Notes that follow a message
 * not loaded yet (older history) come first, before the oldest loaded message.
 * @returns {{kind: "message"|"note", item: object}[]}
 */
export function interleave(messages, notes) {
  const byPlace = new Map();
  const first = messages.length ? messages[0].seq : Infinity;
  const sorted = [...notes].sort((a, b) => a.after_seq - b.after_seq || String(a.created_at).localeCompare(String(b.created_at)));
  const before = [];
  for (const note of sorted) {
    if (note.after_seq < first) {
      before.push(note);
      continue;
    }
    if (!byPlace.has(note.after_seq)) byPlace.set(note.after_seq, []);
    byPlace.get(note.after_seq).push(note);
  }
  const out = before.map((item) => ({ kind: "note", item }));
  const placed = new Set();
  for (const message of messages) {
    out.push({ kind: "message", item: message });
    for (const note of byPlace.get(message.seq) || []) out.push({ kind: "note", item: note });
    placed.add(message.seq);
  }
  // notes after messages that are not in the list (a gap while syncing): at the end, in order
  for (const [seq, list] of byPlace) if (!placed.has(seq)) for (const item of list) out.push({ kind: "note", item });
  return out;
}

/** `{customer}` and `{agent}` filled in; any other brace stays as typed. */
export function fillPlaceholders(text, { customer = "", agent = "" } = {}) {
  return String(text).replace(/\{(customer|agent)\}/g, (_, name) => (name === "customer" ? customer : agent));
}

/** The quick-reply query the composer holds: "/hi" at its start (no space yet) -> "hi"; else null. */
export function slashQuery(value) {
  const match = /^\/([^\s/]*)$/.exec(String(value));
  return match ? match[1].toLowerCase() : null;
}

/** The replies offered for `query`: shortcut starting with it first, then shortcut or title containing it
 * (in the server's order: the agent's language first). An empty query offers all. */
export function matchQuickReplies(replies, query) {
  const q = String(query || "").toLowerCase();
  if (!q) return [...replies];
  const starts = [];
  const contains = [];
  for (const reply of replies) {
    const shortcut = reply.shortcut.toLowerCase();
    if (shortcut.startsWith(q)) starts.push(reply);
    else if (shortcut.includes(q) || reply.title.toLowerCase().includes(q)) contains.push(reply);
  }
  return [...starts, ...contains];
}

/** Whether a message or note's text contains the search (case-insensitive; blank searches nothing). */
export function matchesSearch(text, query) {
  const q = String(query || "").trim().toLocaleLowerCase();
  return Boolean(q) && String(text || "").toLocaleLowerCase().includes(q);
}

/** Why the transfer dialog cannot offer an agent (the server refuses the same): "" when it can. */
export function agentRefusal(agent, units, T) {
  if (!agent.member) return T.transfer_not_member;
  if (agent.free_capacity < units) return T.transfer_no_capacity;
  return "";
}
