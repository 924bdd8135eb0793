import assert from "node:assert/strict";
import { test } from "node:test";

import { createState, listCursors } from "../../static/workspace/state.js";

const summary = (id, state, updated_at) => ({ id, state, updated_at });

test("each group's cursor is the oldest updated_at the server sent of it", () => {
  const cursors = listCursors([
    summary("a", "waiting", "2026-11-30T10:00:00.500Z"),
    summary("b", "waiting", "2026-11-30T09:00:00.000Z"),
    summary("c", "active", "2026-11-30T11:00:00.000Z"),
    summary("d", "open", "2026-11-30T01:00:00.000Z"),
  ]);
  assert.deepEqual(cursors, { waiting: "2026-11-30T09:00:00.000Z", active: "2026-11-30T11:00:00.000Z" });
});

test("a later page moves only its own group's cursor, and only back in time", () => {
  const before = { waiting: "2026-11-30T09:00:00.000Z", active: "2026-11-30T11:00:00.000Z" };
  const after = listCursors([summary("e", "waiting", "2026-11-30T08:59:59.999Z"), summary("f", "active", "2026-11-30T12:00:00.000Z")], before);
  assert.deepEqual(after, { waiting: "2026-11-30T08:59:59.999Z", active: "2026-11-30T11:00:00.000Z" });
  assert.equal(before.waiting, "2026-11-30T09:00:00.000Z");
});

test("a fresh workspace has nothing more to fetch and an empty queue total", () => {
  const S = createState();
  assert.deepEqual(S.more, { active: false, waiting: false, wrap_up: false });
  assert.equal(S.queueTotal, 0);
  assert.equal(S.loadingMore.size, 0);
});
