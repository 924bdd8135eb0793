/* Text and time formatting with the page's language (the server's translated strings carry
 * `%(name)s` placeholders, as Django's do). */

/** Fill `%(key)s` placeholders; a placeholder without a value stays as it is. */
export function fmt(template, values) {
  return String(template).replace(/%\((\w+)\)s/g, (whole, key) =>
    values && Object.prototype.hasOwnProperty.call(values, key) ? String(values[key]) : whole
  );
}

/** A count in words: `forms` maps Intl plural categories (one, few, many, other) to texts with
 * `%(count)s`, made by the server with ngettext; a plain string is used as it is. */
export function plural(forms, count, locale) {
  if (typeof forms === "string") return fmt(forms, { count });
  const category = new Intl.PluralRules(locale || "en").select(count);
  return fmt(forms[category] || forms.other, { count });
}

/** The browser's regional format when it speaks the page's language (en-GB: 24 h), else the page's. */
export function pageLocale(language, browserLanguage) {
  const lang = String(language || "en").toLowerCase();
  const browser = String(browserLanguage || "");
  return browser.toLowerCase().split("-")[0] === lang.split("-")[0] ? browser : lang;
}

function valid(iso) {
  if (!iso) return null;
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? null : date;
}

/** Formatters for one locale; each takes an ISO timestamp and returns "" for none. */
export function formats(locale) {
  const make = (options) => new Intl.DateTimeFormat(locale, options);
  const time = make({ hour: "2-digit", minute: "2-digit" });
  const dateTime = make({ dateStyle: "medium", timeStyle: "short" });
  const fullDay = make({ dateStyle: "full" });
  const weekday = make({ weekday: "long", day: "numeric", month: "long" });
  const stamp = make({ year: "numeric", month: "numeric", day: "numeric", hour: "numeric", minute: "numeric", second: "numeric" });
  const use = (formatter) => (iso) => {
    const date = valid(iso);
    return date ? formatter.format(date) : "";
  };
  return {
    locale,
    time: use(time),
    dateTime: use(dateTime),
    fullDay: use(fullDay),
    weekdayDay: use(weekday),
    stamp: use(stamp),
    /** The calendar day of a timestamp, to group messages by day. */
    dayKey: (iso) => {
      const date = valid(iso);
      return date ? date.toDateString() : "";
    },
  };
}

/** "just now", "5 min ago", … from the translated strings `T`. */
export function ago(iso, T, now = Date.now()) {
  if (!iso) return T.never;
  const seconds = Math.max(0, (now - Date.parse(iso)) / 1000);
  if (seconds < 60) return T.just_now;
  if (seconds < 3600) return fmt(T.minutes_ago, { n: Math.floor(seconds / 60) });
  if (seconds < 86400) return fmt(T.hours_ago, { n: Math.floor(seconds / 3600) });
  return fmt(T.days_ago, { n: Math.floor(seconds / 86400) });
}

/** Up to two initials: of the first and the last word. */
export function initials(name) {
  const parts = String(name || "?").trim().split(/\s+/).filter(Boolean);
  if (!parts.length) return "?";
  return (parts[0][0] + (parts.length > 1 ? parts[parts.length - 1][0] : "")).toUpperCase();
}

/** A stable hue (0..359) for a text, to colour avatars. */
export function hue(text) {
  let h = 0;
  for (const ch of String(text)) h = (h * 31 + ch.charCodeAt(0)) % 360;
  return h;
}
