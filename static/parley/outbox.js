/* Messages the user wrote that the server has not confirmed yet, keyed by their `client_id`.
 *
 * An item goes out once per socket (`due(socketNo)` lists those not yet sent on this one), so after a
 * reconnect everything unconfirmed is sent again; the server's de-duplication by client_id makes the
 * resend harmless. The server's ack, or the message coming back in a sync/history/welcome, confirms
 * it. A refused item stays, marked failed, until the user retries or discards it. */

import { newClientId } from "./ids.js";

export class Outbox {
  constructor(items = [], { onChange = null, makeId = newClientId } = {}) {
    this.entries = new Map();
    this.onChange = onChange;
    this.makeId = makeId;
    for (const item of items) {
      if (item && typeof item.client_id === "string" && typeof item.text === "string") {
        this.entries.set(item.client_id, { ...item, failed: item.failed || null, sentOn: null });
      }
    }
  }

  get size() {
    return this.entries.size;
  }

  items() {
    return Array.from(this.entries.values());
  }

  has(clientId) {
    return this.entries.has(clientId);
  }

  get(clientId) {
    return this.entries.get(clientId) || null;
  }

  /** Add a new item ({text, …any page fields}); returns it with its client_id. */
  add(fields) {
    const item = { ...fields, client_id: fields.client_id || this.makeId(), failed: null, sentOn: null };
    this.entries.set(item.client_id, item);
    this.changed();
    return item;
  }

  /** The items to send on socket `socketNo`: not failed, not yet sent on it. */
  due(socketNo) {
    return this.items().filter((item) => !item.failed && item.sentOn !== socketNo);
  }

  markSent(clientId, socketNo) {
    const item = this.entries.get(clientId);
    if (item) item.sentOn = socketNo;
  }

  /** The server stored it: forget it. Returns whether it was here. */
  confirm(clientId) {
    if (!clientId || !this.entries.has(clientId)) return false;
    this.entries.delete(clientId);
    this.changed();
    return true;
  }

  drop(clientId) {
    return this.confirm(clientId);
  }

  fail(clientId, error) {
    const item = this.entries.get(clientId);
    if (!item) return null;
    item.failed = error || true;
    item.sentOn = null;
    this.changed();
    return item;
  }

  /** Clear a failure so the item is due again. */
  retry(clientId) {
    const item = this.entries.get(clientId);
    if (!item) return null;
    item.failed = null;
    item.sentOn = null;
    this.changed();
    return item;
  }

  clear() {
    if (!this.entries.size) return;
    this.entries.clear();
    this.changed();
  }

  /** What to keep in storage: the fields the user wrote and the failure, not the socket bookkeeping. */
  toJSON() {
    return this.items().map(({ sentOn, ...rest }) => rest);
  }

  changed() {
    if (this.onChange) this.onChange(this);
  }
}
