import type { RetainedEvent } from "./cdc/change-events.js";
import type { SalesforceContext } from "./context.js";
import type { ConnectedAppConfig } from "./options.js";
import type { StageDefinition } from "./schema/stages.js";
import type { Value } from "./schema/types.js";
import { type SeedOpportunitiesOptions, seedOpportunities } from "./seed.js";
import type { MetadataRecord, MetadataSaveResult } from "./soap/metadata-types.js";
import { runSoql, type SObjectJson } from "./soql/executor.js";
import { exportOrgState, importOrgState, type SalesforceState } from "./state.js";
import type { RecordFault } from "./store/org.js";

/** Who a control write is made as (default: the integration user, in system mode). */
export interface WriteAs {
  /** A username or a user id of the org. */
  as?: string;
}

/** A stored record: canonical field names to values (IsDeleted, SystemModstamp… included). */
export type SObjectRecord = Record<string, Value>;

/**
 * In-process access to the emulated org for tests and demos. Writes act as an admin user edit:
 * validated like the API, stamped with the sandbox clock, but not subject to field-level security
 * and not counted against the API allocation. Validation failures throw `RecordError` (with `code`).
 */
export interface SalesforceControl {
  readonly orgId: string;
  /** The registered connected app (client id/secret, run-as username, rotation flag). */
  readonly connectedApp: Readonly<ConnectedAppConfig>;
  /** The integration user the connected app's tokens act as. */
  readonly integrationUser: { readonly id: string; readonly username: string };
  /**
   * Writes as an admin in system mode; with `as` (a username or user id) the write is that user's,
   * as when a seller saves in the UI: `LastModifiedById` and a change event's `commitUser` name them.
   */
  insert(type: string, fields: Record<string, unknown>, opts?: WriteAs): string;
  update(type: string, id: string, fields: Record<string, unknown>, opts?: WriteAs): void;
  delete(type: string, id: string, opts?: WriteAs): void;
  /** The stored row (deleted rows too, with IsDeleted true), or undefined. */
  get(type: string, id: string): SObjectRecord | undefined;
  /** Runs SOQL in system mode and returns every matching record (no paging). */
  query(soql: string, opts?: { includeDeleted?: boolean }): { totalSize: number; records: SObjectJson[] };
  /** Every row of an object in creation order (deleted ones only with `includeDeleted`). */
  all(type: string, opts?: { includeDeleted?: boolean }): SObjectRecord[];
  /** Makes the next matching write fail with this per-record error (e.g. UNABLE_TO_LOCK_ROW). */
  failNext(fault: RecordFault): void;
  /** Sets the API requests used in the last 24 h (the next request beyond the limit gets 403). */
  setApiUsage(used: number): void;
  apiUsage(): { used: number; limit: number };
  setDailyApiLimit(limit: number): void;
  /** Bulk-creates realistic opportunities fast (benchmarks: 10k–100k). Returns their ids. */
  seedOpportunities(n: number, opts?: SeedOpportunitiesOptions): string[];
  /** A refresh token for a user (default the integration user), as an earlier web-server login would have left. */
  issueRefreshToken(username?: string): string;
  /** PKCS#8 PEM private key for signing JWT bearer assertions (only when no certificatePem was configured). */
  jwtPrivateKeyPem(): string;
  /** Expires every access token this org issued; clients must refresh. Returns how many. */
  expireSessions(): number;
  /** Metadata API createMetadata/upsertMetadata in-process (CustomField, PermissionSet, ValidationRule, ListView, QuickAction, Layout, GlobalValueSet). */
  upsertMetadata(type: string, components: MetadataRecord[]): MetadataSaveResult[];
  /** Assigns a permission set (by API name) to a user (default the integration user). */
  assignPermissionSet(permissionSetName: string, username?: string): string;
  stages(): readonly StageDefinition[];
  /**
   * Adds an Opportunity sales process (BusinessProcess) offering `stages` (API names of the org's
   * stages, in order) and a record type that uses it; `default: true` (or the first one added) makes
   * it the default record type of new opportunities. Returns the record type id.
   */
  addOpportunityRecordType(spec: {
    developerName: string;
    label?: string;
    salesProcess: string;
    stages: readonly string[];
    default?: boolean;
  }): string;
  /**
   * Change Data Capture: select (or deselect) an entity's change events, as an admin does in
   * Setup → Change Data Capture (`OpportunityChangeEvent`).
   */
  selectChangeEvents(changeEventName: string, on?: boolean): void;
  /** The change events still on the event bus (within the retention window), oldest first. */
  changeEvents(): RetainedEvent[];
  exportState(): SalesforceState;
  importState(state: SalesforceState): void;
}

function userIdOf(ctx: SalesforceContext, username?: string): string {
  if (!username) return ctx.org.integrationUserId;
  const [id] = ctx.org.store.lookup("User", "Username", username) ?? [];
  if (!id)
    throw new Error(
      `No user with username ${username} in the sandbox org; create it with control.insert("User", …).`,
    );
  return id;
}

