import assert from "node:assert/strict";
import { test } from "node:test";

import { agentRefusal, fillPlaceholders, interleave, matchQuickReplies, matchesSearch, slashQuery } from "../../static/workspace/together_rules.js";

const msg = (seq) => ({ seq, text: "m" + seq });
const note = (id, after_seq, created_at = "2026-01-01T00:00:0" + id + "Z") => ({ id, after_seq, created_at, text: "n" + id });
const shape = (items) => items.map(({ kind, item }) => (kind === "note" ? "n" + item.id : "m" + item.seq));

test("notes sit right after the message they followed, in time order", () => {
  const out = interleave([msg(1), msg(2), msg(3)], [note(2, 2), note(1, 1), note(3, 2)]);
  assert.deepEqual(shape(out), ["m1", "n1", "m2", "n2", "n3", "m3"]);
});

test("notes before the oldest loaded message come first, and a note of an empty conversation shows", () => {
  assert.deepEqual(shape(interleave([msg(5), msg(6)], [note(1, 2), note(2, 6)])), ["n1", "m5", "m6", "n2"]);
  assert.deepEqual(shape(interleave([], [note(1, 0)])), ["n1"]);
});

test("a note after a message missing from a gap goes to the end instead of vanishing", () => {
  assert.deepEqual(shape(interleave([msg(1), msg(3)], [note(1, 2)])), ["m1", "m3", "n1"]);
});

test("placeholders are filled; other braces stay", () => {
  assert.equal(fillPlaceholders("Hi {customer}, I am {agent}. {other}", { customer: "Dana", agent: "Alice" }), "Hi Dana, I am Alice. {other}");
});

test("a slash at the start opens the quick replies until a space", () => {
  assert.equal(slashQuery("/"), "");
  assert.equal(slashQuery("/Re"), "re");
  assert.equal(slashQuery("/re fund"), null);
  assert.equal(slashQuery("a/re"), null);
});

test("quick replies: shortcut prefix first, then shortcut or title containing the query", () => {
  const replies = [
    { shortcut: "thanks", title: "Thank you" },
    { shortcut: "refund", title: "Refund done" },
    { shortcut: "hi", title: "Greeting after refund" },
  ];
  assert.deepEqual(matchQuickReplies(replies, "re").map((r) => r.shortcut), ["refund", "hi"]);
  assert.deepEqual(matchQuickReplies(replies, "").map((r) => r.shortcut), ["thanks", "refund", "hi"]);
  assert.deepEqual(matchQuickReplies(replies, "zzz"), []);
});

test("search is case-insensitive and a blank search matches nothing", () => {
  assert.equal(matchesSearch("Order A-17 is late", "a-17"), true);
  assert.equal(matchesSearch("Order", "  "), false);
});

test("the transfer dialog refuses agents outside the queue or without room", () => {
  const T = { transfer_not_member: "not member", transfer_no_capacity: "full" };
  assert.equal(agentRefusal({ member: false, free_capacity: 100 }, 40, T), "not member");
  assert.equal(agentRefusal({ member: true, free_capacity: 30 }, 40, T), "full");
  assert.equal(agentRefusal({ member: true, free_capacity: 40 }, 40, T), "");
});
