import { isDeepStrictEqual } from "node:util";

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object";

/**
 * Dotted paths where `a` and `b` differ: the deepest differing leaf, or the key itself when one side
 * lacks it (so an added subtree counts as one path). Sorted, for stable comparisons.
 */
export function diffPaths(a: unknown, b: unknown, path = ""): string[] {
  if (isObject(a) && isObject(b) && Array.isArray(a) === Array.isArray(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    return [...keys]
      .flatMap((k) => {
        const p = path ? `${path}.${k}` : k;
        return k in a && k in b ? diffPaths(a[k], b[k], p) : [p];
      })
      .sort();
  }
  return isDeepStrictEqual(a, b) ? [] : [path];
}
