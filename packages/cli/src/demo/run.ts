import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join, resolve } from "node:path";
import type { Logger } from "pino";
import { CRM_KINDS, CRM_MODULES, type CrmKind } from "../crm-modules.js";
import { type AnySandbox, DEMO_CRMS } from "./crms.js";
import type { DemoReport } from "./report.js";
import { runScenario } from "./scenario.js";

/** Options of {@link runDemo}. */
export interface DemoOptions {
  logger: Logger;
  /** Which CRMs (default both). */
  crms?: readonly CrmKind[];
  /** Leave the sandboxes running; returns them so the caller can stop them. */
  keep?: boolean;
  /** Told every secret the sandboxes issue, as soon as they do (for log masking). */
  onSecrets?(values: string[]): void;
}

/**
 * How to run `cosell` as printed: `cosell` is on PATH only after `pnpm link`/a global install, so the
 * demo prints this checkout's bin by its absolute path (which works from any directory).
 */
function cosellCommand(): string {
  const bin = process.argv[1] ? resolve(process.argv[1]) : undefined;
  return bin && /cosell|bin\.js$/.test(basename(bin)) ? `node ${bin}` : "cosell";
}

/** Runs the scripted demo for each CRM, side by side, each on its own sandbox. */
export async function runDemo(
  options: DemoOptions,
): Promise<{ report: DemoReport; sandboxes: AnySandbox[] }> {
  const started = performance.now();
  const keepDir = options.keep ? mkdtempSync(join(tmpdir(), "cosell-demo-")) : undefined;
  const kinds = options.crms ?? CRM_KINDS;
  const results = await Promise.all(
    kinds.map((k) =>
      runScenario(DEMO_CRMS[k], CRM_MODULES[k], {
        logger: options.logger,
        keepDir,
        onSecrets: (v) => options.onSecrets?.(v),
      }),
    ),
  );
  const crms = results.map((r) => r.report);
  const report: DemoReport = {
    ok: crms.some((c) => c.ran) && !crms.some((c) => c.failed),
    seconds: (performance.now() - started) / 1000,
    crms,
  };
  const sandboxes = results.flatMap((r) => (r.sandbox ? [r.sandbox] : []));
  if (options.keep) report.cosellCommand = cosellCommand();
  if (options.keep)
    report.kept = results.flatMap((r) =>
      r.sandbox && r.credentialsFile && r.configFile
        ? [
            {
              crm: r.report.title,
              urls: { ...r.sandbox.urls },
              credentialsFile: r.credentialsFile,
              configFile: r.configFile,
              ...(r.waiting ? { waiting: r.waiting } : {}),
            },
          ]
        : [],
    );
  return { report, sandboxes };
}
