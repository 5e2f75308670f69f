import {
  type ApplicationUserSpec,
  ensureApplicationUser,
  findApplicationUser,
  setUserRoles,
} from "./application-users.js";
import { type BulkSeedOptions, seedBulkOpportunities } from "./bulk-seed.js";
import { installCosellSetup } from "./cosell-setup.js";
import type { Caller, Env, KeyActivation } from "./env.js";
import { DataverseError, dvErrors } from "./errors.js";
import { activatePendingKeys } from "./records/alternate-keys.js";
import { closeOpportunity } from "./records/close-opportunity.js";
import { serializeRow } from "./records/reads.js";
import { createRow, deleteRow, updateRow } from "./records/writes.js";
import { type CustomSchemaState, exportCustomSchema, importCustomSchema } from "./schema/custom-tables.js";
import {
  exportGlobalOptionSets,
  type GlobalOptionSet,
  importGlobalOptionSets,
} from "./schema/option-sets.js";
import { Schema } from "./schema/schema.js";
import { builtInTables } from "./schema/tables.js";
import type { ColumnDef, KeyDef, TableDef } from "./schema/types.js";
import type { StoreSnapshot } from "./store/store.js";
import type { SlidingWindowThrottle, ThrottleLimits } from "./throttle.js";
import type { DataverseWebhooks } from "./webhooks.js";

/** A row as the Web API returns it without `$select`: every column, lookups as `_x_value`, `@odata.etag`. */
export type DataverseRecord = Record<string, unknown>;

/** A many-to-many navigation property of a table, and the table it leads to. */
function manyToMany(env: Env, entity: string, nav: string) {
  const t = requireTable(env, entity);
  const def = env.schema.collectionNavigation(t, nav);
  if (!def) throw dvErrors.segmentNotFound(nav);
  return { def, target: env.schema.require(def.targetTable) };
}

/** Everything needed to restore an environment: rows, versions, deletes, custom metadata, settings. */
export interface DataverseState {
  format: "cosell-sandbox-dataverse/1";
  store: StoreSnapshot;
  tables: {
    logicalName: string;
    changeTrackingEnabled: boolean;
    customColumns: ColumnDef[];
    keys: KeyDef[];
  }[];
  throttle: ThrottleLimits | null;
  requestCounter: number;
  /** Tables and relationships created through the metadata API. */
  custom?: CustomSchemaState;
  /** Global choices (`GlobalOptionSetDefinitions`). */
  optionSets?: GlobalOptionSet[];
}

/** How `control.win` / `control.lose` close an opportunity. */
export interface CloseOptions {
  /** Status reason: Won 3 (default); Lost 4 Canceled (default) or 5 Out-Sold. */
  status?: number;
  actualRevenue?: number;
  /** ISO date-time of the close (default: now on the sandbox clock). */
  actualEnd?: string;
  subject?: string;
  description?: string;
  /** The user who closes it (default: the record's owner). */
  asUserId?: string;
}

/**
 * In-process control of the Dataverse emulator for tests, demos and benchmarks. Writes behave like a
 * user editing in the Dynamics UI: same validation and state rules as the Web API (violations throw
 * {@link DataverseError} with Dataverse's code), new row version, `modifiedby` = that user.
 */
