import { Command, CommanderError, Option } from "commander";
import { registerBackfill } from "./commands/backfill.js";
import { registerDeals } from "./commands/deals.js";
import { registerDemo } from "./commands/demo.js";
import { registerDoctor } from "./commands/doctor.js";
import { registerInit } from "./commands/init.js";
import { registerLifecycle } from "./commands/lifecycle.js";
import { registerPlan } from "./commands/plan.js";
import { registerRun } from "./commands/run.js";
import { registerSetup } from "./commands/setup.js";
import { registerStatus } from "./commands/status.js";
import { registerSync } from "./commands/sync.js";
import { DEFAULT_CONFIG_FILE } from "./config.js";
import { CommandContext, EXIT } from "./context.js";
import type { CliIo } from "./io.js";

/** Holds the exit code an action decided on. */
export interface ExitBox {
  code: number;
}

/** Wraps an action: runs it, turns a returned number into the exit code and errors into exit 1. */
export function action<A extends unknown[]>(
  ctx: CommandContext,
  box: ExitBox,
  fn: (...args: A) => Promise<number | undefined> | number | undefined,
): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      box.code = (await fn(...args)) ?? EXIT.ok;
    } catch (e) {
      box.code = ctx.fail(e);
    }
  };
}

/** The `cosell` program, writing through `io`. */
export function buildProgram(io: CliIo, box: ExitBox): { program: Command; ctx: CommandContext } {
  const ctx = new CommandContext(io);
  const program = new Command("cosell")
    .description("Keep Salesforce or Dynamics 365 in step with Microsoft Partner Center co-sell referrals.")
    .option("-c, --config <file>", "config file (YAML or JSON)", DEFAULT_CONFIG_FILE)
    .option("--json", "machine-readable output on stdout", false)
    .addOption(
      new Option("--log-level <level>", "log level").choices([
        "fatal",
        "error",
        "warn",
        "info",
        "debug",
        "trace",
      ]),
    )
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
    })
    .hook("preAction", (_root, actionCommand) => {
      const o = actionCommand.optsWithGlobals() as { config: string; json: boolean; logLevel?: string };
      ctx.configPath = o.config;
      ctx.json = o.json;
      ctx.logLevel = o.logLevel;
    });
  for (const register of [
    registerInit,
    registerSetup,
    registerDoctor,
    registerPlan,
    registerSync,
    registerRun,
    registerBackfill,
    registerStatus,
    registerDeals,
    registerLifecycle,
    registerDemo,
  ])
    register(program, ctx, box);
  // Subcommands inherit the output settings and exit override.
  for (const c of program.commands) {
    c.exitOverride().configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
    });
    for (const sub of c.commands)
      sub.exitOverride().configureOutput({
        writeOut: (s) => io.stdout.write(s),
        writeErr: (s) => io.stderr.write(s),
      });
  }
  return { program, ctx };
}

/**
 * Runs `cosell` with `argv` (without the node and script entries) and returns the exit code:
 * 0 ok, 1 error, 2 a plan that would write.
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const box: ExitBox = { code: EXIT.ok };
  const { program } = buildProgram(io, box);
  try {
    await program.parseAsync([...argv], { from: "user" });
  } catch (e) {
    if (e instanceof CommanderError) {
      if (
        e.code === "commander.helpDisplayed" ||
        e.code === "commander.version" ||
        e.code === "commander.help"
      )
        return EXIT.ok;
      return EXIT.error;
    }
    throw e;
  }
  return box.code;
}
