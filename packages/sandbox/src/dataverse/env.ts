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
  /** `manual`: keys stay Pending until `control.activateKeys()`. */
  keyActivation: "nextRequest" | "manual";
}
