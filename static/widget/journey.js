/* The customer's journey in the widget (PROTOCOL.md "Version 2 additions"), beside widget.js:
 * the pre-chat survey, files (attach button, drag and drop, paste; progress, preview, refusals),
 * the post-chat rating, leaving a message when nobody is available (with the next opening time),
 * earlier conversations above the current one, transcripts from the server, and the email switch.
 *
 * widget.js calls `initJourney(context)` once, then the hooks below from its frame handlers and its
 * render. Every text goes in with textContent. */

import { MAX_ATTACHMENTS, attachmentsNode, fileSize, filesFrom, readPreview, uploadFile } from "../parley/attachments.js";
import { $, el } from "../parley/dom.js";
import { fmt } from "../parley/format.js";

let C = null; // {cfg, T, F, client, S, render, tab, retext}

/** Journey state, beside the widget's S. */
const J = {
  uploadToken: null,
  survey: null, // the fields, or null
  surveyDone: false,
  ratingFor: null, // conversation id the widget asks the customer to rate
  rated: false,
  leave: null, // {reason, nextOpening, text} while the leave-a-message form shows
  left: false, // the message was left
  nextOpening: null,
  earlier: [], // earlier conversations, newest first
  earlierMore: false,
  earlierAsked: false,
  tray: [], // {key, file, name, size, preview, progress, id, error}
  emailKnown: false,
  emailOn: false,
  emailAvailable: false,
};

export function initJourney(context) {
  C = context;
  wireSurvey();
  wireRating();
  wireLeave();
  wireFiles();
  wireMenu();
}

// --- hooks from widget.js ---------------------------------------------------------------------------

export function onWelcome(frame) {
  const widget = frame.widget || {};
  const customer = frame.customer || {};
  J.uploadToken = frame.upload_token || null;
  J.survey = Array.isArray(widget.pre_chat) && widget.pre_chat.length ? widget.pre_chat : null;
  J.surveyDone = C.tab.get("surveyDone:" + customer.id, false);
  J.nextOpening = widget.next_opening || null;
  J.emailKnown = Boolean(customer.email_known);
  J.emailAvailable = Boolean(widget.email_notifications) && J.emailKnown;
  J.emailOn = Boolean(customer.email_notifications);
  if (J.survey) fillSurvey();
  if (C.cfg.mode === "live" && !widget.online && !frame.conversation && !J.left) {
    openLeave("offline", J.nextOpening, "");
  }
  if (!J.earlierAsked && C.cfg.mode === "persistent") {
    J.earlierAsked = true;
    askEarlier(null);
  }
  renderMenu();
}

/** A notice; returns true when the journey shows it itself. */
export function onNotice(frame) {
  const data = frame.data || {};
  if (frame.code === "rate_conversation") {
    J.ratingFor = data.conversation_id || null;
    J.rated = false;
    resetRatingForm();
    C.render("bottom");
    return true;
  }
  if (frame.code === "no_agent_available") {
    openLeave("no_agent", data.next_opening || null, "");
    return false; // the notice also shows in the log
  }
  if (frame.code === "agent_joined" && J.leave && J.leave.reason === "no_agent") {
    J.leave = null; // an agent is here after all: the offer to leave a message goes
  }
  if (frame.code === "out_of_hours" && data.next_opening) {
    frame.text = String(frame.text || "") + " " + fmt(C.T.back_at, { when: C.F.stamp(data.next_opening) });
  }
  return false;
}

/** An error answering a `send` of the outbox item; returns true when the journey handled it. */
export function onSendError(frame, item) {
  if (frame.code === "pre_chat_required") {
    setSurveyDone(false);
    giveBack(item);
    C.render("bottom");
    return true;
  }
  if (frame.code === "unavailable" && C.cfg.mode === "live") {
    giveBack(item);
    openLeave("offline", J.nextOpening, item.text);
    C.render("bottom");
    return true;
  }
  return false;
}

export function onConversationEnded() {
  setSurveyDone(false);
}

