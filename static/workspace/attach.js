/* The agent's attachments: the attach button, drag and drop and paste of a screenshot into the reply
 * box, uploads with a progress bar and an image preview, refusals (too big, type not allowed); and the
 * attachments of messages in the conversation (a preview for images, a download link for the rest). */

import { MAX_ATTACHMENTS, attachmentsNode, fileSize, filesFrom, readPreview, uploadFile } from "../parley/attachments.js";
import { $, el } from "../parley/dom.js";
import { fmt } from "../parley/format.js";
import { T } from "./context.js";

const tray = []; // {file, name, size, preview, progress, id, error}

function csrfToken() {
  const field = document.querySelector('input[name="csrfmiddlewaretoken"]');
  return field ? field.value : "";
}

export function messageAttachments(msg) {
  return attachmentsNode(msg.attachments, { openLabel: T.open_file || "Open", downloadLabel: T.download_file || "Download" });
}

export function uploading() {
  return tray.some((f) => !f.id && !f.error);
}

/** The finished uploads for the reply being sent (the tray empties of them). */
export function takeAttachments() {
  const ready = tray.filter((f) => f.id).map((f) => ({ id: f.id, name: f.name }));
  for (let i = tray.length - 1; i >= 0; i -= 1) if (tray[i].id || tray[i].error) tray.splice(i, 1);
  render();
  return ready;
}

function refusal(error) {
  if (error.status === 413) return T.file_too_big;
  if (error.status === 415) return T.file_type;
  return error.message || T.file_failed;
}

async function add(files) {
  for (const file of files) {
    if (tray.length >= MAX_ATTACHMENTS) break;
    const entry = { file, name: file.name || "screenshot.png", size: file.size, preview: null, progress: 0, id: null, error: null };
    tray.push(entry);
    if (file.size === 0) entry.error = T.file_empty;
    render();
    if (entry.error) continue;
    entry.preview = await readPreview(file);
    render();
    uploadFile("/files/workspace/", file, {
      headers: { "X-CSRFToken": csrfToken() },
      onProgress: (fraction) => {
        entry.progress = fraction;
        render();
      },
    }).then(
      (answer) => {
        entry.id = answer.id;
        entry.name = answer.name;
        render();
      },
      (error) => {
        entry.error = refusal(error);
        render();
      }
    );
  }
}

function render() {
  const box = $("attach-tray");
  box.replaceChildren();
  for (const entry of tray) {
    const chip = el("div", "attach-chip" + (entry.error ? " is-error" : ""));
    if (entry.preview) {
      const img = el("img", "attach-preview");
      img.src = entry.preview;
      img.alt = "";
      chip.append(img);
    }
    const body = el("div", "attach-body");
    body.append(el("span", "attach-name", entry.name));
    if (entry.error) body.append(el("span", "attach-status", entry.error));
    else if (!entry.id) {
      const bar = el("progress", "attach-progress");
      bar.max = 1;
      bar.value = entry.progress;
      bar.setAttribute("aria-label", fmt(T.uploading || "%(name)s", { name: entry.name }));
      body.append(bar);
    } else body.append(el("span", "attach-status", fileSize(entry.size)));
    chip.append(body);
    const remove = el("button", "attach-remove", "×");
    remove.type = "button";
    remove.setAttribute("aria-label", fmt(T.remove_file || "%(name)s", { name: entry.name }));
    remove.addEventListener("click", () => {
      tray.splice(tray.indexOf(entry), 1);
      render();
    });
    chip.append(remove);
    box.append(chip);
  }
  box.hidden = !tray.length;
}

export function wireAttachments() {
  const input = $("attach-input");
  $("attach-button").addEventListener("click", () => input.click());
  input.addEventListener("change", () => {
    add(Array.from(input.files || []));
    input.value = "";
  });
  $("composer-input").addEventListener("paste", (event) => {
    const files = filesFrom(event.clipboardData);
    if (files.length) {
      event.preventDefault();
      add(files);
    }
  });
  const composer = $("composer");
  composer.addEventListener("dragover", (event) => {
    event.preventDefault();
    composer.classList.add("dragging");
  });
  composer.addEventListener("dragleave", () => composer.classList.remove("dragging"));
  composer.addEventListener("drop", (event) => {
    event.preventDefault();
    composer.classList.remove("dragging");
    add(filesFrom(event.dataTransfer));
  });
}