/** Builds the control API over the org's shared context. */
export function createControl(ctx: SalesforceContext): SalesforceControl {
  const { org, dml } = ctx;
  const system = () => org.systemActor();
  // A user's edit in the UI: still system mode here (no field-level security), stamped as that user.
  const actorOf = (opts?: WriteAs) => {
    if (!opts?.as) return system();
    const byId = org.store.get("User", opts.as) ? opts.as : undefined;
    return { userId: byId ?? userIdOf(ctx, opts.as), system: true };
  };
  const canonical = (type: string) => {
    const def = org.object(type);
    if (!def)
      throw new Error(
        `Unknown sObject type ${type}; known: ${org.schema
          .all()
          .map((d) => d.name)
          .join(", ")}`,
      );
    return def.name;
  };
  return {
    orgId: org.orgId,
    connectedApp: ctx.options.connectedApp,
    get integrationUser() {
      const row = org.store.get("User", org.integrationUserId);
      return {
        id: org.integrationUserId,
        username: String(row?.Username ?? ctx.options.connectedApp.username),
      };
    },
    insert: (type, fields, opts) => dml.insert(type, fields, actorOf(opts)),
    update: (type, id, fields, opts) => dml.update(type, id, fields, actorOf(opts)),
    delete: (type, id, opts) => dml.delete(type, id, actorOf(opts)),
    get: (type, id) => {
      const row = org.store.get(canonical(type), id);
      return row ? { ...row } : undefined;
    },
    query: (soql, opts) => {
      const outcome = runSoql(org, soql, { actor: system(), scanAll: opts?.includeDeleted ?? false });
      if (outcome.count !== undefined) return { totalSize: outcome.count, records: [] };
      if (outcome.aggregate) return { totalSize: outcome.aggregate.length, records: outcome.aggregate };
      return { totalSize: outcome.rows.length, records: outcome.rows.map((r) => outcome.project(r, "62.0")) };
    },
    all: (type, opts) =>
      [...org.store.rows(canonical(type))]
        .filter((r) => opts?.includeDeleted || r.IsDeleted !== true)
        .map((r) => ({ ...r })),
    failNext: (fault) => {
      org.recordFaults.push({ ...fault });
    },
    setApiUsage: (used) => ctx.usage.set(used),
    apiUsage: () => ({ used: ctx.usage.used(), limit: ctx.usage.limit }),
    setDailyApiLimit: (limit) => {
      ctx.usage.limit = limit;
    },
    // A benchmark's bulk seed is set-up, not edits anyone listens for: it publishes no change events.
    seedOpportunities: (n, opts) => ctx.changeEvents.quietly(() => seedOpportunities(org, n, opts)),
    issueRefreshToken: (username) => ctx.oauth.issueRefreshToken(userIdOf(ctx, username)),
    jwtPrivateKeyPem: () => ctx.oauth.jwtPrivateKeyPem(),
    expireSessions: () => ctx.oauth.expireSessions(),
    upsertMetadata: (type, components) => ctx.metadata.upsert(type, components),
    assignPermissionSet: (name, username) => {
      const [psId] = org.store.lookup("PermissionSet", "Name", name) ?? [];
      if (!psId)
        throw new Error(
          `No permission set named ${name}; create it first (Metadata API or control.upsertMetadata).`,
        );
      return dml.insert(
        "PermissionSetAssignment",
        { PermissionSetId: psId, AssigneeId: userIdOf(ctx, username) },
        system(),
      );
    },
    stages: () => org.schema.stages,
    addOpportunityRecordType: (spec) => {
      for (const name of spec.stages)
        if (!org.schema.stage(name)) throw new Error(`addOpportunityRecordType: no stage named ${name}`);
      const existing = [...org.store.rows("BusinessProcess")].find(
        (r) => r.Name === spec.salesProcess && r.IsDeleted !== true,
      );
      const processId =
        (existing?.Id as string | undefined) ??
        dml.insert(
          "BusinessProcess",
          { Name: spec.salesProcess, TableEnumOrId: "Opportunity", IsActive: true },
          system(),
        );
      org.salesProcessStages.set(processId, [...spec.stages]);
      const id = dml.insert(
        "RecordType",
        {
          Name: spec.label ?? spec.developerName,
          DeveloperName: spec.developerName,
          SobjectType: "Opportunity",
          IsActive: true,
          BusinessProcessId: processId,
        },
        system(),
      );
      if (spec.default || !org.defaultRecordType.has("Opportunity"))
        org.defaultRecordType.set("Opportunity", id);
      return id;
    },
    selectChangeEvents: (name, on = true) => ctx.changeEvents.select(name, on),
    changeEvents: () => ctx.changeEvents.retained(),
    exportState: () => ({
      ...exportOrgState(org, ctx.oauth, ctx.usage),
      selectedChangeEvents: ctx.changeEvents.selectedEntities(),
      salesProcessStages: [...org.salesProcessStages].map(([id, stages]) => [id, [...stages]]),
      defaultRecordTypes: [...org.defaultRecordType],
    }),
    importState: (state) => {
      ctx.changeEvents.quietly(() => importOrgState(org, ctx.oauth, ctx.usage, state));
      // The Change Data Capture selection is the org's setup, like its custom fields.
      const selected = (state as { selectedChangeEvents?: unknown }).selectedChangeEvents;
      if (Array.isArray(selected)) {
        for (const e of ctx.changeEvents.selectedEntities()) ctx.changeEvents.select(e, false);
        for (const e of selected) ctx.changeEvents.select(String(e));
      }
      // Sales processes and default record types belong to the org's setup, like its record types.
      const { salesProcessStages, defaultRecordTypes } = state as {
        salesProcessStages?: Array<[string, string[]]>;
        defaultRecordTypes?: Array<[string, string]>;
      };
      org.salesProcessStages.clear();
      for (const [id, stages] of salesProcessStages ?? []) org.salesProcessStages.set(id, [...stages]);
      org.defaultRecordType.clear();
      for (const [type, id] of defaultRecordTypes ?? []) org.defaultRecordType.set(type, id);
      ctx.cursors.clear();
    },
  };
}
