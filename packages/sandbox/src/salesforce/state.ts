import { z } from "zod";
import type { ApiUsage } from "./api-usage.js";
import type { ValidationRuleDef } from "./formula/validation-rules.js";
import { IdGenerator } from "./ids.js";
import type { OAuthService, OAuthState } from "./oauth.js";
import type { FieldDef, SObjectDef, Value } from "./schema/types.js";
import type { ListViewDef } from "./soap/list-views.js";
import type { MetadataRecord } from "./soap/metadata-types.js";
import type { Org } from "./store/org.js";
import type { PermissionSetDetails } from "./store/security.js";

export const STATE_FORMAT = "cosell-sandbox-salesforce/1";

/** Everything needed to resume the org later (JSON-serialisable). Access tokens are not kept: clients re-authenticate. */
export interface SalesforceState {
  format: typeof STATE_FORMAT;
  orgId: string;
  integrationUserId: string;
  idCounters: Record<string, number>;
  customFields: Record<string, FieldDef[]>;
  /** Custom objects with their standard fields (absent in states saved before they were kept). */
  customObjects?: SObjectDef[];
  rows: Record<string, Record<string, Value>[]>;
  permissionSetDetails: Array<[string, PermissionSetDetails]>;
  oauth: OAuthState;
  apiUsage: Array<[number, number]>;
  /** Entities selected for Change Data Capture (absent in states saved before it was kept). */
  selectedChangeEvents?: string[];
  /** Stages of each Opportunity sales process by BusinessProcess id (absent before record types were kept). */
  salesProcessStages?: Array<[string, string[]]>;
  /** Default record type of new records, by object. */
  defaultRecordTypes?: Array<[string, string]>;
  /** Validation rules (absent in states saved before they were kept). */
  validationRules?: ValidationRuleDef[];
  /** List views (absent in states saved before they were kept). */
  listViews?: ListViewDef[];
  /** Quick actions as their components (absent in states saved before they were kept). */
  quickActions?: MetadataRecord[];
  /** Page layouts as their components (absent before they were kept: the org's standard layout then). */
  layouts?: MetadataRecord[];
  /** Global value sets as their components (absent in states saved before they were kept). */
  globalValueSets?: MetadataRecord[];
}

const valueSchema = z.union([z.string(), z.number(), z.boolean(), z.null()]);

const stateSchema = z
  .object({
    format: z.literal(STATE_FORMAT),
    orgId: z.string(),
    integrationUserId: z.string(),
    idCounters: z.record(z.string(), z.number()),
    customFields: z.record(z.string(), z.array(z.object({ name: z.string(), type: z.string() }).loose())),
    customObjects: z
      .array(z.object({ name: z.string(), keyPrefix: z.string(), fields: z.array(z.unknown()) }).loose())
      .optional(),
    rows: z.record(z.string(), z.array(z.record(z.string(), valueSchema))),
    permissionSetDetails: z.array(
      z.tuple([z.string(), z.object({ fieldPermissions: z.array(z.unknown()) }).loose()]),
    ),
    oauth: z.object({
      refreshTokens: z.array(z.tuple([z.string(), z.object({ userId: z.string(), clientId: z.string() })])),
    }),
    apiUsage: z.array(z.tuple([z.number(), z.number()])),
    selectedChangeEvents: z.array(z.string()).optional(),
    salesProcessStages: z.array(z.tuple([z.string(), z.array(z.string())])).optional(),
    defaultRecordTypes: z.array(z.tuple([z.string(), z.string()])).optional(),
    validationRules: z
      .array(
        z
          .object({
            objectName: z.string(),
            name: z.string(),
            active: z.boolean(),
            errorConditionFormula: z.string(),
            errorMessage: z.string(),
          })
          .loose(),
      )
      .optional(),
    listViews: z
      .array(
        z.object({ id: z.string(), objectName: z.string(), name: z.string(), label: z.string() }).loose(),
      )
      .optional(),
    quickActions: z.array(z.object({ fullName: z.string() }).loose()).optional(),
    layouts: z.array(z.object({ fullName: z.string() }).loose()).optional(),
    globalValueSets: z.array(z.object({ fullName: z.string() }).loose()).optional(),
  })
  .loose();

/** A saved state that cannot be loaded into this org. */
export class SalesforceStateError extends Error {
  readonly code = "SALESFORCE_STATE_INVALID";
}

/** Snapshot of the org for {@link importOrgState}. */
export function exportOrgState(org: Org, oauth: OAuthService, usage: ApiUsage): SalesforceState {
  const rows: SalesforceState["rows"] = {};
  for (const type of org.store.types()) rows[type] = [...org.store.rows(type)].map((r) => ({ ...r }));
  return {
    format: STATE_FORMAT,
    orgId: org.orgId,
    integrationUserId: org.integrationUserId,
    idCounters: org.ids.snapshot(),
    customFields: org.schema.customFields(),
    customObjects: org.schema.customObjects(),
    rows,
    permissionSetDetails: [...org.permissionSetDetails.entries()].map(([id, d]) => [id, structuredClone(d)]),
    oauth: oauth.snapshot(),
    apiUsage: usage.snapshot(),
    validationRules: org.validationRules.snapshot(),
    listViews: org.listViews.snapshot(),
    quickActions: org.quickActions.snapshot(),
    layouts: org.layouts.snapshot(),
    globalValueSets: org.globalValueSets.snapshot(),
  };
}

/** Replaces the org's data, custom fields, permission sets, refresh tokens and usage with a saved state. */
export function importOrgState(org: Org, oauth: OAuthService, usage: ApiUsage, raw: unknown): void {
  const parsed = stateSchema.safeParse(raw);
  if (!parsed.success)
    throw new SalesforceStateError(
      `Not a saved Salesforce sandbox state (${STATE_FORMAT}): ${parsed.error.issues[0]?.message ?? "invalid"}. Export it again with control.exportState().`,
    );
  const state = parsed.data as unknown as SalesforceState;
  if (state.orgId !== org.orgId)
    throw new SalesforceStateError(
      `The saved state belongs to org ${state.orgId} but this server is org ${org.orgId}; start the server with orgId "${state.orgId}".`,
    );
  for (const [objectName, fields] of Object.entries(org.schema.customFields()))
    for (const f of fields) org.schema.removeField(objectName, f.name);
  for (const def of org.schema.customObjects()) org.schema.removeObject(def.name);
  for (const def of state.customObjects ?? []) org.schema.addObject(structuredClone(def));
  for (const [objectName, fields] of Object.entries(state.customFields))
    for (const f of fields) org.schema.addField(objectName, { ...f });
  org.store.clear();
  for (const def of org.schema.all()) org.indexObject(def);
  for (const [type, rows] of Object.entries(state.rows))
    for (const r of rows) org.store.put(type, Object.freeze({ ...r }));
  org.ids = new IdGenerator(state.idCounters);
  org.integrationUserId = state.integrationUserId;
  org.permissionSetDetails.clear();
  for (const [id, d] of state.permissionSetDetails) org.permissionSetDetails.set(id, structuredClone(d));
  org.security.invalidate();
  org.globalValueSets.restore(state.globalValueSets ?? []);
  org.validationRules.restore(state.validationRules ?? []);
  org.listViews.restore(state.listViews ?? []);
  // Actions before layouts: a layout names actions.
  org.quickActions.restore(state.quickActions ?? []);
  if (state.layouts) org.layouts.restore(state.layouts);
  else {
    org.layouts.restore([]);
    org.layouts.seed();
  }
  oauth.restore(state.oauth);
  usage.restore(state.apiUsage);
}
