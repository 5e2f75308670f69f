import { z } from "zod";
import type { CoSellDeal, DealField, Stage } from "../domain/deal.js";
import type { LifecycleAction, TransitionInput } from "../domain/lifecycle.js";
import type { ValidationIssue } from "../errors.js";
import type { Referral } from "../partner-center/referral.js";

/** The two sides of every pair. */
export type Side = "crm" | "partnerCenter";

/**
 * The canonical fields the engine compares and writes. `stage` carries `closeReason` with it,
 * `registration` is `registrationStatus` with `registrations`. A field an adapter does not declare
 * in its directions is not synced with that CRM ("none").
 */
export const SyncFieldSchema = z.enum([
  "name",
  "value",
  "closeDate",
  "notes",
  "crmId",
  "campaignId",
  "customer",
  "consentToShareContact",
  "consentToContact",
  "team",
  "solutions",
  "invitation",
  "stage",
  "favorite",
  "salesStage",
  "expiresAt",
  "microsoftOpportunityId",
  "registration",
  "sentBy",
  "microsoftAnswer",
  "microsoftTeam",
]);
export type SyncField = z.infer<typeof SyncFieldSchema>;
export const SYNC_FIELDS: readonly SyncField[] = SyncFieldSchema.options;

/**
 * Fields only Partner Center sets: they flow to the CRM and never back, whatever the config or the
 * adapter says (a seller's edit of one is put back to Partner Center's value at the next cycle).
 */
export const PARTNER_CENTER_OWNED_FIELDS: readonly SyncField[] = [
  "expiresAt",
  "microsoftOpportunityId",
  "registration",
  "sentBy",
  "microsoftAnswer",
  "microsoftTeam",
];

/** Which way a field flows. */
export const FieldDirectionSchema = z.enum(["both", "toCrm", "toPartnerCenter", "none"]);
export type FieldDirection = z.infer<typeof FieldDirectionSchema>;

/** What happens when both sides changed the same field since the last sync. */
export const ConflictPolicySchema = z.enum(["crm-wins", "partner-center-wins", "newest-wins", "manual"]);
export type ConflictPolicy = z.infer<typeof ConflictPolicySchema>;

/** Per-field direction and conflict policy. Defaults: every field both ways, the CRM wins conflicts. */
export const SyncRulesSchema = z
  .object({
    conflictPolicy: ConflictPolicySchema.default("crm-wins"),
    fieldPolicies: z.partialRecord(SyncFieldSchema, ConflictPolicySchema).default({}),
    directions: z.partialRecord(SyncFieldSchema, FieldDirectionSchema).default({}),
    /** Re-read this much before each cursor, to catch rows committed late (market.md §5.7). */
    overlapMs: z.number().int().min(0).default(120_000),
    /**
     * Total deadline of one cycle step (a sync cycle or a targeted sync), in milliseconds: past it the
     * step ends with `SYNC_STEP_TIMEOUT` (retryable), cursors unmoved, so a hung call never holds a
     * run or its shutdown. Default 10 minutes.
     */
    stepTimeoutMs: z
      .number({ error: "give a whole number of milliseconds, e.g. 600000 (10 minutes)" })
      .int("give a whole number of milliseconds, e.g. 600000 (10 minutes)")
      .min(1, "must be at least 1 millisecond; the default is 600000 (10 minutes)")
      .max(86_400_000, "at most 86400000 (one day); the default is 600000 (10 minutes)")
      .default(600_000),
    /**
     * How many pairs of one batch send their Partner Center writes at the same time (each pair's own
     * steps stay in order). A backfill is mostly one create per deal, so with a remote Partner Center
     * this divides its time by about this much. Partner Center documents no rate limit for referrals;
     * the client waits out any 429 it is sent (`Retry-After`). Default 4; 1 sends one at a time.
     */
    partnerCenterConcurrency: z
      .number({ error: "give a whole number of concurrent writes from 1 to 16, e.g. 4" })
      .int("give a whole number of concurrent writes from 1 to 16, e.g. 4")
      .min(1, "must be at least 1 (one write at a time); the default is 4")
      .max(16, "at most 16; the default is 4")
      .default(4),
  })
  .strict();
export type SyncRules = z.infer<typeof SyncRulesSchema>;

/** Per-record sync state shown to sellers on the CRM record. */
export const SyncStateSchema = z.enum(["synced", "pending", "deferred", "conflict", "error", "paused"]);
export type SyncState = z.infer<typeof SyncStateSchema>;

