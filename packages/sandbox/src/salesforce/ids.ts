/**
 * Salesforce record ids: 15 case-sensitive characters (3-char key prefix + body) plus a 3-char
 * case-insensitive checksum suffix that makes the 18-char form safe to compare case-insensitively.
 */

const SUFFIX_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345";
// Digits < upper < lower in ASCII, so ids minted from a counter sort in creation order.
const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
/** Fake pod / instance characters every sandbox id carries after its key prefix. */
const POD = "8d";

/** The checksum suffix Salesforce appends to a 15-char id (one char per 5-char chunk). */
export function checksumSuffix(id15: string): string {
  let out = "";
  for (let chunk = 0; chunk < 3; chunk++) {
    let bits = 0;
    for (let i = 0; i < 5; i++) {
      const c = id15.charCodeAt(chunk * 5 + i);
      if (c >= 65 && c <= 90) bits |= 1 << i;
    }
    out += SUFFIX_ALPHABET[bits];
  }
  return out;
}

/** Canonical 18-char id for a 15- or 18-char id, or `undefined` when `raw` is not shaped like one. */
export function toId18(raw: string): string | undefined {
  if (!/^[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?$/.test(raw)) return undefined;
  const id15 = raw.slice(0, 15);
  return id15 + checksumSuffix(id15);
}

/** The 3-char key prefix that tells which object an id belongs to. */
export function keyPrefixOf(id: string): string {
  return id.slice(0, 3);
}

function base62(n: number, width: number): string {
  let s = "";
  let v = n;
  do {
    s = BASE62[v % 62] + s;
    v = Math.floor(v / 62);
  } while (v > 0);
  return s.padStart(width, "0");
}

/** Builds an 18-char id from a key prefix and a sequence number (deterministic). */
export function makeId(prefix: string, seq: number): string {
  const id15 = `${prefix}${POD}${base62(seq, 15 - prefix.length - POD.length)}`;
  return id15 + checksumSuffix(id15);
}

/** Mints ids per key prefix from counters that can be saved and restored with the org state. */
export class IdGenerator {
  private counters: Record<string, number>;

  constructor(counters: Record<string, number> = {}) {
    this.counters = { ...counters };
  }

  next(prefix: string): string {
    const n = (this.counters[prefix] ?? 0) + 1;
    this.counters[prefix] = n;
    return makeId(prefix, n);
  }

  /** The id `next(prefix)` would return, without using it. */
  peek(prefix: string): string {
    return makeId(prefix, (this.counters[prefix] ?? 0) + 1);
  }

  snapshot(): Record<string, number> {
    return { ...this.counters };
  }
}
