/* Files both ways (PROTOCOL.md "Version 2 additions"): uploading one file with a progress callback,
 * and showing a message's attachments (a preview for safe raster images, a download link for the rest).
 * Names are text (textContent); addresses come from the server. */

import { el } from "./dom.js";

export const PREVIEW_TYPES = ["image/png", "image/jpeg", "image/gif", "image/webp"];
export const MAX_ATTACHMENTS = 5;

/** "48 KB", "1.2 MB". */
export function fileSize(bytes) {
  if (bytes < 1024) return bytes + " B";
  if (bytes < 1024 * 1024) return Math.round(bytes / 1024) + " KB";
  return (bytes / (1024 * 1024)).toFixed(1).replace(/\.0$/, "") + " MB";
}

/**
 * POST `file` as the multipart field "file" to `url` with `headers`; `onProgress(fraction)` while it goes.
 * Resolves with the server's JSON (201); rejects with {status, code, message} (413, 415, 400, network: 0).
 */
export function uploadFile(url, file, { headers = {}, onProgress = null } = {}) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", url);
    for (const [name, value] of Object.entries(headers)) xhr.setRequestHeader(name, value);
    xhr.responseType = "json";
    if (onProgress) {
      xhr.upload.addEventListener("progress", (event) => {
        if (event.lengthComputable) onProgress(event.loaded / event.total);
      });
    }
    xhr.addEventListener("load", () => {
      const body = xhr.response && typeof xhr.response === "object" ? xhr.response : {};
      if (xhr.status === 201) resolve(body);
      else reject({ status: xhr.status, code: body.code || "error", message: body.message || "" });
    });
    xhr.addEventListener("error", () => reject({ status: 0, code: "network", message: "" }));
    const form = new FormData();
    form.append("file", file, file.name || "file");
    xhr.send(form);
  });
}

/** The attachments of a message, as one node (or null when it has none). */
export function attachmentsNode(attachments, { openLabel = "Open", downloadLabel = "Download" } = {}) {
  if (!Array.isArray(attachments) || !attachments.length) return null;
  const box = el("div", "attachments");
  for (const a of attachments) {
    if (PREVIEW_TYPES.includes(a.content_type)) {
      const link = el("a", "attachment attachment-image");
      link.href = a.url;
      link.target = "_blank";
      link.rel = "noopener";
      link.title = openLabel + ": " + a.name;
      const img = el("img");
      img.src = a.url;
      img.alt = a.name;
      img.loading = "lazy";
      link.appendChild(img);
      box.appendChild(link);
    } else {
      const link = el("a", "attachment attachment-file");
      link.href = a.url;
      link.download = a.name;
      link.title = downloadLabel + ": " + a.name;
      link.appendChild(el("span", "attachment-icon", "📄"));
      link.appendChild(el("span", "attachment-name", a.name));
      link.appendChild(el("span", "attachment-size", fileSize(a.size || 0)));
      box.appendChild(link);
    }
  }
  return box;
}

/** A local preview of an image the user picked (a data: URL; the pages allow img-src data:). */
export function readPreview(file) {
  return new Promise((resolve) => {
    if (!PREVIEW_TYPES.includes(file.type)) return resolve(null);
    const reader = new FileReader();
    reader.addEventListener("load", () => resolve(String(reader.result)));
    reader.addEventListener("error", () => resolve(null));
    reader.readAsDataURL(file);
  });
}

/** Files from a paste (a screenshot) or a drop. */
export function filesFrom(transfer) {
  if (!transfer) return [];
  const list = [];
  if (transfer.files && transfer.files.length) {
    for (const file of transfer.files) list.push(file);
    return list;
  }
  for (const item of transfer.items || []) {
    if (item.kind === "file") {
      const file = item.getAsFile();
      if (file) list.push(file);
    }
  }
  return list;
}
