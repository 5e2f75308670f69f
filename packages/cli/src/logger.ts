import { type Logger, type LoggerOptions, pino } from "pino";

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

/** Masks known secret values and bearer tokens inside any string. */
export function maskSecrets(text: string, secrets: readonly string[]): string {
  let out = text.replace(BEARER, "$1 [redacted]");
  for (const s of secrets) if (s.length >= 6) out = out.split(s).join("[redacted]");
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
