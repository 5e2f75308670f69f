import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../..", import.meta.url));
const manifests = [
  ...readdirSync(join(root, "packages")).map((p) => join(root, "packages", p)),
  join(root, "bench"),
]
  .map((dir) => ({ dir, file: join(dir, "package.json") }))
  .filter((m) => existsSync(m.file));

describe("a clean install can link every bin (no build has run yet)", () => {
  it.each(manifests.map((m) => [m.dir.slice(root.length), m] as const))("%s", (_name, m) => {
    const pkg = JSON.parse(readFileSync(m.file, "utf8")) as {
      bin?: Record<string, string>;
      files?: string[];
    };
    for (const [name, target] of Object.entries(pkg.bin ?? {})) {
      // pnpm links bins at install time: a target under dist/ does not exist yet on a fresh clone.
      expect(target, name).not.toMatch(/^(\.\/)?dist\//);
      const file = join(m.dir, target);
      expect(existsSync(file), `${name} → ${target}`).toBe(true);
      expect(statSync(file).mode & 0o111, `${target} is executable`).not.toBe(0);
      expect(readFileSync(file, "utf8").startsWith("#!/usr/bin/env node"), target).toBe(true);
      expect(pkg.files ?? [], "the published files include the bin").toContain(
        target.replace(/^\.\//, "").split("/")[0],
      );
    }
  });
});
