import assert from "node:assert/strict";
import { test } from "node:test";

import { ago, fmt, formats, initials, pageLocale } from "../../static/parley/format.js";

const T = { never: "never", just_now: "just now", minutes_ago: "%(n)s min ago", hours_ago: "%(n)s h ago", days_ago: "%(n)s d ago" };

test("placeholders are filled and unknown ones stay as they are", () => {
  assert.equal(fmt("%(name)s is typing… %(other)s", { name: "Ada" }), "Ada is typing… %(other)s");
  assert.equal(fmt("%(n)s", { n: 0 }), "0");
});

test("the browser's regional variant is used only when it speaks the page's language", () => {
  assert.equal(pageLocale("en", "en-GB"), "en-GB");
  assert.equal(pageLocale("ru", "en-GB"), "ru");
  assert.equal(pageLocale("ru", ""), "ru");
});

test("times and days follow the locale", () => {
  const gb = formats("en-GB");
  assert.equal(gb.time("2026-03-05T14:07:00"), "14:07");
  const ru = formats("ru");
  assert.match(ru.weekdayDay("2026-03-05T14:07:00"), /четверг, 5 марта/);
  assert.equal(gb.dayKey("2026-03-05T01:00:00"), gb.dayKey("2026-03-05T23:00:00"));
});

test("a missing or broken timestamp formats as empty text", () => {
  const f = formats("en");
  assert.equal(f.time(null), "");
  assert.equal(f.dateTime("not a date"), "");
});

test("ago counts minutes, hours and days", () => {
  const now = Date.parse("2026-03-05T12:00:00Z");
  assert.equal(ago(null, T, now), "never");
  assert.equal(ago("2026-03-05T11:59:30Z", T, now), "just now");
  assert.equal(ago("2026-03-05T11:55:00Z", T, now), "5 min ago");
  assert.equal(ago("2026-03-05T09:00:00Z", T, now), "3 h ago");
  assert.equal(ago("2026-03-01T12:00:00Z", T, now), "4 d ago");
});

test("initials take the first and the last word", () => {
  assert.equal(initials("ada king lovelace"), "AL");
  assert.equal(initials("Grace"), "G");
  assert.equal(initials("  "), "?");
});

test("plural picks the form of the count's Intl plural category", async () => {
  const { plural } = await import("../../static/parley/format.js");
  const ru = { one: "%(count)s сообщение", few: "%(count)s сообщения", many: "%(count)s сообщений", other: "%(count)s сообщения" };
  assert.equal(plural(ru, 1, "ru"), "1 сообщение");
  assert.equal(plural(ru, 3, "ru"), "3 сообщения");
  assert.equal(plural(ru, 11, "ru"), "11 сообщений");
  assert.equal(plural({ one: "%(count)s message", other: "%(count)s messages" }, 2, "en"), "2 messages");
  assert.equal(plural("Messages: %(count)s", 4, "en"), "Messages: 4");
});
