// Korean and English (issue 18): every string the console shows people comes from a message catalogue,
// src/locales/<lang>/<area>.json (one file per area of the console, the same keys in every language: a unit test,
// tests/web/test_catalogues.py, checks it). Keys are "<area>.<name>"; a value may hold {placeholders}.
// The language: ?lang= in the address, else the one chosen with the switch (remembered), else the browser's.
// Times show in the site's time zone (its site.yaml), in the language's format.

export const LANGS = ["en", "ko"] as const;
export type Lang = (typeof LANGS)[number];
export const LANG_NAMES: Record<Lang, string> = { en: "English", ko: "한국어" };
const STORE_KEY = "labfleet.lang";
const LOCALES: Record<Lang, string> = { en: "en-GB", ko: "ko-KR" };

type Catalogue = Record<string, string>;
const files = import.meta.glob<Catalogue>("./locales/*/*.json", { eager: true, import: "default" });
const catalogues: Record<Lang, Catalogue> = { en: {}, ko: {} };
for (const [path, entries] of Object.entries(files)) {
  const lang = /\/locales\/([^/]+)\//.exec(path)?.[1] as Lang | undefined;
  if (lang && lang in catalogues) Object.assign(catalogues[lang], entries);
}

function isLang(value: string | null | undefined): value is Lang {
  return !!value && (LANGS as readonly string[]).includes(value);
}

function detect(): Lang {
  const asked = new URLSearchParams(location.search).get("lang");
  if (isLang(asked)) return asked;
  let stored: string | null = null;
  try {
    stored = localStorage.getItem(STORE_KEY);
  } catch {
    /* storage refused (a private window): the browser's language */
  }
  if (isLang(stored)) return stored;
  for (const wanted of navigator.languages ?? [navigator.language]) {
    const base = wanted.toLowerCase().split("-")[0];
    if (isLang(base)) return base;
  }
  return "en";
}

let current: Lang = detect();
document.documentElement.lang = current;

export function lang(): Lang {
  return current;
}

/** The message `key` in the console's language (English when the language lacks it), {placeholders} filled. */
export function t(key: string, params: Record<string, string | number> = {}): string {
  const text = catalogues[current][key] ?? catalogues.en[key];
  if (text === undefined) {
    console.warn(`no message ${key}`);
    return key;
  }
  return text.replace(/\{(\w+)\}/g, (whole, name: string) => (name in params ? String(params[name]) : whole));
}

/** A value the API sends (a status, a mode, a priority) as people read it: its message under `prefix`, else
 * the value with spaces for underscores. */
export function term(prefix: string, value: string): string {
  const key = `${prefix}.${value}`;
  return catalogues[current][key] ?? catalogues.en[key] ?? value.replaceAll("_", " ");
}

/** Switch language: remembered, and the page drawn again in it. */
export function setLang(next: Lang): void {
  try {
    localStorage.setItem(STORE_KEY, next);
  } catch {
    /* not remembered; the address carries it */
  }
  const url = new URL(location.href);
  url.searchParams.delete("lang");
  current = next;
  if (url.href === location.href) location.reload(); // (the same address with a #view: replace would not reload)
  else location.replace(url.href);
}

/** Static text of the page: an element's `data-i18n` key becomes its text; `data-i18n-attr` ("title:key;
 * aria-label:key") sets attributes. */
export function translatePage(root: ParentNode = document): void {
  for (const el of root.querySelectorAll<HTMLElement>("[data-i18n]")) el.textContent = t(el.dataset.i18n ?? "");
  for (const el of root.querySelectorAll<HTMLElement>("[data-i18n-attr]")) {
    for (const pair of (el.dataset.i18nAttr ?? "").split(";")) {
      const [attr, key] = pair.split(":").map((s) => s.trim());
      if (attr && key) el.setAttribute(attr, t(key));
    }
  }
}

let zone: string | undefined; // the site's IANA time zone; the browser's until the site says

// the formatters of the zone and the language, made once: clock() runs for every time in every row drawn
const formatters = new Map<string, Intl.DateTimeFormat>();

export function setTimeZone(timeZone: string | undefined): void {
  try {
    new Intl.DateTimeFormat(undefined, { timeZone });
    zone = timeZone;
  } catch {
    zone = undefined;
  }
  formatters.clear();
}

export function timeZone(): string {
  return zone ?? Intl.DateTimeFormat().resolvedOptions().timeZone;
}

const TIME: Intl.DateTimeFormatOptions = { hour: "2-digit", minute: "2-digit", second: "2-digit" };
const DAY: Intl.DateTimeFormatOptions = { year: "numeric", month: "2-digit", day: "2-digit" };

/** The formatter `name` of the site's zone in `locale` (made on first use, until the zone changes). */
function formatter(name: string, locale: string, options: Intl.DateTimeFormatOptions): Intl.DateTimeFormat {
  let made = formatters.get(name);
  if (!made) {
    made = new Intl.DateTimeFormat(locale, { timeZone: zone, hourCycle: "h23", ...options });
    formatters.set(name, made);
  }
  return made;
}

/** The time of day in the site's zone: 14:03:27. */
export function timeOfDay(date: Date): string {
  return formatter("time", LOCALES[current], TIME).format(date);
}

/** The date in the site's zone, in the language's format. */
export function dayOf(date: Date): string {
  return formatter("day", LOCALES[current], DAY).format(date);
}

/** The offset of the site's zone from UTC at `date`, in milliseconds (east positive). */
function zoneOffset(date: Date): number {
  const fields = Object.fromEntries(formatter("fields", "en-US", { ...DAY, ...TIME })
    .formatToParts(date).map((p) => [p.type, Number(p.value)]));
  const wall = Date.UTC(fields.year, fields.month - 1, fields.day, fields.hour, fields.minute, fields.second);
  return wall - Math.floor(date.getTime() / 1000) * 1000;
}

/** A wall time typed in a form ("2026-12-06T14:00", a datetime-local value) read in the site's zone: the
 * instant, or null when it is not a date and time. */
export function siteWallTime(value: string): Date | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(value);
  if (!m) return null;
  const [y, mo, d, h, mi, se] = m.slice(1).map((v) => Number(v ?? 0));
  const guess = Date.UTC(y, mo - 1, d, h, mi, se);
  let instant = guess - zoneOffset(new Date(guess));
  instant = guess - zoneOffset(new Date(instant)); // (once more, across a change of the zone's offset)
  return Number.isNaN(instant) ? null : new Date(instant);
}
