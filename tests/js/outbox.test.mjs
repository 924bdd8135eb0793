import assert from "node:assert/strict";
import { test } from "node:test";

import { Outbox } from "../../static/parley/outbox.js";

const ids = () => {
  let n = 0;
  return () => "id-" + ++n;
};

test("a new item gets a client_id and is due on the current socket", () => {
  const box = new Outbox([], { makeId: ids() });
  const item = box.add({ text: "hello" });
  assert.equal(item.client_id, "id-1");
  assert.deepEqual(box.due(1).map((i) => i.client_id), ["id-1"]);
});

test("an item sent on a socket is due again only on the next socket", () => {
  const box = new Outbox([], { makeId: ids() });
  const item = box.add({ text: "hello" });
  box.markSent(item.client_id, 1);
  assert.deepEqual(box.due(1), []);
  assert.deepEqual(box.due(2).map((i) => i.text), ["hello"]);
});

test("the server's confirmation removes the item and a second confirmation changes nothing", () => {
  const changes = [];
  const box = new Outbox([], { makeId: ids(), onChange: (b) => changes.push(b.size) });
  const item = box.add({ text: "hello" });
  assert.equal(box.confirm(item.client_id), true);
  assert.equal(box.confirm(item.client_id), false);
  assert.equal(box.confirm(undefined), false);
  assert.equal(box.size, 0);
  assert.deepEqual(changes, [1, 0]);
});

test("a failed item is not resent until the user retries it", () => {
  const box = new Outbox([], { makeId: ids() });
  const item = box.add({ text: "hello" });
  box.markSent(item.client_id, 1);
  box.fail(item.client_id, "Too long");
  assert.equal(box.get(item.client_id).failed, "Too long");
  assert.deepEqual(box.due(2), []);
  box.retry(item.client_id);
  assert.deepEqual(box.due(1).map((i) => i.client_id), [item.client_id]);
});

test("what is stored keeps the text and the failure but not the socket bookkeeping", () => {
  const box = new Outbox([], { makeId: ids() });
  const item = box.add({ text: "hello", at: "2026-01-01T10:00:00Z" });
  box.markSent(item.client_id, 3);
  const saved = JSON.parse(JSON.stringify(box));
  assert.deepEqual(saved, [{ text: "hello", at: "2026-01-01T10:00:00Z", client_id: "id-1", failed: null }]);
  const restored = new Outbox(saved);
  assert.deepEqual(restored.due(3).map((i) => i.text), ["hello"]);
});

test("restoring ignores entries that are not messages", () => {
  const box = new Outbox([null, { client_id: 5, text: "x" }, { client_id: "a", text: "ok" }]);
  assert.deepEqual(box.items().map((i) => i.client_id), ["a"]);
});
