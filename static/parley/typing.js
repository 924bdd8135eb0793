/* The "typing" frames a composer sends: `active: true` when the user starts typing (again every
 * `repeatEvery` ms while they go on, if set), `active: false` after `idleAfter` ms without a key or
 * when the text is sent or the field left. `send(active)` returns whether the frame went out. */

export class TypingSender {
  constructor({ send, repeatEvery = Infinity, idleAfter = 3000, now = () => Date.now(), timers = globalThis }) {
    this.sendFrame = send;
    this.repeatEvery = repeatEvery;
    this.idleAfter = idleAfter;
    this.now = now;
    this.timers = timers;
    this.sent = false;
    this.sentAt = 0;
    this.idle = null;
  }

  get active() {
    return this.sent;
  }

  /** A key was typed; `hasText` says whether the field holds anything to announce. */
  input(hasText = true) {
    const now = this.now();
    if (hasText && (!this.sent || now - this.sentAt > this.repeatEvery)) {
      if (this.sendFrame(true) !== false) {
        this.sent = true;
        this.sentAt = now;
      }
    }
    this.timers.clearTimeout(this.idle);
    this.idle = this.timers.setTimeout(() => this.stop(), this.idleAfter);
  }

  stop() {
    this.timers.clearTimeout(this.idle);
    this.idle = null;
    if (this.sent) this.sendFrame(false);
    this.sent = false;
  }
}
