import assert from "node:assert/strict";
import { test } from "node:test";

import { conversationActions, createState, orderedIds, pickRefusal, sortedIn, unreadOf, withMessage, withState } from "../../static/workspace/state.js";

const T = {
  not_connected: "offline", set_aside_live: "live", set_aside_state: "only active", resume_state: "only waiting",
  end_state: "only open", close_state: "only wrap-up", picked_elsewhere: "taken", no_capacity: "Full",
  no_capacity_detail: "needs %(units)s, %(free)s free",
};
const conv = (fields) => ({ id: "c", mode: "persistent", state: "active", customer: { name: "A" }, ...fields });
const enabled = (view) => Object.entries(view.actions).filter(([, a]) => !a.reason).map(([name]) => name).sort();

test("the state starts empty with the capacity the page rendered", () => {
  const S = createState({ capacity: { total: 4, used: 1 } });
  assert.deepEqual(S.capacity, { total: 4, used: 1 });
  assert.equal(S.conversations.size, 0);
  assert.equal(S.currentId, null);
});

test("allowed_actions from the server decide which actions are enabled", () => {
  const c = conv({ allowed_actions: ["send", "end", "note"] });
  const view = conversationActions(c, "active", true, T);
  assert.deepEqual(enabled(view), ["end"]);
  assert.equal(view.actions.set_waiting.reason, "only active");
  assert.equal(view.canWrite, true);
  const readOnly = conversationActions(conv({ allowed_actions: ["end"] }), "active", true, T);
  assert.equal(readOnly.canWrite, false);
});

test("without allowed_actions the state decides, as before", () => {
  assert.deepEqual(enabled(conversationActions(conv({}), "active", true, T)), ["end", "set_waiting"]);
  assert.deepEqual(enabled(conversationActions(conv({ state: "waiting" }), "waiting", true, T)), ["end", "resume"]);
  assert.deepEqual(enabled(conversationActions(conv({ mode: "live" }), "active", true, T)), ["end"]);
  assert.deepEqual(enabled(conversationActions(conv({ state: "wrap_up" }), "wrap_up", true, T)), ["close"]);
  assert.equal(conversationActions(conv({ state: "wrap_up" }), "wrap_up", true, T).canWrite, false);
});

test("allowed_actions of another state than the one shown are not trusted", () => {
  const stale = conv({ state: "active", allowed_actions: ["send", "set_waiting", "end"] });
  assert.deepEqual(enabled(conversationActions(stale, "wrap_up", true, T)), ["close"]);
  const moved = withState(stale, "waiting");
  assert.equal(moved.allowed_actions, undefined);
  assert.equal(withState(stale, "active"), stale);
});

test("nothing is enabled while the socket is down", () => {
  const view = conversationActions(conv({ allowed_actions: ["end"] }), "active", false, T);
  assert.deepEqual(enabled(view), []);
  assert.equal(view.actions.end.reason, "offline");
});

test("buttons that make no sense in the state are hidden", () => {
  const { actions } = conversationActions(conv({ state: "waiting" }), "waiting", true, T);
  assert.deepEqual(
    Object.entries(actions).filter(([, a]) => a.hidden).map(([n]) => n).sort(),
    ["close", "set_waiting"]
  );
});

test("the list puts returning customers first, then the latest customer message", () => {
  const all = new Map(
    [
      { id: "old", state: "waiting", last_customer_message_at: "2026-01-01T10:00:00Z" },
      { id: "new", state: "waiting", last_customer_message_at: "2026-01-01T11:00:00Z" },
      { id: "back", state: "waiting", customer_returned: true, last_customer_message_at: "2026-01-01T09:00:00Z" },
      { id: "act", state: "active", created_at: "2026-01-01T08:00:00Z" },
    ].map((c) => [c.id, c])
  );
  assert.deepEqual(sortedIn(all, "waiting").map((c) => c.id), ["back", "new", "old"]);
  assert.deepEqual(orderedIds(all), ["act", "back", "new", "old"]);
});

test("unread counts the messages after the read cursor", () => {
  assert.equal(unreadOf({ id: "c", last_seq: 7 }, {}), 7);
  assert.equal(unreadOf({ id: "c", last_seq: 7 }, { c: 5 }), 2);
  assert.equal(unreadOf({ id: "c", last_seq: 7 }, { c: 9 }), 0);
});

test("a message updates the preview, and a customer's also the order time", () => {
  const next = withMessage(conv({ last_seq: 3 }), { seq: 4, sender: { role: "customer" }, text: "x".repeat(200), sent_at: "t" });
  assert.equal(next.last_seq, 4);
  assert.equal(next.last_message.text.length, 140);
  assert.equal(next.last_customer_message_at, "t");
  const agent = withMessage(conv({ last_seq: 9 }), { seq: 4, sender: { role: "agent" }, text: "y", sent_at: "u" });
  assert.equal(agent.last_seq, 9);
  assert.equal(agent.last_customer_message_at, undefined);
});

test("picking needs a connection, the server's leave and free capacity", () => {
  const cap = { total: 3, used: 2 };
  assert.equal(pickRefusal({ capacity_units: 1 }, cap, false, T), "offline");
  assert.equal(pickRefusal({ capacity_units: 1, allowed_actions: [] }, cap, true, T), "taken");
  assert.equal(pickRefusal({ capacity_units: 2 }, cap, true, T), "Full. needs 2, 1 free");
  assert.equal(pickRefusal({ capacity_units: 1, allowed_actions: ["pick"] }, cap, true, T), "");
});
