/* JSON values in localStorage / sessionStorage under a prefix. Private browsing or a full quota only
 * means nothing persists: reads fall back, writes are dropped. */

export function storage(area, prefix) {
  const backend = () => (typeof area === "string" ? globalThis[area] : area);
  return {
    get(key, fallback) {
      try {
        const raw = backend().getItem(prefix + key);
        return raw === null ? fallback : JSON.parse(raw);
      } catch (e) {
        return fallback;
      }
    },
    set(key, value) {
      try {
        backend().setItem(prefix + key, JSON.stringify(value));
      } catch (e) {
        /* storage off: the value just does not persist */
      }
    },
    remove(key) {
      try {
        backend().removeItem(prefix + key);
      } catch (e) {
        /* storage off */
      }
    },
  };
}
