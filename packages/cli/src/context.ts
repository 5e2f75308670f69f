import { CoSellError, errorMessage } from "@cosell/core";
import type { Logger } from "pino";
import { DEFAULT_CONFIG_FILE, type LoadedConfig, loadCosellConfig } from "./config.js";
import type { CliIo } from "./io.js";
import { createLogger, maskSecrets } from "./logger.js";
import { TerminalLines } from "./terminal-lines.js";

/** Exit codes (docs/cli.md). */
export const EXIT = { ok: 0, error: 1, planWouldWrite: 2 } as const;

/** Shared by every command of one `runCli` call: output, config, logger. */
export class CommandContext {
  /** `--json`: machine output on stdout. */
  json = false;
  /** `--config`. */
  configPath = DEFAULT_CONFIG_FILE;
  /** `--log-level`. */
  logLevel: string | undefined;
  /**
   * The command prints its own result (sync, plan, setup…), unlike `run`/`serve`, whose log is their
   * output: on a terminal, its log starts at `warn` unless a level is asked for.
   */
  summaryOnTerminal = false;
  private lines: TerminalLines | undefined;
  private readonly secretValues = new Set<string>();
  private log: Logger | undefined;
  private loaded: LoadedConfig | undefined;

  constructor(readonly io: CliIo) {}

  /** Values masked wherever they appear in logs and printed errors. */
  addSecrets(values: Iterable<string>): void {
    for (const v of values) if (v) this.secretValues.add(v);
  }

  /** Every secret known so far, including values the config's adapters learn later (rotated tokens). */
  secrets(): string[] {
    return [...this.secretValues, ...(this.loaded?.secrets ?? [])];
  }

  /** pino to stderr: JSON, or pretty when stderr is a terminal. Secrets masked. */
  logger(): Logger {
    const pretty = this.io.stderr.isTTY === true && !this.json;
    this.log ??= createLogger({
      destination: this.io.stderr,
      pretty,
      lines: pretty ? this.terminalLines() : undefined,
      secrets: () => this.secrets(),
      level:
        this.logLevel ??
        this.io.env.COSELL_LOG_LEVEL ??
        this.loaded?.config.log.level ??
        // A one-shot command on a terminal prints its own summary: info lines would repeat it.
        (pretty && this.summaryOnTerminal ? "warn" : "info"),
    });
    return this.log;
  }

  /** The terminal's stderr writer, shared by pretty log lines and progress bars. */
  terminalLines(): TerminalLines {
    this.lines ??= new TerminalLines(this.io.stderr);
    return this.lines;
  }

  /** The config file (read once). */
  config(): LoadedConfig {
    if (!this.loaded) {
      this.loaded = loadCosellConfig(this.configPath, { env: this.io.env, cwd: this.io.cwd });
      this.addSecrets(this.loaded.secrets);
      for (const w of this.loaded.warnings) this.logger().warn({ code: "SECRET_FILE_READABLE" }, w);
    }
    return this.loaded;
  }

  /** Prints human text (not with `--json`). */
  print(text: string): void {
    if (!this.json) this.io.stdout.write(text.endsWith("\n") ? text : `${text}\n`);
  }

  /** Prints the machine result (only with `--json`). */
  printJson(value: unknown): void {
    if (this.json) this.io.stdout.write(`${maskSecrets(JSON.stringify(value, null, 2), this.secrets())}\n`);
  }

  /** Human text or JSON, whichever was asked for. */
  output(value: unknown, text: () => string): void {
    if (this.json) this.printJson(value);
    else this.print(text());
  }

  /** Reports a failure on stderr (and as `{ error }` on stdout with `--json`); returns exit code 1. */
  fail(e: unknown): number {
    const err =
      e instanceof CoSellError
        ? { code: e.code, message: e.message, details: e.details }
        : { code: "UNEXPECTED", message: errorMessage(e) };
    const message = maskSecrets(err.message, this.secrets());
    if (this.json) this.printJson({ ok: false, error: { ...err, message } });
    this.io.stderr.write(`cosell: ${err.code}: ${message}\n`);
    return EXIT.error;
  }
}