/** The status fields written back onto the CRM record (never into the opportunity name). */
export interface SyncStatus {
  state: SyncState;
  /** When the record last reached `synced`. */
  lastSyncedAt?: string;
  /** Why the last attempt failed or what it waits for; `null` clears it. */
  lastError: string | null;
  referralId?: string;
  /** Link to the referral in Partner Center. */
  referralUrl?: string;
  /** The co-sell stage in Partner Center. */
  coSellStage?: Stage;
}

/** One opportunity as an adapter reports it, already mapped into the canonical deal. */
export interface CrmRecord {
  crmId: string;
  /** The seller opted this record into co-sell sync (the sync flag). */
  optedIn: boolean;
  /** Referral id stored on the record, if any. */
  referralId?: string;
  /** The record mapped into the canonical shape (direction, stage and all). */
  deal: CoSellDeal;
  /** Last modification time on the CRM side (ISO), used by `newest-wins`. */
  modifiedAt: string;
  /** Record version (etag / SystemModstamp), when the CRM has one. */
  version?: string;
  /** Problems found while mapping (unknown stage, bad country): the record is marked, not synced. */
  issues?: ValidationIssue[];
  /** The record was deleted in the CRM. */
  deleted?: boolean;
  /**
   * Fields the record states through cosell's own list (the seller's co-sell response) while the
   * CRM's own field does not show it yet (the opportunity's stage): once Partner Center holds the
   * answer, the engine writes them to the record (a declined referral's opportunity is closed), so the
   * seller never has to move the stage by hand as well.
   */
  unsettled?: SyncField[];
}

/** One page of CRM changes and the cursor that resumes after it. */
export interface ChangePage {
  records: CrmRecord[];
  /** Opaque cursor; committed only after this page's writes are applied. */
  cursor: string;
}

/** A write to the CRM. The adapter merges the canonical fields and the status into as few calls as it can. */
export type CrmWrite =
  | {
      op: "create";
      /** Inbound referral the record is created for; the adapter upserts on it (idempotent). */
      referralId: string;
      deal: CoSellDeal;
      status: SyncStatus;
    }
  | {
      op: "update";
      crmId: string;
      /** The full target deal; only `fields` are written. */
      deal: CoSellDeal;
      fields: SyncField[];
      status?: SyncStatus;
    }
  | { op: "status"; crmId: string; status: SyncStatus };

export type CrmWriteResult =
  | { ok: true; crmId: string; created?: boolean }
  | { ok: false; crmId?: string; error: { code: string; message: string; retryable: boolean } };

/** How an adapter learns about changes. */
export type ChangeFeedKind = "poll" | "delta";

export interface AdapterCapabilities {
  /** Largest number of writes the adapter sends in one call. */
  batchSize: number;
  changeFeed: ChangeFeedKind;
  /** Deletes are reported by `changes()`. */
  reportsDeletes: boolean;
  /**
   * Which way each canonical field can flow for this adapter, given its field map and what the CRM can
   * hold. A field left out is `none`: the engine never compares or writes it.
   */
  fieldDirections: Partial<Record<SyncField, FieldDirection>>;
}

export interface AdapterDescription {
  /** `salesforce`, `dynamics`, `memory`. */
  kind: string;
  /** Human-readable instance (org URL, environment URL). */
  instance: string;
  capabilities: AdapterCapabilities;
}

/** API calls made so far, by kind. */
export interface CallStats {
  total: number;
  reads: number;
  writes: number;
}

export interface SetupReport {
  /** What was created (fields, keys, permission sets), in words an admin understands. */
  created: string[];
  /** What already existed and was left alone. */
  unchanged: string[];
  /**
   * Optional parts the CRM did not allow (for example Change Data Capture in an org without the
   * entitlement), each with why and what to do; the sync works without them.
   */
  skipped?: string[];
}

/** What a check-only validation of setup found (see `CrmAdapter.validateSetup`). */
export interface SetupValidation {
  ok: boolean;
  /** Components the CRM checked. */
  components: number;
  /** Each component the CRM would refuse, with its reason. */
  failures: { component: string; problem: string }[];
}

export interface VerifyReport {
  ok: boolean;
  checks: { name: string; ok: boolean; detail: string; fix?: string }[];
}

