/* One socket to Parley (PROTOCOL.md), for the widget and the workspace alike.
 *
 * - connects, and reconnects after a close with a growing, jittered delay (backoff.js);
 * - optional `prepare()` before each socket (the widget gets a fresh sign-in token there) and
 *   `hello()`, the first frame to send once it is open;
 * - it is `ready` from the server's `welcome` until the close: `send()` refuses before;
 * - `request(frame)` adds a `req` and resolves with the answer echoing it (rejects on `error`, and
 *   with {code: "unavailable"} when the socket closes first);
 * - every other frame goes to the handler registered for its type with `on(type, fn)`;
 * - `syncAll()` and `history()` page through a conversation's messages on sockets that answer `req`.
 */

import { backoffDelay } from "./backoff.js";
import { requestIds } from "./ids.js";

export class Client {
  constructor({
    url,
    hello = null,
    prepare = null,
    onClose = null,
    onReady = null,
    readyOn = "welcome",
    reqPrefix = "r",
    offlineMessage = "Not connected",
    backoff = {},
    WebSocketImpl = globalThis.WebSocket,
    timers = globalThis,
    random = Math.random,
  }) {
    this.url = url;
    this.hello = hello;
    this.prepare = prepare;
    this.onClose = onClose;
    this.onReady = onReady;
    this.readyOn = readyOn;
    this.offlineMessage = offlineMessage;
    this.backoff = backoff;
    this.WebSocketImpl = WebSocketImpl;
    this.timers = timers;
    this.random = random;
    this.nextReq = requestIds(reqPrefix);
    this.handlers = new Map();
    this.waiters = new Map();
    this.socket = null;
    this.socketNo = 0;
    this.ready = false;
    this.everReady = false;
    this.attempt = 0;
    this.retryTimer = null;
    this.preparing = false;
    this.stopped = false;
  }

  /** Register the handler of one frame type (several may listen to the same type). */
  on(type, handler) {
    const list = this.handlers.get(type) || [];
    list.push(handler);
    this.handlers.set(type, list);
    return this;
  }

  start() {
    this.stopped = false;
    this.connect();
  }

  /** Reconnect now if the socket is down and no sign-in is under way (the network came back, …). */
  wake() {
    if (!this.socket && !this.preparing && !this.stopped) this.connect();
  }

  connect() {
    this.timers.clearTimeout(this.retryTimer);
    this.retryTimer = null;
    if (this.socket || this.stopped) return;
    if (!this.prepare) {
      this.open();
      return;
    }
    this.preparing = true;
    let ready;
    try {
      ready = Promise.resolve(this.prepare());
    } catch (error) {
      ready = Promise.reject(error);
    }
    ready.then(
      () => {
        this.preparing = false;
        this.open();
      },
      (error) => {
        this.preparing = false;
        this.scheduleReconnect(error && typeof error.retryIn === "number" ? error.retryIn : undefined);
      }
    );
  }

  open() {
    if (this.socket || this.stopped) return;
    const socket = new this.WebSocketImpl(this.url);
    const number = ++this.socketNo;
    this.socket = socket;
    this.ready = false;
    socket.onopen = () => {
      if (this.socket !== socket || !this.hello) return;
      const frame = this.hello();
      if (frame) socket.send(JSON.stringify(frame));
    };
    socket.onmessage = (event) => {
      if (this.socketNo !== number) return;
      let frame;
      try {
        frame = JSON.parse(event.data);
      } catch (e) {
        return;
      }
      if (frame && typeof frame === "object") this.receive(frame);
    };
    socket.onclose = (event) => {
      if (this.socket !== socket) return;
      this.socket = null;
      this.ready = false;
      const waiters = Array.from(this.waiters.values());
      this.waiters.clear();
      for (const waiter of waiters) waiter.reject({ code: "unavailable", message: this.offlineMessage });
      const delay = this.onClose ? this.onClose(event) : undefined;
      this.scheduleReconnect(delay);
    };
  }

  /** A frame from the server: the answer to a request, or news for the registered handlers. */
  receive(frame) {
    if (frame.req !== undefined && this.waiters.has(frame.req)) {
      const waiter = this.waiters.get(frame.req);
      this.waiters.delete(frame.req);
      if (frame.type === "error") waiter.reject(frame);
      else waiter.resolve(frame);
      return;
    }
    if (frame.type === this.readyOn) {
      this.ready = true;
      this.everReady = true;
      this.attempt = 0;
    }
    for (const handler of this.handlers.get(frame.type) || []) handler(frame);
    if (frame.type === this.readyOn && this.onReady) this.onReady(frame);
  }

  /** The delay the next reconnect would wait by default. */
  nextDelay() {
    return backoffDelay(this.attempt, this.backoff, this.random);
  }

  scheduleReconnect(delay) {
    this.timers.clearTimeout(this.retryTimer);
    if (this.stopped) return;
    const wait = delay === undefined || delay === null ? this.nextDelay() : delay;
    this.attempt += 1;
    this.retryTimer = this.timers.setTimeout(() => this.connect(), wait);
  }

  /** Send a frame if the socket is welcomed; returns whether it went out. */
  send(frame) {
    if (!this.socket || !this.ready || this.socket.readyState !== 1) return false;
    this.socket.send(JSON.stringify(frame));
    return true;
  }

  /** Send a frame with a `req`; resolves with the answer, rejects with the error frame. */
  request(frame) {
    return new Promise((resolve, reject) => {
      if (!this.ready) {
        reject({ code: "unavailable", message: this.offlineMessage });
        return;
      }
      const req = this.nextReq();
      this.waiters.set(req, { resolve, reject });
      if (!this.send({ ...frame, req })) {
        this.waiters.delete(req);
        reject({ code: "unavailable", message: this.offlineMessage });
      }
    });
  }

  /** Every message after `afterSeq`, page by page; `onPage(messages)` sees each page. */
  async syncAll(base, afterSeq, onPage) {
    let after = afterSeq;
    for (;;) {
      const answer = await this.request({ ...base, type: "sync", after_seq: after });
      const messages = answer.messages || [];
      if (onPage) onPage(messages);
      if (!answer.has_more || !messages.length) return;
      after = Math.max(after, ...messages.map((m) => m.seq));
    }
  }

  /** One page of messages before `beforeSeq`: {messages, has_more}. */
  history(base, beforeSeq, limit) {
    return this.request({ ...base, type: "history", before_seq: beforeSeq, limit });
  }

  /** Close for good (no reconnect). */
  stop() {
    this.stopped = true;
    this.timers.clearTimeout(this.retryTimer);
    if (this.socket) this.socket.close();
  }
}

/** The ws:// or wss:// URL of a socket path on this page's host. */
export function socketUrl(path, location = globalThis.location) {
  return (location.protocol === "https:" ? "wss://" : "ws://") + location.host + path;
}