/** The attachments of a message for its bubble. */
export function attachmentsOf(message) {
  return attachmentsNode(message.attachments, { openLabel: C.T.open_file, downloadLabel: C.T.download_file });
}

/** What a submitted message takes from the tray: the ids of the finished uploads (the tray empties). */
export function takeAttachments() {
  const ready = J.tray.filter((f) => f.id);
  J.tray = J.tray.filter((f) => !f.id && !f.error && f.progress < 1);
  renderTray();
  return ready.map((f) => ({ id: f.id, name: f.name }));
}

export function uploading() {
  return J.tray.some((f) => !f.id && !f.error);
}

/** Earlier conversations for the top of the log (persistent chat), with a divider each. */
export function earlierNode() {
  if (!J.earlier.length && !J.earlierMore) return null;
  const box = el("div", "earlier");
  if (J.earlierMore) {
    const more = el("button", "link earlier-more", C.T.show_earlier);
    more.type = "button";
    more.addEventListener("click", () => askEarlier(J.earlier.length ? J.earlier[J.earlier.length - 1].id : null));
    box.appendChild(more);
  }
  for (const conv of J.earlier.slice().reverse()) {
    const divider = el("div", "divider");
    divider.setAttribute("role", "separator");
    divider.appendChild(el("span", "", fmt(C.T.earlier_conversation, { date: C.F.fullDay(conv.created_at) })));
    box.appendChild(divider);
    for (const m of conv.messages) {
      const role = (m.sender && m.sender.role) || "system";
      const row = el("div", "msg msg-" + role + " msg-earlier");
      if (role === "agent") row.appendChild(el("div", "msg-name", m.sender.name || C.T.agent));
      if (m.text) row.appendChild(el("div", "bubble", m.text));
      const files = attachmentsOf(m);
      if (files) row.appendChild(files);
      const meta = el("div", "meta");
      meta.appendChild(el("time", "", C.F.time(m.sent_at)));
      row.appendChild(meta);
      box.appendChild(row);
    }
    const end = el("div", "divider divider-end");
    end.setAttribute("role", "separator");
    end.appendChild(el("span", "", C.T.conversation_closed));
    box.appendChild(end);
  }
  return box;
}

/** The footer: survey, rating or leave-a-message instead of (or above) the composer. */
export function renderPanels({ ended }) {
  const S = C.S;
  const noConversation = !S.conv || ended;
  const showLeave = Boolean(J.leave) && !J.left;
  // the rating of the conversation that just ended comes before the survey of the next one
  const showRating = Boolean(J.ratingFor) && !showLeave;
  const showSurvey = !showLeave && !showRating && Boolean(J.survey) && !J.surveyDone && noConversation && C.client.ready;
  $("survey").hidden = !showSurvey;
  $("leave").hidden = !showLeave;
  $("left").hidden = !J.left;
  $("rating").hidden = !showRating;
  if (showLeave || showSurvey || J.left) {
    $("composer").hidden = true;
    $("ended").hidden = true;
    // outside operating hours the offline notice stays, with the form below it
    if (!(showLeave && J.leave.reason === "offline" && !$("offline").hidden)) {
      $("offline").hidden = true;
      $("log").hidden = false;
    }
  }
  $("tray").hidden = !J.tray.length || $("composer").hidden;
  renderMenu();
}

// --- the pre-chat survey ------------------------------------------------------------------------------

function setSurveyDone(done) {
  J.surveyDone = done;
  if (C.S.customer) C.tab.set("surveyDone:" + C.S.customer.id, done);
}

