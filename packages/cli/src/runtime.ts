import { chmodSync, existsSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import {
  ConfigError,
  createPartnerCenterClient,
  MemoryStateStore,
  type PartnerCenterClient,
  SqliteStateStore,
  type StateStore,
} from "@cosell/core";
import type { Logger } from "pino";
import type { LoadedConfig } from "./config.js";
import { type CliAdapter, CRM_MODULES } from "./crm-modules.js";

/** What a sync command talks to, built from a loaded config. */
export interface Runtime {
  adapter: CliAdapter;
  partnerCenter: PartnerCenterClient;
  store: StateStore;
  /** Closes the store and the adapter. */
  close(): Promise<void>;
}

/** Builds the CRM adapter of `loaded.config.crm`; a `ConfigError` when that adapter is not installed. */
export function createAdapter(loaded: LoadedConfig, logger?: Logger, now?: () => Date): CliAdapter {
  const mod = CRM_MODULES[loaded.config.crm.kind];
  if (!mod.createAdapter)
    throw new ConfigError(
      "CRM_ADAPTER_MISSING",
      `crm.kind: "${mod.kind}" — the ${mod.title} adapter is not available in this build of cosell. Update cosell (pnpm install && pnpm build).`,
      { key: "crm.kind", value: mod.kind },
    );
  return mod.createAdapter(loaded.config.crm, {
    logger,
    ...(now ? { now } : {}),
    onRefreshToken: (token: string) => saveRotatedRefreshToken(loaded, token, logger),
  });
}

/**
 * Salesforce rotates refresh tokens: the new one replaces the old where the config points. A `file:`
 * reference is rewritten in place (mode 0600); an `env:` one cannot be, so the admin is told.
 */
export function saveRotatedRefreshToken(loaded: LoadedConfig, token: string, logger?: Logger): void {
  loaded.secrets.push(token);
  const ref = loaded.references["crm.auth.refreshToken"];
  if (ref?.startsWith("file:")) {
    const file = resolve(dirname(loaded.file), ref.slice("file:".length));
    writeFileSync(file, `${token}\n`, { mode: 0o600 });
    chmodSync(file, 0o600);
    logger?.info({ key: "crm.auth.refreshToken" }, "saved the rotated Salesforce refresh token");
  } else if (ref)
    logger?.warn(
      { key: "crm.auth.refreshToken" },
      "Salesforce rotated the refresh token but crm.auth.refreshToken is an env: reference; use file:PATH so cosell can save the new one",
    );
}

/** Opens the state store, the Partner Center client and the CRM adapter. */
export function openRuntime(
  loaded: LoadedConfig,
  logger?: Logger,
  options: { now?: () => Date; readOnly?: boolean } = {},
): Runtime {
  const { now } = options;
  const partnerCenter = createPartnerCenterClient(loaded.config.partnerCenter, now ? { now } : {});
  const adapter = createAdapter(loaded, logger, now);
  // `plan` writes nothing: before the first sync there is no store to read, and none is created.
  const store = options.readOnly ? openStore(loaded) : SqliteStateStore.open(loaded.statePath);
  return {
    adapter,
    partnerCenter,
    store,
    close: async () => {
      store.close();
      await adapter.close?.();
    },
  };
}

/**
 * Opens only the state store, for commands that read it (status, deals). A store that does not exist
 * yet reads as empty and is not created.
 */
export function openStore(loaded: LoadedConfig): StateStore {
  return existsSync(loaded.statePath) ? SqliteStateStore.open(loaded.statePath) : new MemoryStateStore();
}