/** Link between a CRM record and a referral, with what each side last looked like. */
export interface Link {
  linkId: string;
  crmId?: string;
  referralId?: string;
  direction: "inbound" | "outbound";
  /** `pending`: a create was started (written before the call, so a crash can resume without duplicates). */
  state: "pending" | "linked" | "crmDeleted" | "referralMissing";
  /** Last canonical state both sides agreed on, field by field: the common ancestor of a 3-way merge. */
  baseline?: CoSellDeal;
  /** Last CRM state seen. */
  crm?: CoSellDeal;
  /** Whether the CRM record was opted in when last seen. */
  crmOptedIn?: boolean;
  crmModifiedAt?: string;
  /** Last referral seen, raw: the base of the next PATCH (only changed paths are sent). */
  referral?: Referral;
  /** Hash of the last status written to the CRM, so unchanged status is not rewritten. */
  statusHash?: string;
  createdAt: string;
  updatedAt: string;
}

/** A write cosell made, remembered so that its echo is recognised and not synced back. */
export interface LedgerEntry {
  side: Side;
  recordId: string;
  field: SyncField;
  valueHash: string;
  writtenAt: string;
}

/** A write that the lifecycle does not allow yet; flushed when the state allows. */
export interface OutboxItem {
  id: string;
  linkId: string;
  side: Side;
  fields: SyncField[];
  action?: LifecycleAction;
  reason: string;
  createdAt: string;
}

/** A pair parked under the `manual` policy until someone resolves it. */
export interface ParkedConflict {
  linkId: string;
  fields: SyncField[];
  crm: Partial<CoSellDeal>;
  partnerCenter: Partial<CoSellDeal>;
  detectedAt: string;
}

export interface RecordError {
  /** `crm:<id>` or `referral:<id>`. */
  key: string;
  code: string;
  message: string;
  at: string;
  attempts: number;
}

export interface AuditEntry {
  at: string;
  linkId?: string;
  crmId?: string;
  referralId?: string;
  kind: string;
  message: string;
}

/** Counts per step kind and API calls per side, for one cycle. */
export interface CycleSummary {
  cycleId: string;
  startedAt: string;
  finishedAt: string;
  mode: "incremental" | "reconcile";
  dryRun: boolean;
  steps: Record<string, number>;
  errors: { key: string; code: string; message: string }[];
  apiCalls: { crm: CallStats; partnerCenter: CallStats };
  suppressedEchoes: number;
  /**
   * The cycle stopped early because `EngineDeps.signal` was aborted: the batch in flight finished,
   * later batches were left for the next cycle (their cursors were not advanced).
   */
  interrupted?: boolean;
}

/** The planner's steps. */
export type PlanStep =
  | { kind: "create"; side: Side; pairKey: string; deal: CoSellDeal; reason: string }
  | { kind: "update"; side: Side; pairKey: string; fields: SyncField[]; deal: CoSellDeal; reason: string }
  | {
      kind: "transition";
      side: "partnerCenter";
      pairKey: string;
      action: LifecycleAction;
      input: TransitionInput;
      reason: string;
    }
  | {
      kind: "defer";
      side: Side;
      pairKey: string;
      fields: SyncField[];
      action?: LifecycleAction;
      reason: string;
    }
  | { kind: "skip"; pairKey: string; reason: string }
  | {
      kind: "conflict";
      pairKey: string;
      fields: SyncField[];
      crm: Partial<CoSellDeal>;
      partnerCenter: Partial<CoSellDeal>;
      reason: string;
    }
  | {
      kind: "invalid";
      pairKey: string;
      crmId?: string;
      referralId?: string;
      issues: ValidationIssue[];
      reason: string;
    };

/** A change on one side recognised as the echo of our own write (ledger hit). */
export interface EchoSeen {
  side: Side;
  recordId: string;
  field: SyncField;
  /** The echoed value's hash (`fieldHash`): the ledger entry it matched. */
  valueHash: string;
}

export interface Plan {
  steps: PlanStep[];
  /** Echoes the plan ignored; the executor consumes their ledger entries. */
  echoes: EchoSeen[];
  /**
   * Steps a cycle that wrote (not a dry run) carried out but left out of `steps`: it keeps the first
   * {@link KEPT_STEPS} only, as each holds a whole deal and a backfill plans hundreds of thousands.
   * `CycleSummary.steps` counts every one.
   */
  omittedSteps?: number;
}

/** How many steps a cycle that writes keeps in its result (a dry run keeps them all: they are its answer). */
export const KEPT_STEPS = 1000;

/** `DealField`s a `SyncField` may touch in the referral (for `editableFields`). */
export type EditableField = DealField;
