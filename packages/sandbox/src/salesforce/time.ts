/** Salesforce's datetime format in JSON: `2024-01-02T03:04:05.000+0000` (always UTC here). */
export function formatDateTime(d: Date | number): string {
  return new Date(d).toISOString().replace("Z", "+0000");
}

/** `YYYY-MM-DD` of a UTC instant. */
export function formatDate(d: Date | number): string {
  return new Date(d).toISOString().slice(0, 10);
}

const DATETIME_RE =
  /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

/** Parses an ISO-8601 date or datetime (offset optional, `+0000` and `+00:00` both accepted) to epoch ms. */
export function parseDateTime(raw: string): number | undefined {
  const m = DATETIME_RE.exec(raw.trim());
  if (!m) return undefined;
  const [, y, mo, d, h = "00", mi = "00", s = "00", frac = "", zone = "Z"] = m;
  const ms = frac ? Math.round(Number(`0${frac}`) * 1000) : 0;
  const base = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s), ms);
  if (Number.isNaN(base)) return undefined;
  const check = new Date(base);
  if (check.getUTCMonth() !== Number(mo) - 1 || check.getUTCDate() !== Number(d)) return undefined;
  if (zone === "Z") return base;
  const sign = zone.startsWith("-") ? -1 : 1;
  const digits = zone.slice(1).replace(":", "");
  const offsetMin = Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4));
  return base - sign * offsetMin * 60_000;
}

/** Whether `raw` is a real calendar date `YYYY-MM-DD`. */
export function isDate(raw: string): boolean {
  return /^\d{4}-\d{2}-\d{2}$/.test(raw) && parseDateTime(raw) !== undefined;
}
