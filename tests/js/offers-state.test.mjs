import assert from "node:assert/strict";
import { test } from "node:test";

import { createState, secondsLeft } from "../../static/workspace/state.js";

test("an offer's countdown is whole seconds left, rounded up, never below zero", () => {
  const expires = "2026-11-30T10:00:10.000Z";
  const at = (iso) => Date.parse(iso);
  assert.equal(secondsLeft(expires, at("2026-11-30T10:00:00.000Z")), 10);
  assert.equal(secondsLeft(expires, at("2026-11-30T10:00:09.100Z")), 1);
  assert.equal(secondsLeft(expires, at("2026-11-30T10:00:10.000Z")), 0);
  assert.equal(secondsLeft(expires, at("2026-11-30T10:05:00.000Z")), 0);
});

test("the workspace starts without offers", () => {
  assert.equal(createState().offers.size, 0);
});
