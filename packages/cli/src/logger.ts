import { type Logger, type LoggerOptions, pino } from "pino";
import { prettyFactory } from "pino-pretty";
import type { TerminalLines } from "./terminal-lines.js";

/**
 * Paths redacted from every log line. pino's redaction works on known paths; values that appear
 * anywhere else (a secret inside an error message) are masked by `maskSecrets`.
 */
export const REDACT_PATHS = [
  "*.accessToken",
  "*.access_token",
  "*.refreshToken",
  "*.refresh_token",
  "*.clientSecret",
  "*.client_secret",
  "*.password",
  "*.privateKey",
  "*.privateKeyPem",
  "*.token",
  "*.authorization",
  "*.Authorization",
  "*.headers.authorization",
  "*.headers.Authorization",
  "req.headers.authorization",
  "accessToken",
  "refreshToken",
  "clientSecret",
  "password",
  "privateKey",
  "token",
  "authorization",
];

const BEARER = /\b(Bearer|Signature)\s+[A-Za-z0-9._~+/!=-]{8,}/g;

/**
 * The forms a secret takes in a log line: as it is, JSON-escaped (a JSON log line writes a PEM's line
 * breaks as `\n` and a `"` or `\` with a backslash), and, for a multi-line secret such as a PEM key,
 * each of its lines on its own (an error message may quote one line of it).
 */
function secretForms(secret: string): string[] {
  const forms = new Set([secret, JSON.stringify(secret).slice(1, -1)]);
  if (/[\r\n]/.test(secret))
    for (const line of secret.split(/\r?\n/)) {
      const l = line.trim();
      if (l.length >= 16 && !/^-----(BEGIN|END) /.test(l)) forms.add(l);
    }
  // Longest first, so a whole secret is masked before its pieces.
  return [...forms].sort((a, b) => b.length - a.length);
}

/** Masks known secret values (in every form they take in a log line) and bearer tokens inside any string. */
export function maskSecrets(text: string, secrets: readonly string[]): string {
  let out = text.replace(BEARER, "$1 [redacted]");
  for (const s of secrets)
    if (s.length >= 6) for (const form of secretForms(s)) out = out.split(form).join("[redacted]");
  return out;
}

export interface LoggerSetup {
  /** Secret values to mask wherever they appear (from config resolution and the token providers). */
  secrets?: () => readonly string[];
  level?: string;
  /** Pretty output (default: when stdout is a TTY). */
  pretty?: boolean;
  /** Where lines go (default stdout); tests capture them. */
  destination?: NodeJS.WritableStream;
  /**
   * Pretty lines go through this writer, in-process and synchronously, so that a progress bar on the
   * same terminal is redrawn below each line instead of being cut by it.
   */
  lines?: TerminalLines;
}

/** JSON logs by default, pretty on a TTY; tokens, secrets, passwords and Authorization headers redacted. */
export function createLogger(setup: LoggerSetup = {}): Logger {
  const secrets = setup.secrets ?? (() => []);
  const options: LoggerOptions = {
    level: setup.level ?? process.env.COSELL_LOG_LEVEL ?? "info",
    redact: { paths: REDACT_PATHS, censor: "[redacted]" },
    hooks: {
      // Last line of defence: mask secret values that slipped into free text (error messages).
      streamWrite: (line) => maskSecrets(line, secrets()),
    },
  };
  const pretty = setup.pretty ?? (setup.destination === undefined && process.stdout.isTTY === true);
  if (pretty && setup.lines) {
    const format = prettyFactory({ colorize: true, translateTime: "SYS:HH:MM:ss" });
    const lines = setup.lines;
    return pino(options, { write: (json: string) => lines.write(format(json)) });
  }
  if (pretty) {
    return pino({
      ...options,
      transport: {
        target: "pino-pretty",
        options: {
          colorize: true,
          translateTime: "SYS:HH:MM:ss",
          // The CLI logs to stderr so that stdout stays the command's output.
          destination: setup.destination === process.stderr ? 2 : 1,
        },
      },
    });
  }
  return setup.destination ? pino(options, setup.destination as pino.DestinationStream) : pino(options);
}
