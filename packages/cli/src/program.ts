import { createRequire } from "node:module";
import { Command, CommanderError, Option } from "commander";
import type { ExitBox, RegisterCommand } from "./command-action.js";
import { registerBackfill } from "./commands/backfill.js";
import { registerDeals } from "./commands/deals.js";
import { registerDemo } from "./commands/demo.js";
import { registerDoctor } from "./commands/doctor.js";
import { registerInit } from "./commands/init.js";
import { registerLifecycle } from "./commands/lifecycle.js";
import { registerLogin } from "./commands/login.js";
import { registerMigrate } from "./commands/migrate.js";
import { registerPlan } from "./commands/plan.js";
import { registerRun } from "./commands/run.js";
import { registerServe } from "./commands/serve.js";
import { registerSetup } from "./commands/setup.js";
import { registerSolutions } from "./commands/solutions.js";
import { registerStatus } from "./commands/status.js";
import { registerSync } from "./commands/sync.js";
import { registerTenants } from "./commands/tenants.js";
import { registerWorker } from "./commands/worker.js";
import { DEFAULT_CONFIG_FILE } from "./config.js";
import { CommandContext, EXIT } from "./context.js";
import { closest } from "./did-you-mean.js";
import type { CliIo } from "./io.js";

/** The package's version: `../package.json` from both `src/` (tests) and `dist/` (the built bin). */
const VERSION = (createRequire(import.meta.url)("../package.json") as { version: string }).version;

/**
 * Words people type for a command that has another name here (other tools' names, older docs):
 * answered with "did you mean …" rather than only "unknown command".
 */
const COMMAND_SYNONYMS: Readonly<Record<string, string>> = {
  verify: "doctor",
  check: "doctor",
  install: "setup",
  configure: "init",
  start: "run",
  daemon: "serve",
  list: "deals",
  log: "status",
  logs: "status",
  signin: "login",
  "sign-in": "login",
  auth: "login",
};

/** Long-running commands whose log lines are what a person watches (the rest print a summary). */
const LOG_IS_OUTPUT = new Set(["run", "serve", "worker", "login"]);

/** The `cosell` program, writing through `io`. */
export function buildProgram(io: CliIo, box: ExitBox): { program: Command; ctx: CommandContext } {
  const ctx = new CommandContext(io);
  const program = new Command("cosell")
    .description("Keep Salesforce or Dynamics 365 in step with Microsoft Partner Center co-sell referrals.")
    .version(VERSION, "-V, --version", "print the cosell version")
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
      ctx.summaryOnTerminal = !LOG_IS_OUTPUT.has(actionCommand.name());
    });
  const commands: RegisterCommand[] = [
    registerInit,
    registerSetup,
    registerSolutions,
    registerLogin,
    registerDoctor,
    registerPlan,
    registerSync,
    registerRun,
    registerServe,
    registerBackfill,
    registerStatus,
    registerDeals,
    registerLifecycle,
    registerDemo,
    registerMigrate,
    registerTenants,
    registerWorker,
  ];
  for (const register of commands) register(program, ctx, box);
  program.on("command:*", (operands: string[]) => {
    const name = operands[0] ?? "";
    const hint =
      COMMAND_SYNONYMS[name.toLowerCase()] ??
      closest(
        name,
        program.commands.map((c) => c.name()),
      );
    program.error(`error: unknown command '${name}'${hint ? ` (did you mean ${hint}?)` : ""}`, {
      code: "commander.unknownCommand",
    });
  });
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
