import { chmodSync, existsSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import {
  acquireStateLock,
  ConfigError,
  createPartnerCenterClient,
  createPartnerCenterTokens,
  MemoryStateStore,
  type PartnerCenterClient,
  SqliteStateStore,
  type StateLock,
  type StateStore,
  type TokenProvider,
} from "@cosell/core";
import type { Logger } from "pino";
import type { LoadedConfig } from "./config.js";
import { type CliAdapter, CRM_MODULES } from "./crm-modules.js";

/** What a sync command talks to, built from a loaded config. */
export interface Runtime {
  adapter: CliAdapter;
  partnerCenter: PartnerCenterClient;
  /** The Partner Center tokens (the signed-in user's, or the app's with `auth.kind: app`). */
  tokens: TokenProvider;
  store: StateStore;
  /**
   * Gets a Partner Center token now (msal refreshes silently): a missing or expired sign-in stops the
   * command with `SIGN_IN_*` and "run cosell login" before anything is read or written.
   */
  checkSignIn(): Promise<void>;
  /** Closes the store and the adapter and releases the state lock. */
  close(): Promise<void>;
}

/** Builds the CRM adapter of `loaded.config.crm`; a `ConfigError` when that adapter is not installed. */
export function createAdapter(
  loaded: LoadedConfig,
  logger?: Logger,
  options: {
    now?: () => Date;
    fetch?: typeof globalThis.fetch;
    /** Told each refresh token the CRM rotates to, after it is saved (see `saveRotatedRefreshToken`). */
    onRefreshToken?: (token: string) => void;
  } = {},
): CliAdapter {
  const { now, fetch } = options;
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
    // Adapters that speak HTTP through fetch take it (metrics count their answers); others ignore it.
    ...(fetch ? { fetch } : {}),
    onRefreshToken: (token: string) => {
      saveRotatedRefreshToken(loaded, token, logger);
      options.onRefreshToken?.(token);
    },
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

/** The Partner Center client of `loaded.config.partnerCenter`, with the token provider it signs in with. */
export function createPartnerCenter(
  loaded: LoadedConfig,
  options: { now?: () => Date; fetch?: typeof globalThis.fetch } = {},
): { tokens: TokenProvider; partnerCenter: PartnerCenterClient } {
  const tokens = createPartnerCenterTokens(loaded.config.partnerCenter);
  const partnerCenter = createPartnerCenterClient(loaded.config.partnerCenter, {
    tokens,
    ...(options.now ? { now: options.now } : {}),
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });
  return { tokens, partnerCenter };
}

/** Opens the state store, the Partner Center client and the CRM adapter. */
export function openRuntime(
  loaded: LoadedConfig,
  logger?: Logger,
  options: {
    now?: () => Date;
    readOnly?: boolean;
    /** The command taking the state lock (shown to a second process). */
    command?: string;
    /** `fetch` per system (`cosell serve` counts answers by status). */
    fetch?: { partnerCenter?: typeof globalThis.fetch; crm?: typeof globalThis.fetch };
    /** A store opened elsewhere (a tenant's PostgreSQL schema); the caller closes it. */
    store?: StateStore;
  } = {},
): Runtime {
  const { now } = options;
  const { tokens, partnerCenter } = createPartnerCenter(loaded, { now, fetch: options.fetch?.partnerCenter });
  // One writer per state file: a second sync/run/serve stops here, naming the process that holds it.
  // A store opened elsewhere (a tenant's PostgreSQL schema) has its own per-tenant lock.
  const given = options.store;
  const lock: StateLock | undefined =
    options.readOnly || given ? undefined : acquireStateLock(loaded.statePath, options.command);
  try {
    const adapter = createAdapter(loaded, logger, { now, fetch: options.fetch?.crm });
    // `plan` writes nothing: before the first sync there is no store to read, and none is created.
    const store = given ?? (options.readOnly ? openStore(loaded) : SqliteStateStore.open(loaded.statePath));
    return {
      adapter,
      partnerCenter,
      tokens,
      store,
      checkSignIn: async () => {
        await tokens.getToken();
      },
      close: async () => {
        try {
          if (!given) store.close();
          await adapter.close?.();
        } finally {
          lock?.release();
        }
      },
    };
  } catch (e) {
    lock?.release();
    throw e;
  }
}

/**
 * Opens only the state store, for commands that read it (status, deals). A store that does not exist
 * yet reads as empty and is not created.
 */
export function openStore(loaded: LoadedConfig): StateStore {
  return existsSync(loaded.statePath) ? SqliteStateStore.open(loaded.statePath) : new MemoryStateStore();
}