function fillSurvey() {
  const form = $("survey-fields");
  form.replaceChildren();
  for (const field of J.survey) {
    const id = "pc-" + field.name;
    const row = el("div", "field");
    const label = el("label", "", field.label + (field.required ? " *" : ""));
    label.htmlFor = id;
    row.appendChild(label);
    let input;
    if (field.kind === "choice") {
      input = el("select");
      const blank = el("option", "", C.T.choose);
      blank.value = "";
      input.appendChild(blank);
      for (const choice of field.choices || []) {
        const option = el("option", "", choice);
        option.value = choice;
        input.appendChild(option);
      }
    } else if (field.kind === "textarea") {
      input = el("textarea");
      input.rows = 3;
    } else {
      input = el("input");
      input.type = field.kind === "email" ? "email" : "text";
      if (field.kind === "email") input.autocomplete = "email";
      else if (field.name === "name") input.autocomplete = "name";
    }
    input.id = id;
    input.name = field.name;
    if (field.required) input.required = true;
    if (field.value) input.value = field.value;
    const error = el("p", "field-error");
    error.id = id + "-error";
    error.hidden = true;
    input.setAttribute("aria-describedby", error.id);
    row.appendChild(input);
    row.appendChild(error);
    form.appendChild(row);
  }
}

function showFieldErrors(fields) {
  let first = null;
  for (const field of J.survey || []) {
    const input = $("pc-" + field.name);
    const error = $("pc-" + field.name + "-error");
    const message = fields[field.name];
    error.textContent = message || "";
    error.hidden = !message;
    if (message) {
      input.setAttribute("aria-invalid", "true");
      first = first || input;
    } else input.removeAttribute("aria-invalid");
  }
  if (first) first.focus();
}

function wireSurvey() {
  $("survey").addEventListener("submit", async (event) => {
    event.preventDefault();
    const answers = {};
    for (const field of J.survey || []) {
      const value = $("pc-" + field.name).value.trim();
      if (value) answers[field.name] = value;
    }
    const button = $("survey-submit");
    button.disabled = true;
    try {
      await C.client.request({ type: "pre_chat", answers });
      showFieldErrors({});
      setSurveyDone(true);
      C.render("force");
      $("input").focus();
    } catch (error) {
      if (error && error.fields) showFieldErrors(error.fields);
      else $("survey-error").textContent = (error && error.message) || C.T.not_sent;
    } finally {
      button.disabled = false;
    }
  });
}

// --- the rating ---------------------------------------------------------------------------------------

function resetRatingForm() {
  for (const input of document.querySelectorAll('#rating input[name="score"]')) input.checked = false;
  $("rating-comment").value = "";
  document.querySelector("#rating .stars").dataset.score = "";
  $("rating-status").textContent = "";
  $("rating-form").hidden = false;
}

function wireRating() {
  const stars = document.querySelector("#rating .stars");
  stars.addEventListener("change", (event) => {
    stars.dataset.score = event.target.value;
  });
  $("rating-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const picked = document.querySelector('#rating input[name="score"]:checked');
    if (!picked) {
      $("rating-status").textContent = C.T.pick_stars;
      return;
    }
    const frame = { type: "rate", conversation_id: J.ratingFor, score: Number(picked.value) };
    const comment = $("rating-comment").value.trim();
    if (comment) frame.comment = comment;
    try {
      await C.client.request(frame);
      $("rating-form").hidden = true;
      $("rating-status").textContent = C.T.thanks_rating;
      setTimeout(() => {
        J.ratingFor = null;
        C.render("keep");
      }, 2500);
    } catch (error) {
      $("rating-status").textContent = (error && error.message) || C.T.not_sent;
    }
  });
  $("rating-skip").addEventListener("click", () => {
    J.ratingFor = null;
    C.render("keep");
  });
}

// --- leave a message ------------------------------------------------------------------------------------

function openLeave(reason, nextOpening, text) {
  if (J.left) return;
  J.leave = { reason, nextOpening };
  $("leave-title").textContent = reason === "offline" ? C.T.leave_title_offline : C.T.leave_title_busy;
  // outside operating hours the offline notice above the form says it already
  $("leave-title").hidden = reason === "offline" && !C.S.online;
  $("leave-when").textContent = nextOpening ? fmt(C.T.back_at, { when: C.F.stamp(nextOpening) }) : "";
  $("leave-when").hidden = !nextOpening;
  if (text && !$("leave-text").value) $("leave-text").value = text;
  C.render("bottom");
}

function giveBack(item) {
  const input = $("input");
  if (!input.value && item.text) input.value = item.text;
  C.S.outbox.drop(item.client_id);
}