export interface DataverseControl {
  /** Webhook steps run (service endpoints called on Create/Update/Delete), and a wait for them. */
  readonly webhooks: Pick<DataverseWebhooks, "deliveries" | "idle">;
  /** The `systemuserid` used for control writes when no `asUserId` is given (a seeded seller). */
  readonly defaultUserId: string;
  /** Creates a row from a Web API body (`nav@odata.bind` allowed); `entity` is a set or logical name. */
  insert(
    entity: string,
    body: Record<string, unknown>,
    options?: { asUserId?: string; id?: string },
  ): DataverseRecord;
  /** Updates a row from a Web API body, as the user `asUserId` (default: {@link defaultUserId}). */
  update(
    entity: string,
    id: string,
    changes: Record<string, unknown>,
    options?: { asUserId?: string },
  ): DataverseRecord;
  /** Deletes a row (change tracking reports it as `$deletedEntity`). */
  delete(entity: string, id: string): void;
  /** Relates two rows through a many-to-many navigation property (a subgrid's "Add existing"). */
  associate(entity: string, id: string, nav: string, otherId: string): void;
  /** Removes that relation. */
  disassociate(entity: string, id: string, nav: string, otherId: string): void;
  /** The rows related to a row through a many-to-many navigation property. */
  related(entity: string, id: string, nav: string): DataverseRecord[];
  get(entity: string, id: string): DataverseRecord | undefined;
  all(entity: string): DataverseRecord[];
  count(entity: string): number;
  /** Wins an open opportunity the way WinOpportunity does (opportunityclose row, statecode 1). */
  win(opportunityId: string, options?: CloseOptions): DataverseRecord;
  /** Loses an open opportunity the way LoseOpportunity does (status 4 by default). */
  lose(opportunityId: string, options?: CloseOptions): DataverseRecord;
  /** Reopens a closed opportunity (statecode 0, statuscode 1 or 2). */
  reopen(opportunityId: string, statuscode?: 1 | 2): DataverseRecord;
  /** Inserts `n` opportunities fast (10,000–100,000 for benchmarks); returns their ids. */
  seedOpportunities(n: number, options?: BulkSeedOptions): string[];
  /** Turns change tracking on or off for a table (off makes `odata.track-changes` fail). */
  setChangeTracking(entity: string, enabled: boolean): void;
  /** Sets the per-client request limit, or `null` to stop counting. */
  setThrottle(limits: ThrottleLimits | null): void;
  /** Builds every Pending alternate-key index now (Active, or Failed on duplicate values). */
  activateKeys(): void;
  /** How new alternate keys turn Active from now on (see `DataverseOptions.keyActivation`). */
  setKeyActivation(mode: KeyActivation): void;
  /**
   * Marks an alternate key's index build Failed (as Dataverse does when existing rows hold duplicate
   * key values); `entity` is a logical or entity set name, `key` the key's logical or schema name.
   */
  failKey(entity: string, key: string): void;
  /** A PATCH that reopens a Won/Lost opportunity and changes other columns too: refused or allowed. */
  setReopenWithFields(mode: "refuse" | "allow"): void;
  /** Creates the assumed cosell publisher, solution, opportunity columns and referral-id key (Active). */
  installCosellSetup(): void;
  /** Creates (or returns) the application user of an app registration. */
  addApplicationUser(spec: ApplicationUserSpec): string;
  /** The `systemuserid` of the application user for `clientId`, if any. */
  applicationUserId(clientId: string): string | undefined;
  /** Replaces a user's security roles (names from `SEED_ROLES`). */
  setUserRoles(systemUserId: string, roles: readonly string[]): void;
  /** Role names of a user. */
  userRoles(systemUserId: string): string[];
  /** JSON-serialisable snapshot of the whole environment. */
  exportState(): DataverseState;
  /** Replaces the environment with a snapshot from {@link exportState}. */
  importState(state: DataverseState): void;
}

function requireTable(env: Env, entity: string): TableDef {
  const t = env.schema.resolve(entity);
  if (!t) throw dvErrors.segmentNotFound(entity);
  return t;
}

