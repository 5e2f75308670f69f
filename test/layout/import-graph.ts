import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import ts from "typescript";

/**
 * The relative-import graph of one source folder, read with TypeScript's own import scanner (so
 * `import type`, re-exports and dynamic `import()` all count), and the import circles in it.
 */

/** Every `.ts` file under `dir`, as absolute paths. */
function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...sourceFiles(p));
    else if (p.endsWith(".ts") && !p.endsWith(".d.ts")) out.push(p);
  }
  return out;
}

/** Resolves a relative specifier (`./x.js`, `../y/index.js`, `./z`) to a `.ts` file, if any. */
function resolveRelative(from: string, spec: string): string | undefined {
  if (!spec.startsWith(".")) return undefined;
  const base = resolve(dirname(from), spec);
  const candidates = [
    base.replace(/\.(m?js)$/, ".ts"),
    base.replace(/\.(m?js)$/, ".mts"),
    base,
    `${base}.ts`,
    join(base, "index.ts"),
  ];
  return candidates.find((c) => c.endsWith("ts") && existsSync(c) && statSync(c).isFile());
}

/** file → the files it imports (relative imports inside `dir` only), paths relative to `dir`. */
export function importGraph(dir: string): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of sourceFiles(dir)) {
    const info = ts.preProcessFile(readFileSync(file, "utf8"), true, true);
    const targets = info.importedFiles
      .map((f) => resolveRelative(file, f.fileName))
      .filter((t): t is string => t !== undefined && !relative(dir, t).startsWith(".."))
      .map((t) => relative(dir, t));
    graph.set(relative(dir, file), [...new Set(targets)]);
  }
  return graph;
}

/**
 * The import circles of `graph`: its strongly connected components with more than one file (or a
 * file importing itself), each sorted, found with Tarjan's algorithm.
 */
export function importCircles(graph: Map<string, string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const circles: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next);
    next++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || (graph.get(v) ?? []).includes(v)) circles.push(component.sort());
    }
  };
  for (const v of [...graph.keys()].sort()) if (!index.has(v)) visit(v);
  return circles;
}