function wireLeave() {
  $("leave").addEventListener("submit", async (event) => {
    event.preventDefault();
    const email = $("leave-email").value.trim();
    const text = $("leave-text").value.trim();
    $("leave-email-error").hidden = true;
    if (!text) {
      $("leave-text").focus();
      return;
    }
    const frame = { type: "leave_message", client_id: "leave-" + Date.now().toString(36), text, email };
    try {
      const ack = await C.client.request(frame);
      J.left = true;
      J.leave = null;
      $("input").value = "";
      C.tab.remove("draft");
      if (ack.message) C.keep(ack.message);
      C.render("force");
    } catch (error) {
      if (error && error.fields && error.fields.email) {
        $("leave-email-error").textContent = error.fields.email;
        $("leave-email-error").hidden = false;
        $("leave-email").setAttribute("aria-invalid", "true");
        $("leave-email").focus();
      } else {
        $("leave-email-error").textContent = (error && error.message) || C.T.not_sent;
        $("leave-email-error").hidden = false;
      }
    }
  });
  $("leave-cancel").addEventListener("click", () => {
    J.leave = null;
    C.render("bottom");
  });
}

// --- earlier conversations ---------------------------------------------------------------------------------

async function askEarlier(before) {
  try {
    const answer = await C.client.request(before ? { type: "earlier_conversations", before } : { type: "earlier_conversations" });
    const known = new Set(J.earlier.map((c) => c.id));
    for (const conv of answer.conversations || []) if (!known.has(conv.id)) J.earlier.push(conv);
    J.earlierMore = Boolean(answer.has_more);
    C.render(before ? "keep" : "bottom");
  } catch (error) {
    J.earlierAsked = false;
  }
}

// --- files ----------------------------------------------------------------------------------------------

let trayKeys = 0;

function refusal(error) {
  if (error.status === 413) return C.T.file_too_big;
  if (error.status === 415) return C.T.file_type;
  return error.message || C.T.file_failed;
}

async function addFiles(files) {
  for (const file of files) {
    if (J.tray.length >= MAX_ATTACHMENTS) break;
    const entry = { key: ++trayKeys, file, name: file.name || "screenshot.png", size: file.size, preview: null, progress: 0, id: null, error: null };
    J.tray.push(entry);
    if (file.size > C.cfg.maxUploadBytes) entry.error = C.T.file_too_big;
    else if (file.size === 0) entry.error = C.T.file_empty;
    renderTray();
    if (entry.error) continue;
    entry.preview = await readPreview(file);
    renderTray();
    uploadFile("/files/widget/" + C.cfg.publicId + "/", file, {
      headers: { Authorization: "Bearer " + J.uploadToken },
      onProgress: (fraction) => {
        entry.progress = fraction;
        renderTray();
      },
    }).then(
      (answer) => {
        entry.id = answer.id;
        entry.name = answer.name;
        entry.progress = 1;
        renderTray();
      },
      (error) => {
        entry.error = refusal(error);
        renderTray();
      },
    );
  }
}

function renderTray() {
  const tray = $("tray");
  tray.replaceChildren();
  for (const entry of J.tray) {
    const chip = el("div", "chip" + (entry.error ? " chip-error" : entry.id ? " chip-ready" : ""));
    if (entry.preview) {
      const img = el("img", "chip-preview");
      img.src = entry.preview;
      img.alt = "";
      chip.appendChild(img);
    } else chip.appendChild(el("span", "chip-icon", "📄"));
    const body = el("div", "chip-body");
    body.appendChild(el("span", "chip-name", entry.name));
    if (entry.error) body.appendChild(el("span", "chip-status", entry.error));
    else if (!entry.id) {
      const bar = el("progress", "chip-progress");
      bar.max = 1;
      bar.value = entry.progress;
      bar.setAttribute("aria-label", fmt(C.T.uploading, { name: entry.name }));
      body.appendChild(bar);
    } else body.appendChild(el("span", "chip-status", fileSize(entry.size)));
    chip.appendChild(body);
    const remove = el("button", "chip-remove", "×");
    remove.type = "button";
    remove.setAttribute("aria-label", fmt(C.T.remove_file, { name: entry.name }));
    remove.addEventListener("click", () => {
      J.tray = J.tray.filter((f) => f !== entry);
      renderTray();
    });
    chip.appendChild(remove);
    tray.appendChild(chip);
  }
  tray.hidden = !J.tray.length || $("composer").hidden;
}

