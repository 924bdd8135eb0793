import assert from "node:assert/strict";
import { test } from "node:test";

import { Thread } from "../../static/parley/thread.js";

const msg = (seq) => ({ seq, text: "m" + seq });

test("messages are kept once by seq and come out in order", () => {
  const t = new Thread();
  assert.deepEqual(t.addAll([msg(5), msg(3), msg(5)]).map((m) => m.seq), [5, 3]);
  assert.deepEqual(t.ordered().map((m) => m.seq), [3, 5]);
  assert.equal(t.minSeq, 3);
  assert.equal(t.maxSeq, 5);
});

test("a page that starts after the next seq leaves a gap to sync", () => {
  const t = new Thread();
  t.addAll([msg(1), msg(2)]);
  assert.equal(t.gapBefore(3), false);
  assert.equal(t.gapBefore(5), true);
  assert.equal(new Thread().gapBefore(5), false);
});

test("frames without a numeric seq are not kept", () => {
  const t = new Thread();
  assert.equal(t.add({ text: "x" }), false);
  assert.equal(t.add(null), false);
  assert.equal(t.size, 0);
});

test("clearing forgets the messages and the paging marks", () => {
  const t = new Thread();
  t.addAll([msg(1)]);
  t.loaded = true;
  t.hasMore = true;
  t.clear();
  assert.deepEqual([t.size, t.minSeq, t.maxSeq, t.loaded, t.hasMore], [0, 0, 0, false, false]);
});
