#!/usr/bin/env node
import { processIo } from "./io.js";
import { runCli } from "./program.js";

runCli(process.argv.slice(2), processIo()).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`cosell: UNEXPECTED: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  },
);
