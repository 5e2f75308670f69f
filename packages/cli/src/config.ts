import { dirname, resolve } from "node:path";
import {
  CatalogSolutionSchema,
  ConfigError,
  PartnerCenterClientConfigSchema,
  SolutionKindSchema,
  SyncRulesSchema,
} from "@cosell/core";
import { z } from "zod";
import { configErrorFrom, parseConfig, readConfigFile } from "./config-file.js";
import { CRM_KINDS, CRM_MODULES, type CrmKind } from "./crm-modules.js";
import { isSecretRef } from "./secrets.js";

/** Default config file name (`--config` overrides it). */
export const DEFAULT_CONFIG_FILE = "cosell.yaml";
/** Default state store file, relative to the config file. */
export const DEFAULT_STATE_PATH = "cosell-state.sqlite";

/** Bounds of `run.intervalSeconds`, shared with `cosell run --interval`. */
export const RUN_INTERVAL = { min: 5, max: 86_400, default: 300 } as const;

/** The `serve` section. */
export const ServeConfigSchema = z
  .object({
    /** TCP port of the HTTP server (webhooks, health, metrics). */
    port: z.number().int().min(0).max(65_535).default(8080),
    /** Address to listen on. Off loopback it needs `tls` or `behindProxy`. */
    host: z.string().min(1).default("127.0.0.1"),
    /** A reverse proxy in front terminates TLS (allows a non-loopback `host` without `tls`). */
    behindProxy: z.boolean().default(false),
    /** Serve HTTPS with this certificate and key (PEM files, relative to the config file). */
    tls: z
      .object({ certFile: z.string().min(1), keyFile: z.string().min(1) })
      .strict()
      .optional(),
    /** Seconds between reconciliation cycles; default 900 with both feeds on, 300 otherwise. */
    reconcileIntervalSeconds: z.number().int().min(5).max(86_400).optional(),
    /** Events for one deal within this many milliseconds become one targeted sync. */
    coalesceMs: z.number().int().min(0).max(60_000).default(250),
    /** Targeted syncs waiting at most; further events are dropped (counted) for the next cycle. */
    queueCapacity: z.number().int().min(1).max(1_000_000).default(10_000),
  })
  .strict();
export type ServeConfig = z.infer<typeof ServeConfigSchema>;

/**
 * The whole config file. `crm` is checked in two steps: its `kind` here, then the rest with that
 * adapter's own schema (so adapter settings are defined once, in the adapter package).
 */
export const CosellConfigSchema = z
  .object({
    /** Partner Center app registration and API settings (core's client schema). */
    partnerCenter: PartnerCenterClientConfigSchema,
    /** The CRM: `kind` picks the adapter; the other keys are that adapter's. */
    crm: z.looseObject({ kind: z.enum(CRM_KINDS) }),
    /** Field directions, conflict policy and overlap window. */
    sync: SyncRulesSchema.prefault({}),
    /** Where cosell keeps links, cursors, the write ledger and the audit log. */
    state: z
      .object({ path: z.string().min(1).default(DEFAULT_STATE_PATH) })
      .strict()
      .prefault({}),
    /** `cosell run`: seconds between cycles. */
    run: z
      .object({
        intervalSeconds: z
          .number()
          .int()
          .min(RUN_INTERVAL.min)
          .max(RUN_INTERVAL.max)
          .default(RUN_INTERVAL.default),
        /** After SIGINT/SIGTERM, exit after this many milliseconds even if a call still hangs. */
        shutdownGraceMs: z
          .number()
          .int()
          .min(1, "must be at least 1 millisecond; the default is 30000 (30 seconds)")
          .max(3_600_000, "at most 3600000 (one hour); the default is 30000 (30 seconds)")
          .default(30_000),
      })
      .strict()
      .prefault({}),
    /** `cosell serve`: where it listens and how often it reconciles (docs/operations.md). */
    serve: ServeConfigSchema.prefault({}),
    /**
     * The partner's own published co-sell solutions (`id` is Partner Center's solution id): `cosell
     * setup` puts them in the CRM's solution catalog, so sellers pick them instead of typing ids.
     */
    solutions: z.array(CatalogSolutionSchema.extend({ kind: SolutionKindSchema.default("own") })).default([]),
    /** Log level (`COSELL_LOG_LEVEL` overrides it). */
    log: z
      // No default here: unset means info, or warn for a one-shot command on a terminal (context.ts).
      .object({ level: z.enum(["fatal", "error", "warn", "info", "debug", "trace"]).optional() })
      .strict()
      .prefault({}),
  })
  .strict();

