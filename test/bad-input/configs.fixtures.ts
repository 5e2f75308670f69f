import { ConfigError, PartnerCenterClientConfigSchema, SyncRulesSchema } from "@cosell/core";
import type { parseConfig } from "../../packages/cli/src/config-file.js";
// zod is not a root dependency: core's own copy, so the schemas below compose with core's.
import { z } from "../../packages/core/node_modules/zod/index.js";

/**
 * The config the bad-config cases break: core's real Partner Center and sync-rule schemas with a CRM
 * section shaped like the adapters' settings (the CLI's own schema is not in yet; swap it in when it lands).
 */
const CrmSchema = z.discriminatedUnion("kind", [
  z
    .object({
      kind: z.literal("salesforce"),
      instanceUrl: z.string().url(),
      clientId: z.string().min(1),
      username: z.string().min(1),
      privateKey: z.string().min(1),
    })
    .strict(),
  z
    .object({
      kind: z.literal("dynamics"),
      environmentUrl: z.string().url(),
      tenantId: z.string().min(1),
      clientId: z.string().min(1),
      clientSecret: z.string().min(1),
    })
    .strict(),
]);
const Schema = z
  .object({
    partnerCenter: PartnerCenterClientConfigSchema,
    crm: CrmSchema,
    sync: SyncRulesSchema.extend({ intervalSeconds: z.number().int().positive().default(300) }).prefault({}),
  })
  .strict();

/**
 * The schema, typed as the loader takes it (the loader sees zod through the CLI's import path, so
 * TypeScript does not unify the two copies' types; the runtime objects are the same).
 */
export const ConfigSchema = Schema as unknown as Parameters<typeof parseConfig>[1];
/** What a valid config parses to. */
export type Config = import("../../packages/core/node_modules/zod/index.js").infer<typeof Schema>;

/** A config as written: nested settings, any of them possibly broken by a case. */
// biome-ignore lint/suspicious/noExplicitAny: the corpus writes whatever a user could write.
export type RawConfig = Record<string, any>;

export const SECRET = "pc-s3cr3t-value-never-shown";
export const env = { PC_SECRET: SECRET, DV_SECRET: "dv-s3cr3t", SF_KEY: "-----BEGIN PRIVATE KEY-----x" };

/** A config that loads; cases break one thing. */
export function good(): RawConfig {
  return {
    partnerCenter: {
      tenantId: "tenant-1",
      clientId: "app-1",
      // App-only, so the secret-reference cases have a Partner Center secret to break.
      auth: { kind: "app", clientSecret: "env:PC_SECRET" },
      apiBaseUrl: "https://api.partner.microsoft.com/v1.0",
    },
    crm: {
      kind: "dynamics",
      environmentUrl: "https://contoso.crm.dynamics.com",
      tenantId: "tenant-1",
      clientId: "app-2",
      clientSecret: "env:DV_SECRET",
    },
    sync: { intervalSeconds: 60 },
  };
}

export const change = (mutate: (c: RawConfig) => void) => (): unknown => {
  const c = good();
  mutate(c);
  return c;
};

/** The ConfigError `fn` throws (fails when it loads). */
export function refusal(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error("expected a ConfigError, but the config loaded");
}
