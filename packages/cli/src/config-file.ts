import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { ConfigError } from "@cosell/core";
import { parse as parseYaml } from "yaml";
import type { z } from "zod";
import { closest, closestElsewhere, keysAt } from "./did-you-mean.js";
import { resolveSecrets } from "./secrets.js";

const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]", "::1"]);

/** Every `…Url`/`…Endpoint`/`…Host` value must be https, except to loopback (the sandbox). */
export function assertTls(config: unknown, path: string[] = []): void {
  if (Array.isArray(config)) {
    config.forEach((v, i) => {
      assertTls(v, [...path, String(i)]);
    });
    return;
  }
  if (config && typeof config === "object") {
    for (const [k, v] of Object.entries(config)) assertTls(v, [...path, k]);
    return;
  }
  const key = path.at(-1) ?? "";
  if (typeof config !== "string" || !/(url|endpoint|host)$/i.test(key) || !/^http:\/\//i.test(config)) return;
  let host = "";
  try {
    host = new URL(config).hostname;
  } catch {
    host = "";
  }
  if (!LOOPBACK.has(host))
    throw new ConfigError(
      "CONFIG_TLS_REQUIRED",
      `${path.join(".")}: "${config}" uses plain http. Use https:// (plain http is only allowed to 127.0.0.1/localhost, for the sandbox).`,
      { key: path.join("."), value: config },
    );
}

const SECRET_PATH = /secret|privatekey|password|token|certificate/i;

/** Whether an object (at any depth) has a key that holds a secret. */
function holdsSecret(value: unknown): boolean {
  if (!value || typeof value !== "object") return false;
  return Object.entries(value).some(([k, v]) => SECRET_PATH.test(k) || holdsSecret(v));
}

/** Turns the first zod issue into a ConfigError that names the key, the value and the fix. */
export function configErrorFrom(
  error: z.ZodError,
  raw: unknown,
  prefix = "",
  schema?: z.ZodType,
): ConfigError {
  // A misspelled key usually also leaves a required one missing: the spelling is the fix to name.
  const found = error.issues.find((i) => i.code === "unrecognized_keys") ?? error.issues[0]!;
  // An unknown key is reported at its own path (`crm.auth.loginURL`), not at the object holding it.
  const unknownKey =
    found.code === "unrecognized_keys" && "keys" in found ? (found.keys as string[])[0] : undefined;
  const issue = unknownKey === undefined ? found : { ...found, path: [...found.path, unknownKey] };
  const key = [prefix, ...issue.path.map(String)].filter(Boolean).join(".") || "(root)";
  let value: unknown = raw;
  for (const p of issue.path)
    value = value && typeof value === "object" ? (value as Record<string, unknown>)[String(p)] : undefined;
  // Secret values are resolved by now: never echo them (nor an object holding one) back.
  const secret = issue.path.some((p) => SECRET_PATH.test(String(p))) || holdsSecret(value);
  const shown = value === undefined ? "missing" : secret ? "(hidden)" : JSON.stringify(value);
  let fix = issue.message;
  if (issue.code === "invalid_value" && "values" in issue)
    fix = `use one of: ${(issue.values as unknown[]).map(String).join(", ")}`;
  if (value === undefined && issue.code === "invalid_type") {
    // A required key is missing: if the same object holds a key the schema does not know that is
    // spelled almost like it (`environmentURL`), that is the slip to name.
    const parent = issue.path
      .slice(0, -1)
      .reduce<unknown>(
        (v, p) => (v && typeof v === "object" ? (v as Record<string, unknown>)[String(p)] : undefined),
        raw,
      );
    const wanted = String(issue.path.at(-1) ?? "");
    const known = schema ? new Set(keysAt(schema, issue.path.slice(0, -1))) : new Set<string>();
    const strays =
      parent && typeof parent === "object" ? Object.keys(parent).filter((k) => !known.has(k)) : [];
    const slip = wanted ? strays.find((k) => closest(k, [wanted]) === wanted) : undefined;
    fix = slip
      ? `this setting is required; did you mean ${wanted} instead of ${slip}?`
      : "this setting is required";
  }
  if (unknownKey !== undefined) {
    const near = schema
      ? (closest(unknownKey, keysAt(schema, found.path)) ?? closestElsewhere(unknownKey, schema))
      : undefined;
    const others = (found as { keys: string[] }).keys.slice(1);
    const more = others.length ? ` (also unknown here: ${others.join(", ")})` : "";
    return new ConfigError(
      "CONFIG_INVALID",
      `${key}: not a cosell setting — ${near ? `did you mean ${near}?${more}` : `remove it or check the spelling${more}.`}`,
      {
        key,
        suggestion: near,
        issues: error.issues.map((i) => ({
          key: [prefix, ...i.path.map(String)].filter(Boolean).join("."),
          message: i.message,
        })),
      },
    );
  }
  return new ConfigError("CONFIG_INVALID", `${key}: ${shown} — ${fix}${fix.endsWith("?") ? "" : "."}`, {
    key,
    value: value === undefined || secret ? undefined : value,
    issues: error.issues.map((i) => ({
      key: [prefix, ...i.path.map(String)].filter(Boolean).join("."),
      message: i.message,
    })),
  });
}

/** Reads a YAML or JSON config file (by extension; YAML also parses JSON). */
export function readConfigFile(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new ConfigError(
      "CONFIG_NOT_FOUND",
      `Cannot read the config file ${path} (${(e as NodeJS.ErrnoException).code ?? "error"}). Create one with \`cosell init\` or pass --config.`,
      { file: path },
    );
  }
  try {
    return path.endsWith(".json") ? JSON.parse(text) : parseYaml(text);
  } catch (e) {
    throw new ConfigError(
      "CONFIG_UNREADABLE",
      `${path} is not valid ${path.endsWith(".json") ? "JSON" : "YAML"}: ${(e as Error).message}`,
      {
        file: path,
      },
    );
  }
}

/**
 * Loads a config: read, resolve secret references, refuse plain http off loopback, validate with `schema`.
 * Returns the typed config and the secret values (for log redaction).
 */
export function loadConfig<S extends z.ZodType>(
  path: string,
  schema: S,
  opts: { env?: NodeJS.ProcessEnv } = {},
): { config: z.infer<S>; secrets: string[]; file: string } {
  const file = resolve(path);
  const raw = readConfigFile(file);
  return { ...parseConfig(raw, schema, { env: opts.env, baseDir: dirname(file) }), file };
}

/** Validates an already-read config object (the same steps as `loadConfig` after reading). */
export function parseConfig<S extends z.ZodType>(
  raw: unknown,
  schema: S,
  opts: { env?: NodeJS.ProcessEnv; baseDir?: string } = {},
): { config: z.infer<S>; secrets: string[]; warnings: string[] } {
  if (!raw || typeof raw !== "object")
    throw new ConfigError(
      "CONFIG_INVALID",
      "(root): the config must be a mapping of settings. Start from `cosell init`.",
      {},
    );
  const { value, secrets, warnings } = resolveSecrets(raw, opts);
  assertTls(value);
  const r = schema.safeParse(value);
  if (!r.success) throw configErrorFrom(r.error, value, "", schema);
  return { config: r.data, secrets, warnings };
}
