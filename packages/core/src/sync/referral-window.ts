import type { Referral } from "../partner-center/referral.js";

/**
 * Where the next Partner Center read starts, and what is known to lie after that point.
 *
 * Partner Center has no change feed, only `updatedDateTime ge …` ordered by `updatedDateTime`. A
 * change can commit a little after the time it is stamped with, so a read made at time L may miss
 * changes stamped just before L: every change stamped since `since` must be read again until a read
 * made at least `overlapMs` after it has shown it. Re-reading that window in full costs a page per
 * 100 referrals — after a burst, every idle cycle re-read the whole burst. Instead the window remembers
 * how many referrals it holds (`stamps`) and which one is last in the listing's order (`last`, with
 * its eTag). The next read skips straight to that last one (`$skip = count - 1`): when the first
 * referral served is that same referral with the same eTag, and none served after it is one the window
 * already held with another eTag, nothing was inserted or changed inside the window — one page, and
 * only what is new after it. Anything else (a late commit moved the positions, a referral in the window
 * changed, the server orders differently) reads the whole window again, as before.
 *
 * What the probe cannot see: an edit to a referral already in the window, committed late with a stamp
 * that still sorts before `last`, moves that referral without moving `last` or changing the count. It
 * is read when anything else makes the probe fail before the window settles, or when that referral
 * changes again; otherwise it is missed. Seeing it always means re-reading the window on every cycle
 * while it is younger than `overlapMs` (the cost this probe exists to avoid). Stated in the README's
 * known problems.
 *
 * The window's start moves to min(read time − overlapMs, newest stamp seen): what is older than that
 * was visible to a read already made (assuming our clock and Partner Center's agree within overlapMs,
 * as the overlap itself does), and never past a stamp Partner Center itself gave.
 */
export interface ReferralWindow {
  /** Read from here (`updatedDateTime ge since`); none: read everything. */
  since?: string;
  /** `updatedDateTime` (ms) of each referral known at or after `since`. */
  stamps: number[];
  /** The last of them in the listing's order. */
  last?: { id: string; eTag?: string | null };
  /** The newest believable `updatedDateTime` seen so far. */
  newest?: string;
}

/** Stamp for a referral whose `updatedDateTime` cannot be read: it stays in the window. */
const UNREADABLE = Number.MAX_SAFE_INTEGER;

/**
 * Reads the stored cursor. A plain timestamp (the cursor before the window existed) is read as "the
 * newest stamp seen", whose overlap is re-read in full once.
 */
export function parseReferralWindow(cursor: string | undefined, overlapMs: number): ReferralWindow {
  if (!cursor) return { stamps: [] };
  if (cursor.startsWith("{")) {
    try {
      const w = JSON.parse(cursor) as Partial<ReferralWindow>;
      if (Array.isArray(w.stamps) && w.stamps.every((s) => typeof s === "number"))
        return {
          since: typeof w.since === "string" ? w.since : undefined,
          stamps: w.stamps,
          last: w.last && typeof w.last.id === "string" ? w.last : undefined,
          newest: typeof w.newest === "string" ? w.newest : undefined,
        };
    } catch {
      // fall through: an unreadable cursor reads everything again, which is always safe
    }
    return { stamps: [] };
  }
  const ms = Date.parse(cursor);
  if (!Number.isFinite(ms)) return { stamps: [] };
  return { since: new Date(ms - overlapMs).toISOString(), stamps: [], newest: cursor };
}

/** The stored form of {@link ReferralWindow}. */
export function formatReferralWindow(w: ReferralWindow): string {
  return JSON.stringify(w);
}

/** How the next read should go: a probe of the window's end, or a read of the whole window. */
export function probeOf(w: ReferralWindow): { since?: Date; skip?: number } {
  const since = w.since ? new Date(w.since) : undefined;
  if (!w.last || !w.stamps.length) return { since };
  return { since, skip: w.stamps.length - 1 };
}

/**
 * Whether a probe's first page confirms the window: it starts with the window's last referral,
 * unchanged, and holds no referral the window held before with another eTag (`heldBefore`).
 */
export function probeConfirms(
  w: ReferralWindow,
  page: readonly Referral[],
  heldBefore: (r: Referral) => boolean,
): boolean {
  const first = page[0];
  if (!first || !w.last || first.id !== w.last.id || first.eTag !== w.last.eTag) return false;
  return !page.slice(1).some(heldBefore);
}

/**
 * The window after a read made at `readAt`: `read` is what it returned after the window's known part
 * (everything, for a full read), in the listing's order. `believable` says whether a stamp may move
 * the window (one far in the future would hide every change until then).
 */
export function nextReferralWindow(
  w: ReferralWindow,
  options: {
    probed: boolean;
    read: readonly Referral[];
    readAt: Date;
    overlapMs: number;
    believable: (ms: number) => boolean;
  },
): ReferralWindow {
  // A referral changed while the listing was paged through is served again later: count it once.
  const latest = new Map<string, Referral>();
  for (const r of options.read) {
    latest.delete(r.id);
    latest.set(r.id, r);
  }
  const read = [...latest.values()];
  const stampOf = (r: Referral) => {
    const ms = Date.parse(r.updatedDateTime);
    return Number.isFinite(ms) ? ms : UNREADABLE;
  };
  let stamps = options.probed ? [...w.stamps, ...read.map(stampOf)] : read.map(stampOf);
  let newest = w.newest;
  let newestMs = newest ? Date.parse(newest) : Number.NEGATIVE_INFINITY;
  for (const r of read) {
    const ms = Date.parse(r.updatedDateTime);
    if (Number.isFinite(ms) && options.believable(ms) && ms > newestMs) {
      newestMs = ms;
      newest = r.updatedDateTime;
    }
  }
  const lastRead = read[read.length - 1];
  const last = lastRead ? { id: lastRead.id, eTag: lastRead.eTag } : options.probed ? w.last : undefined;
  // Nothing ever seen: the next read lists everything again (there is no Partner Center stamp to
  // start from, and our own clock alone is not trusted to).
  if (!newest) return { since: w.since, stamps, ...(last ? { last } : {}) };
  const sinceMs = w.since ? Date.parse(w.since) : Number.NEGATIVE_INFINITY;
  const settled = Math.min(options.readAt.getTime() - options.overlapMs, newestMs);
  const start = Math.max(sinceMs, settled);
  stamps = stamps.filter((s) => s >= start);
  return {
    since: new Date(start).toISOString(),
    stamps,
    ...(stamps.length && last ? { last } : {}),
    newest,
  };
}
