/* Ids the client makes up itself: the `client_id` of a message (PROTOCOL.md: a resend with the same
 * id is harmless) and the `req` of a request. */

export function newClientId(cryptoImpl = globalThis.crypto) {
  if (cryptoImpl && typeof cryptoImpl.randomUUID === "function") return cryptoImpl.randomUUID();
  if (cryptoImpl && typeof cryptoImpl.getRandomValues === "function") {
    const bytes = new Uint8Array(16);
    cryptoImpl.getRandomValues(bytes);
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }
  return "c" + Date.now().toString(36) + Math.random().toString(36).slice(2, 10);
}

/** A counter of request ids with a prefix: "w1", "w2", … */
export function requestIds(prefix) {
  let counter = 0;
  return () => {
    counter += 1;
    return prefix + counter;
  };
}
