/* Read cursors: the last seq the agent has seen per conversation, kept in localStorage per agent. */

import { CONFIG, S, store } from "./context.js";
import { unreadOf } from "./state.js";

const KEY = "read." + CONFIG.agent_id;
const cursors = store.get(KEY, {});

export function markRead(id, seq) {
  if (!seq || (cursors[id] || 0) >= seq) return;
  cursors[id] = seq;
  store.set(KEY, cursors);
}

export function unread(conv) {
  return unreadOf(conv, cursors);
}

/** Everything the open conversation holds is read. */
export function markCurrentRead() {
  const conv = S.conversations.get(S.currentId);
  if (!conv) return;
  const t = S.threads.get(S.currentId);
  markRead(S.currentId, Math.max(conv.last_seq || 0, t ? t.maxSeq : 0));
}
