/** Small numeric helpers for the bench: medians over runs, percentiles over samples. */

/** Median of the finite numbers in `xs` (`null` when there are none). */
export function median(xs) {
  const v = xs.filter((x) => typeof x === "number" && Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const mid = Math.floor(v.length / 2);
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

/** Nearest-rank percentile `p` (0–100) of `xs` (`null` when empty). */
export function percentile(xs, p) {
  const v = [...xs].sort((a, b) => a - b);
  if (v.length === 0) return null;
  const rank = Math.min(v.length, Math.max(1, Math.ceil((p / 100) * v.length)));
  return v[rank - 1];
}

/**
 * Median of every numeric leaf across runs that share one shape: `[{a:1,b:{c:2}}, {a:3,b:{c:4}}]` →
 * `{a:2,b:{c:3}}`. Non-numeric leaves are taken from the first run.
 */
export function medianOf(runs) {
  const first = runs[0];
  if (typeof first === "number" || first === null) return median(runs);
  if (Array.isArray(first) || typeof first !== "object") return first;
  const out = {};
  for (const key of Object.keys(first)) out[key] = medianOf(runs.map((r) => r?.[key]));
  return out;
}

/** Rounds to `digits` decimals, keeping `null`. */
export function round(x, digits = 1) {
  if (x === null || x === undefined || !Number.isFinite(x)) return null;
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
