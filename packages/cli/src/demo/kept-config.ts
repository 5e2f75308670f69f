import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { SECRET_KEYS } from "../secrets.js";

/**
 * Writes a cosell config (JSON) for a sandbox left running by `cosell demo --keep`, so that every
 * command can be tried against it: `cosell --config <file> status`. Secrets go to files of their own
 * (mode 0600) and the config names them with `file:` references, as a real config would.
 */
export function writeKeptConfig(
  dir: string,
  kind: string,
  sections: { partnerCenter: unknown; crm: unknown },
  statePath: string,
): string {
  const secretsDir = join(dir, `${kind}-secrets`);
  mkdirSync(secretsDir, { recursive: true, mode: 0o700 });
  const byReference = (value: unknown, path: string[]): unknown => {
    if (Array.isArray(value)) return value.map((v, i) => byReference(v, [...path, String(i)]));
    if (!value || typeof value !== "object") return value;
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => {
        if (SECRET_KEYS.includes(k) && typeof v === "string") {
          const name = [...path, k].join(".");
          writeFileSync(join(secretsDir, name), v, { mode: 0o600 });
          return [k, `file:./${kind}-secrets/${name}`];
        }
        return [k, byReference(v, [...path, k])];
      }),
    );
  };
  const config = {
    partnerCenter: byReference(sections.partnerCenter, ["partnerCenter"]),
    crm: byReference(sections.crm, ["crm"]),
    state: { path: statePath },
  };
  const file = join(dir, `${kind}-cosell.json`);
  writeFileSync(file, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  return file;
}
