#!/usr/bin/env node
import { parseArgs } from "node:util";
import { SandboxError } from "./control/errors.js";
import { describeSandbox } from "./describe.js";
import { startSandbox } from "./sandbox.js";

const USAGE = `Usage: cosell-sandbox [--port <base>] [--snapshot <file>] [--seed <n>] [--freeze-clock]

Starts local emulators of Entra ID, Partner Center, Salesforce, Dataverse and Microsoft Graph
plus a control API on 127.0.0.1, prints their URLs and test credentials, and runs until Ctrl+C.

  --port <base>      Entra ID on <base>, control API on <base>+1, Partner Center on <base>+2,
                     Salesforce on <base>+3, Dataverse on <base>+4, Graph on <base>+5
                     (default: free ports chosen by the OS)
  --snapshot <file>  keep state in <file>: loaded at start if present, saved on exit
  --seed <n>         seed of the fault injector (default 1)
  --freeze-clock     only the control API moves the sandbox clock`;

async function main(): Promise<void> {
  let values: { port?: string; snapshot?: string; seed?: string; "freeze-clock"?: boolean; help?: boolean };
  try {
    ({ values } = parseArgs({
      options: {
        port: { type: "string" },
        snapshot: { type: "string" },
        seed: { type: "string" },
        "freeze-clock": { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (e) {
    console.error(`${(e as Error).message}\n\n${USAGE}`);
    process.exit(2);
  }
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const int = (name: string, v: string | undefined) => {
    if (v === undefined) return undefined;
    if (!/^\d+$/.test(v)) {
      console.error(`--${name} must be a whole number (got "${v}").\n\n${USAGE}`);
      process.exit(2);
    }
    return Number(v);
  };

  const sandbox = await startSandbox({
    basePort: int("port", values.port),
    seed: int("seed", values.seed),
    snapshotFile: values.snapshot,
    freezeClock: values["freeze-clock"],
  });
  console.log(`${describeSandbox(sandbox, { snapshotFile: values.snapshot })}\n\nPress Ctrl+C to stop.`);

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: stopping…`);
    sandbox.stop().then(
      () => process.exit(0),
      (e: unknown) => {
        console.error(`Stopping failed: ${(e as Error).message}`);
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
}

main().catch((e: unknown) => {
  console.error(e instanceof SandboxError ? `${e.code}: ${e.message}` : e);
  process.exit(1);
});