function wireFiles() {
  const input = $("file-input");
  $("attach").addEventListener("click", () => input.click());
  input.addEventListener("change", () => {
    addFiles(Array.from(input.files || []));
    input.value = "";
  });
  $("input").addEventListener("paste", (event) => {
    const files = filesFrom(event.clipboardData);
    if (files.length) {
      event.preventDefault();
      addFiles(files);
    }
  });
  const chat = $("chat");
  chat.addEventListener("dragover", (event) => {
    if ($("composer").hidden) return;
    event.preventDefault();
    chat.classList.add("dragging");
  });
  chat.addEventListener("dragleave", (event) => {
    if (event.target === chat || !chat.contains(event.relatedTarget)) chat.classList.remove("dragging");
  });
  chat.addEventListener("drop", (event) => {
    chat.classList.remove("dragging");
    if ($("composer").hidden) return;
    event.preventDefault();
    addFiles(filesFrom(event.dataTransfer));
  });
}

// --- the menu: transcripts, the email switch ---------------------------------------------------------------

function conversationId() {
  return C.S.conv ? C.S.conv.id : null;
}

export async function downloadTranscript(format) {
  const id = conversationId();
  if (!id || !J.uploadToken) return;
  const url = "/files/widget/" + C.cfg.publicId + "/transcript/" + id + "/?format=" + format;
  const answer = await fetch(url, { headers: { Authorization: "Bearer " + J.uploadToken } });
  if (!answer.ok) {
    setMenuStatus(C.T.transcript_failed);
    return;
  }
  const blob = await answer.blob();
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
  link.download = "chat-transcript-" + new Date().toISOString().slice(0, 10) + "." + format;
  document.body.appendChild(link);
  link.click();
  setTimeout(() => {
    URL.revokeObjectURL(link.href);
    link.remove();
  }, 1000);
}

function setMenuStatus(text) {
  $("menu-status").textContent = text || "";
  $("menu-status").hidden = !text;
}

function renderMenu() {
  const has = Boolean(conversationId());
  $("menu-button").hidden = !has && !J.emailAvailable;
  $("menu-txt").disabled = !has;
  $("menu-html").disabled = !has;
  $("menu-email").hidden = !J.emailKnown;
  $("menu-email").disabled = !has;
  $("menu-notify-row").hidden = !J.emailAvailable;
  $("menu-notify").checked = J.emailOn;
}

function closeMenu() {
  $("menu").hidden = true;
  $("menu-button").setAttribute("aria-expanded", "false");
}

function wireMenu() {
  const button = $("menu-button");
  button.addEventListener("click", () => {
    const open = $("menu").hidden;
    $("menu").hidden = !open;
    button.setAttribute("aria-expanded", String(open));
    setMenuStatus("");
    if (open) $("menu-txt").focus();
  });
  $("menu").addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      event.stopPropagation();
      closeMenu();
      button.focus();
    }
  });
  $("menu-txt").addEventListener("click", () => downloadTranscript("txt"));
  $("menu-html").addEventListener("click", () => downloadTranscript("html"));
  $("menu-email").addEventListener("click", async () => {
    try {
      const answer = await C.client.request({ type: "email_transcript", conversation_id: conversationId() });
      setMenuStatus(fmt(C.T.transcript_sent, { email: answer.email }));
    } catch (error) {
      setMenuStatus((error && error.message) || C.T.transcript_failed);
    }
  });
  $("menu-notify").addEventListener("change", async (event) => {
    const enabled = event.target.checked;
    try {
      await C.client.request({ type: "email_notifications", enabled });
      J.emailOn = enabled;
      setMenuStatus(enabled ? C.T.emails_on : C.T.emails_off);
    } catch (error) {
      event.target.checked = !enabled;
    }
  });
}