/** The validated config; `crm` holds the adapter's parsed section. */
export type CosellConfig = Omit<z.infer<typeof CosellConfigSchema>, "crm"> & {
  crm: { kind: CrmKind } & Record<string, unknown>;
};

/** A loaded config: values, where it came from, and the secret values to mask in logs. */
export interface LoadedConfig {
  config: CosellConfig;
  file: string;
  secrets: string[];
  /** Absolute path of the state store. */
  statePath: string;
  /** Problems worth a warning that do not stop the run (a secret file other users can read). */
  warnings: string[];
  /** Every `env:`/`file:` reference in the file, by dotted key (`crm.auth.refreshToken` → `file:./sf.token`). */
  references: Record<string, string>;
}

/** The `env:`/`file:` references of a raw config, by dotted key. */
export function referencesOf(
  raw: unknown,
  path: string[] = [],
  out: Record<string, string> = {},
): Record<string, string> {
  if (typeof raw === "string" && isSecretRef(raw)) out[path.join(".")] = raw;
  else if (raw && typeof raw === "object")
    for (const [k, v] of Object.entries(raw)) referencesOf(v, [...path, k], out);
  return out;
}

/** Validates a config object (already read): secrets resolved, TLS checked, CRM section by its adapter. */
export function validateConfig(
  raw: unknown,
  opts: { env?: NodeJS.ProcessEnv; baseDir?: string } = {},
): { config: CosellConfig; secrets: string[]; warnings: string[] } {
  const { config, secrets, warnings } = parseConfig(raw, CosellConfigSchema, opts);
  const mod = CRM_MODULES[config.crm.kind];
  const crm = mod.schema.safeParse(config.crm);
  if (!crm.success) throw configErrorFrom(crm.error, config.crm, "crm", mod.schema);
  return { config: { ...config, crm: crm.data as CosellConfig["crm"] }, secrets, warnings };
}

/** Reads and validates the config file at `path` (relative to `cwd`). */
export function loadCosellConfig(
  path: string,
  opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {},
): LoadedConfig {
  const file = resolve(opts.cwd ?? process.cwd(), path);
  const raw = readConfigFile(file);
  const { config, secrets, warnings } = validateConfig(raw, { env: opts.env, baseDir: dirname(file) });
  // The token cache sits next to the config unless an absolute path is given.
  const auth = config.partnerCenter.auth;
  if (auth.kind === "user") auth.tokenCache = resolve(dirname(file), auth.tokenCache);
  return {
    config,
    file,
    secrets,
    warnings,
    statePath: resolve(dirname(file), config.state.path),
    references: referencesOf(raw),
  };
}

/** The `crm.kind` a command expects matches the config (`cosell setup dynamics` on a Salesforce config). */
export function assertCrmKind(config: CosellConfig, kind: CrmKind): void {
  if (config.crm.kind !== kind)
    throw new ConfigError(
      "CONFIG_CRM_MISMATCH",
      `crm.kind: "${config.crm.kind}" — this config is for ${CRM_MODULES[config.crm.kind].title}; run \`cosell setup ${config.crm.kind}\` or use a config whose crm.kind is "${kind}".`,
      { key: "crm.kind", value: config.crm.kind },
    );
}
