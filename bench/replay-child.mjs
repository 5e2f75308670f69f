/**
 * Child process of the raw replay: repeats a recorded backfill's requests with plain `fetch`
 * (lib/record-replay.mjs) against a sandbox that lives in the parent process, as the engine's child
 * did, and prints replay()'s result as one JSON line (its wall time excludes start-up) with `cpuMs`,
 * this process's CPU time during the replay (what the client side alone costs).
 * Input: env COSELL_BENCH_CHILD = JSON { file }, a JSON file { exchanges, origins, substitutions }:
 * the recording, port → origin of the replaying sandbox, and the old → new sign-in values.
 */
import { readFileSync } from "node:fs";
import { replay } from "./lib/record-replay.mjs";

const input = JSON.parse(process.env.COSELL_BENCH_CHILD ?? "{}");
const { exchanges, origins, substitutions } = JSON.parse(readFileSync(input.file, "utf8"));
// JSON has no Infinity: an exchange the recording saw no end of comes back with `end: null`.
for (const e of exchanges) e.end ??= Number.POSITIVE_INFINITY;
const cpu0 = process.cpuUsage();
const result = await replay(exchanges, (port) => origins[port], { substitutions });
const cpu = process.cpuUsage(cpu0);
process.stdout.write(`${JSON.stringify({ ...result, cpuMs: (cpu.user + cpu.system) / 1000 })}\n`);
