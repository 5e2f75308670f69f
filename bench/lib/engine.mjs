/**
 * Builds what `runCycle` needs against a running sandbox: core's Partner Center client (client secret
 * through the sandbox's Entra ID), the CRM adapter, and a SQLite state store (the production default).
 * Imports only the packages' runtime entry points (never `@cosell/core/testing`, which needs vitest).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createPartnerCenterClient, SqliteStateStore } from "@cosell/core";

/** Core's Partner Center client for the sandbox credentials (what `partnerCenterSide` builds, minus vitest). */
export function partnerCenterClient(credentials, now) {
  const c = credentials.partnerCenter;
  return createPartnerCenterClient(
    {
      tenantId: c.tenantId,
      clientId: c.clientId,
      // Signed in as the sandbox's sync user, through the token cache its start-up login filled.
      auth: { kind: "user", tokenCache: c.tokenCachePath },
      authorityHost: c.authorityHost,
      tokenEndpoint: c.tokenEndpoint,
      scope: c.scope,
      apiBaseUrl: c.apiBaseUrl,
    },
    now ? { now } : {},
  );
}

/**
 * A temporary folder for a SQLite state store (the file at `path` is created by whoever opens it
 * first, here or in a child process); `dispose()` deletes the folder.
 */
export function tempStoreFile() {
  const dir = mkdtempSync(join(tmpdir(), "cosell-bench-"));
  return { path: join(dir, "state.sqlite"), dispose: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * What `runCycle` needs against a sandbox reached through `view` (`{ credentials, urls }`: the sandbox
 * itself, or what a child process was handed): the target's adapter, core's Partner Center client
 * and `store`; `now` (the sandbox clock) and `rules` when given.
 * @param {any} target
 * @param {any} mod
 * @param {{ credentials: any, urls: any }} view
 * @param {any} store
 * @param {{ now?: () => Date, rules?: Record<string, unknown> }} [options]
 */
export function engineDeps(target, mod, view, store, { now, rules } = {}) {
  return {
    adapter: target.adapter(mod, view, now),
    partnerCenter: partnerCenterClient(view.credentials, now),
    store,
    ...(now ? { now } : {}),
    ...(rules ? { rules } : {}),
  };
}

/** A fresh SQLite state store in a temporary folder; `dispose()` closes and deletes it. */
export function tempStore() {
  const file = tempStoreFile();
  const store = SqliteStateStore.open(file.path);
  return {
    store,
    dispose() {
      store.close?.();
      file.dispose();
    },
  };
}
