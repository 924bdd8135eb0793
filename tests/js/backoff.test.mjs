import assert from "node:assert/strict";
import { test } from "node:test";

import { backoffDelay } from "../../static/parley/backoff.js";

test("the reconnect delay doubles from half a second and stops growing at fifteen seconds", () => {
  const middle = () => 0.5; // no jitter
  assert.deepEqual(
    [0, 1, 2, 3, 4, 5, 6, 10].map((attempt) => backoffDelay(attempt, {}, middle)),
    [500, 1000, 2000, 4000, 8000, 15000, 15000, 15000]
  );
});

test("jitter spreads the delay by a fifth either way", () => {
  assert.equal(backoffDelay(2, {}, () => 0), 1600);
  assert.equal(backoffDelay(2, {}, () => 1), 2400);
});

test("a negative attempt counts as the first", () => {
  assert.equal(backoffDelay(-3, {}, () => 0.5), 500);
});
