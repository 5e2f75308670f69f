import type { SandboxClock } from "../kit/clock.js";
import type { Schema } from "./schema/schema.js";
import type { DataStore } from "./store/store.js";

/** Who a request runs as: a `systemuserid`, plus the token's application id when there is one. */
export interface Caller {
  userId: string;
  clientId?: string;
}

/** Organization-level ids and settings of the emulated environment. */
export interface OrganizationSettings {
  organizationId: string;
  businessUnitId: string;
  /** The base currency (USD) `transactioncurrencyid`, applied when a row does not set one. */
  baseCurrencyId: string;
  /** How long a delta token stays valid (`organization.ExpireChangeTrackingInDays`, default 7). */
  changeTrackingExpiryDays: number;
  /** Largest page the server hands out (`odata.maxpagesize` is capped to it). */
  maxPageSize: number;
}

/** Everything the request handlers and control methods share. */
export interface Env {
  schema: Schema;
  store: DataStore;
  clock: SandboxClock;
  org: OrganizationSettings;
  /** Incremented per HTTP request; alternate keys created on an earlier request turn Active. */
  requestCounter: number;
  /** `manual`: keys stay Pending until `control.activateKeys()`; timed: see {@link KeyActivation}. */
  keyActivation: KeyActivation;
  /** A PATCH that reopens a Won/Lost opportunity and changes other columns too: refused (default) or allowed. */
  reopenWithFields: "refuse" | "allow";
}

/**
 * When a new alternate key's index is built. `nextRequest`: Pending for the request after the one that
 * created it, Active (or Failed) from the one after that. `manual`: only by `control.activateKeys()`.
 * Timed: `Pending` for `pendingMs` after creation, then `InProgress` for `buildMs`, then Active (or
 * Failed on duplicate values) — Dataverse builds the index by a system job, and `EntityKeyIndexStatus`
 * goes Pending → InProgress → Active | Failed
 * (learn.microsoft.com/power-apps/developer/data-platform/webapi/reference/entitykeyindexstatus).
 */
export type KeyActivation = "nextRequest" | "manual" | { pendingMs: number; buildMs: number };
