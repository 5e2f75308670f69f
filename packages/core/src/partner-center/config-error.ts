import type { z } from "zod";
import { ConfigError } from "../errors.js";

/** Keys whose values are secrets: a config error names them but never shows their value. */
const SECRET_KEY = /secret|password|privatekey|token$/i;

/**
 * Turns the first zod issue into a {@link ConfigError} that names the key (prefixed, e.g.
 * `partnerCenter.clientId`), shows the offending value unless it is a secret, and says what to do.
 */
export function configErrorFromZod(error: z.ZodError, raw: unknown, prefix = ""): ConfigError {
  const issue = error.issues[0];
  const path = issue?.path.map(String) ?? [];
  const key = [prefix, ...path].filter(Boolean).join(".") || prefix || "(root)";
  let value: unknown = raw;
  for (const p of path)
    value = value && typeof value === "object" ? (value as Record<string, unknown>)[p] : undefined;
  const secret = path.some((p) => SECRET_KEY.test(p));
  const shown = value === undefined ? "missing" : secret ? "(hidden)" : JSON.stringify(value);
  const fix =
    value === undefined && issue?.code === "invalid_type"
      ? "this setting is required"
      : (issue?.message ?? "invalid value");
  return new ConfigError("CONFIG_INVALID", `${key}: ${shown} — ${fix}.`, {
    key,
    ...(secret || value === undefined ? {} : { value }),
    issues: error.issues.map((i) => ({
      key: [prefix, ...i.path.map(String)].filter(Boolean).join("."),
      message: i.message,
    })),
  });
}
