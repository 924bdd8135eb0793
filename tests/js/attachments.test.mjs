// The pure parts of static/parley/attachments.js: sizes as people read them, files from a paste or a drop.
import assert from "node:assert/strict";
import { test } from "node:test";

import { fileSize, filesFrom } from "../../static/parley/attachments.js";

test("sizes are shown in bytes, kilobytes and megabytes", () => {
  assert.equal(fileSize(0), "0 B");
  assert.equal(fileSize(1023), "1023 B");
  assert.equal(fileSize(48213), "47 KB");
  assert.equal(fileSize(5 * 1024 * 1024), "5 MB");
  assert.equal(fileSize(1.25 * 1024 * 1024), "1.3 MB");
});

test("a drop gives its files and a paste of a screenshot gives the file items", () => {
  const png = { name: "shot.png" };
  assert.deepEqual(filesFrom({ files: [png] }), [png]);
  const pasted = { files: [], items: [{ kind: "string" }, { kind: "file", getAsFile: () => png }] };
  assert.deepEqual(filesFrom(pasted), [png]);
  assert.deepEqual(filesFrom(null), []);
});
