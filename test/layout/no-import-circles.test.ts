import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { importCircles, importGraph } from "./import-graph.js";

const src = (pkg: string) => fileURLToPath(new URL(`../../packages/${pkg}/src`, import.meta.url));

describe("imports inside a package run one way", () => {
  it.each(["cli", "core", "salesforce", "dynamics", "sandbox", "postgres"])(
    "packages/%s/src has no import circle",
    (pkg) => {
      const graph = importGraph(src(pkg));
      expect(graph.size).toBeGreaterThan(5);
      expect(importCircles(graph)).toEqual([]);
    },
  );

  it("finds a circle when there is one", () => {
    const graph = new Map([
      ["program.ts", ["commands/a.ts", "context.ts"]],
      ["commands/a.ts", ["program.ts", "context.ts"]],
      ["context.ts", []],
      ["self.ts", ["self.ts"]],
    ]);
    expect(importCircles(graph)).toEqual([["commands/a.ts", "program.ts"], ["self.ts"]]);
  });

  it("command modules reach the shared plumbing, not the program", () => {
    const graph = importGraph(src("cli"));
    for (const [file, targets] of graph)
      if (file.startsWith("commands/")) expect(targets, file).not.toContain("program.ts");
  });
});