/** The control of one environment; `defaultUserId` is who control writes run as by default. */
export function createControl(
  env: Env,
  throttle: SlidingWindowThrottle,
  defaultUserId: string,
  webhooks: DataverseWebhooks,
): DataverseControl {
  const serialize = (t: TableDef, row: Parameters<typeof serializeRow>[2]) => serializeRow(env, t, row);
  const callerFor = (asUserId?: string): Caller => ({ userId: asUserId ?? defaultUserId });
  const opportunity = () => env.schema.require("opportunity");

  const close = (outcome: "Won" | "Lost", id: string, o: CloseOptions = {}): DataverseRecord => {
    const opp = env.store.get("opportunity", id);
    if (!opp) throw dvErrors.recordNotFound("opportunity", id);
    const owner = opp.ownerid && typeof opp.ownerid === "object" ? opp.ownerid.id : defaultUserId;
    const row = env.store.transaction(() =>
      closeOpportunity(
        env,
        outcome,
        {
          Status: o.status ?? (outcome === "Won" ? 3 : 4),
          OpportunityClose: {
            subject:
              o.subject ?? `${outcome === "Won" ? "Won" : "Lost"}: ${String(opp.name ?? "")}`.slice(0, 200),
            "opportunityid@odata.bind": `/opportunities(${id})`,
            ...(o.actualRevenue !== undefined ? { actualrevenue: o.actualRevenue } : {}),
            ...(o.actualEnd !== undefined ? { actualend: o.actualEnd } : {}),
            ...(o.description !== undefined ? { description: o.description } : {}),
          },
        },
        callerFor(o.asUserId ?? owner),
      ),
    );
    return serialize(opportunity(), row);
  };

  return {
    webhooks: {
      deliveries: () => webhooks.deliveries(),
      idle: () => webhooks.idle(),
    },
    defaultUserId,
    insert(entity, body, options = {}) {
      const t = requireTable(env, entity);
      const row = env.store.transaction(() =>
        createRow(env, t, body, callerFor(options.asUserId), { id: options.id }),
      );
      return serialize(t, row);
    },
    update(entity, id, changes, options = {}) {
      const t = requireTable(env, entity);
      const row = env.store.transaction(() => updateRow(env, t, id, changes, callerFor(options.asUserId)));
      return serialize(t, row);
    },
    delete(entity, id) {
      const t = requireTable(env, entity);
      env.store.transaction(() => deleteRow(env, t, id, callerFor()));
    },
    associate(entity, id, nav, otherId) {
      const m = manyToMany(env, entity, nav);
      if (!env.store.get(m.target.logicalName, otherId))
        throw dvErrors.recordNotFound(m.target.logicalName, otherId);
      env.store.transaction(() => env.store.link(m.def.relationship, id, otherId));
    },
    disassociate(entity, id, nav, otherId) {
      const m = manyToMany(env, entity, nav);
      env.store.transaction(() => env.store.unlink(m.def.relationship, id, otherId));
    },
    related(entity, id, nav) {
      const m = manyToMany(env, entity, nav);
      return env.store
        .linked(m.def.relationship, id)
        .map((x) => env.store.get(m.target.logicalName, x))
        .filter((r) => r !== undefined)
        .map((r) => serialize(m.target, r));
    },
    get(entity, id) {
      const t = requireTable(env, entity);
      const row = env.store.get(t.logicalName, id);
      return row ? serialize(t, row) : undefined;
    },
    all(entity) {
      const t = requireTable(env, entity);
      return [...env.store.all(t.logicalName)].map((r) => serialize(t, r));
    },
    count(entity) {
      return env.store.count(requireTable(env, entity).logicalName);
    },
    win: (id, o) => close("Won", id, o),
    lose: (id, o) => close("Lost", id, o),
    reopen(id, statuscode = 1) {
      const row = env.store.transaction(() =>
        updateRow(env, opportunity(), id, { statecode: 0, statuscode }, callerFor()),
      );
      return serialize(opportunity(), row);
    },
    seedOpportunities(n, options) {
      return env.store.transaction(() => seedBulkOpportunities(env, n, options));
    },
    setChangeTracking(entity, enabled) {
      requireTable(env, entity).changeTrackingEnabled = enabled;
    },
    setThrottle(limits) {
      throttle.configure(limits ?? undefined);
    },
    activateKeys() {
      activatePendingKeys(env, true);
    },
    setKeyActivation(mode) {
      env.keyActivation = mode;
    },
    failKey(entity, key) {
      const table = env.schema.resolve(entity);
      const def = table?.keys.get(key.toLowerCase());
      if (!table || !def) throw new Error(`failKey: no alternate key '${key}' on '${entity}'`);
      def.status = "Failed";
    },
    setReopenWithFields(mode) {
      env.reopenWithFields = mode;
    },
    installCosellSetup() {
      installCosellSetup(env);
    },
    addApplicationUser(spec) {
      return ensureApplicationUser(env, spec);
    },
    applicationUserId(clientId) {
      return findApplicationUser(env, clientId);
    },
    setUserRoles(userId, roles) {
      if (!env.store.get("systemuser", userId)) throw dvErrors.recordNotFound("systemuser", userId);
      env.store.transaction(() => setUserRoles(env, userId, roles));
    },
    userRoles(userId) {
      return env.store
        .linked("systemuserroles", userId)
        .map((id) => env.store.get("role", id)?.name)
        .filter((n): n is string => typeof n === "string");
    },
    exportState() {
      return JSON.parse(
        JSON.stringify({
          format: "cosell-sandbox-dataverse/1",
          store: env.store.export(),
          tables: env.schema.tables().map((t) => ({
            logicalName: t.logicalName,
            changeTrackingEnabled: t.changeTrackingEnabled,
            customColumns: [...t.columns.values()].filter((c) => c.custom),
            keys: [...t.keys.values()],
          })),
          throttle: throttle.current() ?? null,
          requestCounter: env.requestCounter,
          custom: exportCustomSchema(env.schema),
          optionSets: exportGlobalOptionSets(env.schema),
        }),
      ) as DataverseState;
    },
    importState(state) {
      if (state?.format !== "cosell-sandbox-dataverse/1")
        throw new DataverseError(
          400,
          "0x80040203",
          "importState expects an object produced by exportState().",
        );
      const schema = new Schema(builtInTables());
      importCustomSchema(schema, state.custom);
      importGlobalOptionSets(schema, state.optionSets);
      for (const saved of state.tables) {
        const t = schema.table(saved.logicalName);
        if (!t) continue;
        t.changeTrackingEnabled = saved.changeTrackingEnabled;
        for (const c of saved.customColumns) t.columns.set(c.logicalName, { ...c });
        for (const k of saved.keys) t.keys.set(k.logicalName, { ...k, keyAttributes: [...k.keyAttributes] });
      }
      env.schema = schema;
      env.requestCounter = state.requestCounter;
      env.store.import(
        state.store,
        Object.fromEntries(schema.tables().map((t) => [t.logicalName, t.primaryId])),
      );
      for (const t of schema.tables())
        for (const k of t.keys.values())
          if (
            k.status === "Active" &&
            !env.store.buildKeyIndex(t.logicalName, k.logicalName, k.keyAttributes)
          )
            k.status = "Failed";
      throttle.configure(state.throttle ?? undefined);
    },
  };
}
