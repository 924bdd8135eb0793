import assert from "node:assert/strict";
import { test } from "node:test";

import { TypingSender } from "../../static/parley/typing.js";

function fakeTimers() {
  const timers = { now: 0, queue: new Map(), next: 1 };
  timers.setTimeout = (fn, ms) => {
    const id = timers.next++;
    timers.queue.set(id, { fn, at: timers.now + ms });
    return id;
  };
  timers.clearTimeout = (id) => timers.queue.delete(id);
  timers.advance = (ms) => {
    timers.now += ms;
    for (const [id, t] of Array.from(timers.queue)) {
      if (t.at <= timers.now) {
        timers.queue.delete(id);
        t.fn();
      }
    }
  };
  return timers;
}

test("typing sends active once, then inactive after the idle time", () => {
  const timers = fakeTimers();
  const sent = [];
  const typing = new TypingSender({ send: (a) => sent.push(a), idleAfter: 3000, now: () => timers.now, timers });
  typing.input(true);
  timers.advance(1000);
  typing.input(true);
  timers.advance(2999);
  assert.deepEqual(sent, [true]);
  timers.advance(1);
  assert.deepEqual(sent, [true, false]);
});

test("with repeatEvery the active frame is sent again while the user keeps typing", () => {
  const timers = fakeTimers();
  const sent = [];
  const typing = new TypingSender({ send: (a) => sent.push(a), repeatEvery: 3000, idleAfter: 4000, now: () => timers.now, timers });
  for (let i = 0; i < 8; i++) {
    typing.input(true);
    timers.advance(1000);
  }
  assert.deepEqual(sent, [true, true]);
});

test("an empty field announces nothing, and stop without a start sends nothing", () => {
  const timers = fakeTimers();
  const sent = [];
  const typing = new TypingSender({ send: (a) => sent.push(a), now: () => timers.now, timers });
  typing.input(false);
  typing.stop();
  assert.deepEqual(sent, []);
});

test("a frame the socket refused is tried again on the next key", () => {
  const timers = fakeTimers();
  const sent = [];
  let up = false;
  const typing = new TypingSender({ send: (a) => (up ? sent.push(a) > 0 : false), now: () => timers.now, timers });
  typing.input(true);
  up = true;
  typing.input(true);
  assert.deepEqual(sent, [true]);
  assert.equal(typing.active, true);
});
