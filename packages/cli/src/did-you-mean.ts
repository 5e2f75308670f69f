import type { z } from "zod";

/**
 * "Did you mean …" for a misspelled config key or command: the closest candidate by edit distance,
 * case-insensitively, or nothing when none is close enough to be a plausible slip.
 */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  const w = word.toLowerCase();
  let best: { name: string; d: number } | undefined;
  for (const c of candidates) {
    if (c === word) continue;
    const d = distance(w, c.toLowerCase());
    if (!best || d < best.d) best = { name: c, d };
  }
  // A third of the word, at least 1 and at most 3 edits: `loginURL` → `loginUrl` (0, case only),
  // `intervl` → `interval`; `foo` suggests nothing.
  const allowed = Math.min(3, Math.max(1, Math.floor(word.length / 3)));
  return best && best.d <= allowed ? best.name : undefined;
}

/**
 * Edit distance where inserting, deleting or substituting a letter, or swapping two neighbours
 * (`sycn` → `sync`, the commonest slip), costs 1 (optimal string alignment).
 */
function distance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  return d[a.length]![b.length]!;
}

/** Zod 4's definition of a schema node: enough of it to walk objects through their wrappers. */
interface Def {
  type?: string;
  shape?: Record<string, z.ZodType>;
  innerType?: z.ZodType;
  in?: z.ZodType;
  options?: z.ZodType[];
}
const defOf = (s: z.ZodType | undefined): Def | undefined =>
  (s as unknown as { _zod?: { def?: Def } } | undefined)?._zod?.def;

/**
 * The keys a config object at `path` may hold, read from the schema (through optional, default,
 * pipe and union wrappers). Empty when the path leads nowhere the schema describes.
 */
export function keysAt(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  let nodes: z.ZodType[] = [schema];
  for (const step of [...path.map(String), undefined]) {
    const objects: Record<string, z.ZodType>[] = [];
    const seen = new Set<z.ZodType>();
    const open = (s: z.ZodType | undefined): void => {
      const d = defOf(s);
      if (!s || !d || seen.has(s)) return;
      seen.add(s);
      if (d.shape) objects.push(d.shape);
      open(d.innerType);
      open(d.in);
      for (const o of d.options ?? []) open(o);
    };
    for (const n of nodes) open(n);
    if (step === undefined) return [...new Set(objects.flatMap((o) => Object.keys(o)))];
    nodes = objects.map((o) => o[step]).filter((s): s is z.ZodType => !!s);
    if (!nodes.length) return [];
  }
  return [];
}

/** Every dotted key path the schema describes (objects only, a few levels deep). */
export function keyPaths(schema: z.ZodType, depth = 4): string[] {
  const out: string[] = [];
  const walk = (path: string[]) => {
    if (path.length >= depth) return;
    for (const k of keysAt(schema, path)) {
      const next = [...path, k];
      out.push(next.join("."));
      walk(next);
    }
  };
  walk([]);
  return out;
}

/**
 * A key that belongs in another section (`sync.intervalSecs` → `run.intervalSeconds`): the path
 * whose last name is closest to `word`, when none in its own object is.
 */
export function closestElsewhere(word: string, schema: z.ZodType): string | undefined {
  const paths = keyPaths(schema);
  const name = closest(
    word,
    paths.map((p) => p.split(".").at(-1)!),
  );
  return name ? paths.find((p) => p.split(".").at(-1) === name) : undefined;
}
