import assert from "node:assert/strict";
import { test } from "node:test";

import { Client } from "../../static/parley/client.js";

/** A socket the test drives: `serve(frame)` delivers a frame, `drop(code)` closes it. */
function harness() {
  const sockets = [];
  class FakeSocket {
    constructor(url) {
      this.url = url;
      this.readyState = 0;
      this.sent = [];
      sockets.push(this);
    }
    send(text) {
      this.sent.push(JSON.parse(text));
    }
    close() {
      this.drop(1000);
    }
    up() {
      this.readyState = 1;
      this.onopen();
    }
    serve(frame) {
      this.onmessage({ data: JSON.stringify(frame) });
    }
    drop(code = 1006) {
      this.readyState = 3;
      this.onclose({ code });
    }
  }
  const timers = { pending: [] };
  timers.setTimeout = (fn, ms) => {
    timers.pending.push({ fn, ms });
    return timers.pending.length;
  };
  timers.clearTimeout = () => {};
  timers.fire = () => timers.pending.shift().fn();
  return { sockets, timers, FakeSocket };
}

function welcomed(options = {}) {
  const h = harness();
  const client = new Client({ url: "ws://x/ws/", WebSocketImpl: h.FakeSocket, timers: h.timers, random: () => 0.5, offlineMessage: "offline", ...options });
  client.start();
  const socket = h.sockets[0];
  socket.up();
  socket.serve({ type: "welcome" });
  return { ...h, client, socket };
}

test("nothing is sent before the server's welcome, and the hello goes first", () => {
  const h = harness();
  const client = new Client({ url: "ws://x/", hello: () => ({ type: "hello", visitor: "v" }), WebSocketImpl: h.FakeSocket, timers: h.timers });
  client.start();
  h.sockets[0].up();
  assert.equal(client.send({ type: "typing", active: true }), false);
  h.sockets[0].serve({ type: "welcome" });
  assert.equal(client.send({ type: "typing", active: true }), true);
  assert.deepEqual(h.sockets[0].sent, [{ type: "hello", visitor: "v" }, { type: "typing", active: true }]);
});

test("a request resolves with the answer that echoes its req, and other frames reach their handlers", async () => {
  const { client, socket } = welcomed({ reqPrefix: "w" });
  const seen = [];
  client.on("message", (frame) => seen.push(frame.message.seq));
  const answer = client.request({ type: "open", conversation_id: "c1" });
  assert.deepEqual(socket.sent[0], { type: "open", conversation_id: "c1", req: "w1" });
  socket.serve({ type: "message", message: { seq: 4 } });
  socket.serve({ type: "conversation", req: "w1", conversation: { id: "c1" } });
  assert.equal((await answer).conversation.id, "c1");
  assert.deepEqual(seen, [4]);
});

test("an error answer rejects the request", async () => {
  const { client, socket } = welcomed();
  const answer = client.request({ type: "end", conversation_id: "c1" });
  socket.serve({ type: "error", req: socket.sent[0].req, code: "not_allowed", message: "No" });
  await assert.rejects(answer, { code: "not_allowed" });
});

test("a close rejects the requests in flight and reconnects after the backoff", async () => {
  const { client, socket, sockets, timers } = welcomed();
  const answer = client.request({ type: "pick", conversation_id: "c1" });
  socket.drop();
  await assert.rejects(answer, { code: "unavailable", message: "offline" });
  assert.equal(client.ready, false);
  assert.deepEqual(timers.pending.map((t) => t.ms), [500]);
  timers.fire();
  assert.equal(sockets.length, 2);
  sockets[1].up();
  sockets[1].drop();
  assert.deepEqual(timers.pending.map((t) => t.ms), [1000]);
});

test("the welcome resets the backoff, and onClose may choose the delay", () => {
  const { client, sockets, timers } = welcomed({ onClose: (event) => (event.code === 4409 ? 30000 : undefined) });
  sockets[0].drop();
  timers.fire();
  sockets[1].up();
  sockets[1].serve({ type: "welcome" });
  sockets[1].drop(4409);
  assert.deepEqual(timers.pending.map((t) => t.ms), [30000]);
  assert.equal(client.socketNo, 2);
});

test("a frame of an old socket is ignored", () => {
  const { client, sockets, timers } = welcomed();
  const seen = [];
  client.on("message", () => seen.push(1));
  const old = sockets[0];
  old.drop();
  timers.fire();
  old.serve({ type: "message", message: {} });
  assert.deepEqual(seen, []);
});

test("a failed preparation waits the delay it names before trying again", async () => {
  const h = harness();
  let calls = 0;
  const client = new Client({
    url: "ws://x/",
    WebSocketImpl: h.FakeSocket,
    timers: h.timers,
    prepare: () => {
      calls += 1;
      return Promise.reject({ retryIn: 5000 });
    },
  });
  client.start();
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(h.sockets.length, 0);
  assert.deepEqual(h.timers.pending.map((t) => t.ms), [5000]);
  assert.equal(calls, 1);
});

test("syncAll pages until the server has no more", async () => {
  const { client, socket } = welcomed();
  const pages = [];
  const done = client.syncAll({ conversation_id: "c1" }, 3, (messages) => pages.push(messages.map((m) => m.seq)));
  socket.serve({ type: "sync", req: socket.sent[0].req, messages: [{ seq: 4 }, { seq: 5 }], has_more: true });
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(socket.sent[1].after_seq, 5);
  socket.serve({ type: "sync", req: socket.sent[1].req, messages: [{ seq: 6 }], has_more: false });
  await done;
  assert.deepEqual(pages, [[4, 5], [6]]);
});
