/* The messages of one conversation the client holds, by `seq`: what welcome, open, sync, history and
 * live frames brought, with the paging marks (the first and last seq, whether older ones exist). */

export class Thread {
  constructor() {
    this.messages = new Map();
    this.minSeq = 0;
    this.maxSeq = 0;
    this.hasMore = false;
    this.loaded = false;
    this.loadingOlder = false;
  }

  get size() {
    return this.messages.size;
  }

  has(seq) {
    return this.messages.has(seq);
  }

  /** Keep one message; returns whether its seq was new. */
  add(message) {
    if (!message || typeof message.seq !== "number") return false;
    const isNew = !this.messages.has(message.seq);
    this.messages.set(message.seq, message);
    if (!this.minSeq || message.seq < this.minSeq) this.minSeq = message.seq;
    if (message.seq > this.maxSeq) this.maxSeq = message.seq;
    return isNew;
  }

  /** Keep several; returns the ones that were new. */
  addAll(messages) {
    return (messages || []).filter((message) => this.add(message));
  }

  /** The messages in seq order. */
  ordered() {
    return Array.from(this.messages.values()).sort((a, b) => a.seq - b.seq);
  }

  /** Whether a page starting at `firstSeq` leaves a hole after what we hold (then sync from maxSeq). */
  gapBefore(firstSeq) {
    return Boolean(this.maxSeq) && typeof firstSeq === "number" && firstSeq > this.maxSeq + 1;
  }

  /** The history marker: "older" while more exist, "start" when the first message is here, else "". */
  historyMark() {
    if (this.hasMore) return "older";
    if (this.minSeq === 1 || (this.loaded && this.messages.size)) return "start";
    return "";
  }

  clear() {
    this.messages = new Map();
    this.minSeq = 0;
    this.maxSeq = 0;
    this.hasMore = false;
    this.loaded = false;
    this.loadingOlder = false;
  }
}
