/* How long to wait before reconnecting: doubling from `base` up to `max`, with jitter so that many
 * clients cut off together do not all come back in the same instant. */

export const BACKOFF = { base: 500, max: 15000, jitter: 0.2 };

export function backoffDelay(attempt, options = {}, random = Math.random) {
  const { base, max, jitter } = { ...BACKOFF, ...options };
  const raw = Math.min(max, base * 2 ** Math.min(Math.max(0, attempt), 16));
  return Math.round(raw * (1 - jitter + random() * 2 * jitter));
}
