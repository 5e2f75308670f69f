#!/usr/bin/env node
import { parseArgs } from "node:util";
import { SandboxError } from "./control/errors.js";
import { startSandbox } from "./sandbox.js";

const USAGE = `Usage: cosell-sandbox [--port <base>] [--snapshot <file>] [--seed <n>] [--freeze-clock]

Starts local emulators of Entra ID and Partner Center plus a control API on 127.0.0.1,
prints their URLs and test credentials, and runs until Ctrl+C.

  --port <base>      Entra ID on <base>, control API on <base>+1, Partner Center on <base>+2
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
  const pc = sandbox.credentials.partnerCenter;
  console.log(`cosell sandbox running (sandbox time ${sandbox.clock.now().toISOString()})

  Entra ID        ${sandbox.urls.entra}
  Partner Center  ${sandbox.urls.partnerCenter}
  Control API     ${sandbox.urls.control}   (GET / lists the routes)

Partner Center test credentials (sandbox only, not real secrets):
  tenantId        ${pc.tenantId}
  clientId        ${pc.clientId}
  clientSecret    ${pc.clientSecret}
  authorityHost   ${pc.authorityHost}
  tokenEndpoint   ${pc.tokenEndpoint}
  scope           ${pc.scope}
  apiBaseUrl      ${pc.apiBaseUrl}
  certificate     thumbprintSha256 ${pc.certificate.thumbprintSha256}${values.snapshot ? ` (private key in ${values.snapshot})` : ""}
${values.snapshot ? `\nState is saved to ${values.snapshot} on exit.` : ""}
Press Ctrl+C to stop.`);

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
