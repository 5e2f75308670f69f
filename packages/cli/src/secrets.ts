import { readFileSync, statSync } from "node:fs";
import { resolve } from "node:path";
import { ConfigError } from "@cosell/core";

/** Keys whose values are secrets: they may only be given by reference (`env:NAME` or `file:PATH`). */
export const SECRET_KEYS = [
  "clientSecret",
  "privateKey",
  "privateKeyPem",
  "refreshToken",
  "password",
  "webhookSecret",
  "tokenCacheKey",
];

const REF = /^(env|file):(.+)$/;

/** True for `env:NAME` / `file:PATH` references. */
export function isSecretRef(v: unknown): v is string {
  return typeof v === "string" && REF.test(v);
}

/**
 * Replaces every `env:NAME` / `file:PATH` string in `config` with the value it points to, and refuses
 * secret keys given literally. Returns the resolved copy and the list of secret values (so the logger
 * can redact them wherever they appear). `baseDir` resolves relative file paths (the config's folder).
 */
export function resolveSecrets(
  config: unknown,
  opts: { env?: NodeJS.ProcessEnv; baseDir?: string } = {},
): { value: unknown; secrets: string[]; warnings: string[] } {
  const env = opts.env ?? process.env;
  const secrets: string[] = [];
  const warnings: string[] = [];
  const walk = (v: unknown, path: string[]): unknown => {
    if (Array.isArray(v)) return v.map((x, i) => walk(x, [...path, String(i)]));
    if (v && typeof v === "object")
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x, [...path, k])]));
    const key = path.join(".");
    const last = path.at(-1) ?? "";
    if (typeof v !== "string") return v;
    const m = REF.exec(v);
    if (!m) {
      if (SECRET_KEYS.includes(last) && v !== "")
        throw new ConfigError(
          "CONFIG_SECRET_INLINE",
          `${key}: secrets may not be written in the config file. Put the value in an environment variable and write "env:NAME", or in a file readable only by this user and write "file:/path/to/it".`,
          { key },
        );
      return v;
    }
    // A reference in an ordinary key would let a config pull any file or variable into a value that is
    // logged and not masked; only secret keys resolve references.
    if (!SECRET_KEYS.includes(last))
      throw new ConfigError(
        "CONFIG_REF_NOT_SECRET",
        `${key}: "${v}" is an env:/file: reference, but ${key} is not a secret key (references are only resolved for ${SECRET_KEYS.join(", ")}). Write the value itself here.`,
        { key },
      );
    const [, kind, ref] = m as unknown as [string, "env" | "file", string];
    let out: string | undefined;
    if (kind === "env") {
      out = env[ref];
      if (out === undefined || out === "")
        throw new ConfigError(
          "CONFIG_SECRET_MISSING",
          `${key}: environment variable ${ref} is not set. Export it before running cosell.`,
          {
            key,
            env: ref,
          },
        );
    } else {
      const file = resolve(opts.baseDir ?? process.cwd(), ref);
      try {
        out = readFileSync(file, "utf8").replace(/\r?\n$/, "");
        // Group/others may read it: warn (naming the file, never its content) but go on.
        if (process.platform !== "win32" && (statSync(file).mode & 0o077) !== 0)
          warnings.push(
            `${key}: secret file ${file} is readable by other users (mode ${(statSync(file).mode & 0o777).toString(8)}); run \`chmod 600 ${file}\`.`,
          );
      } catch (e) {
        throw new ConfigError(
          "CONFIG_SECRET_MISSING",
          `${key}: cannot read ${file} (${(e as NodeJS.ErrnoException).code ?? "error"}). Check the path and its permissions.`,
          {
            key,
            file,
          },
        );
      }
    }
    secrets.push(out);
    return out;
  };
  return { value: walk(config, []), secrets, warnings };
}
