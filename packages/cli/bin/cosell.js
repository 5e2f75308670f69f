#!/usr/bin/env node
// The committed entry point of `cosell`. The program itself is compiled into dist/ by
// `pnpm build`; a fresh clone has no dist/ yet, and pnpm links bins at install time, so the bin
// points here (a file that always exists) instead of at dist/ — no "Failed to create bin" warning.
import { existsSync } from "node:fs";

const entry = new URL("../dist/bin.js", import.meta.url);
if (existsSync(entry)) await import(entry.href);
else {
  process.stderr.write("cosell: not built yet. Run `pnpm build` in the cosell checkout first.\n");
  process.exitCode = 1;
}
