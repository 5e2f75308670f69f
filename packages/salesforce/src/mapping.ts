import {
  CLOSE_REASON_REQUIRED,
  type CloseReason,
  CloseReasonSchema,
  type CoSellDeal,
  type CrmRecord,
  closeReasonText,
  type HelpType,
  HelpTypeSchema,
  MicrosoftAnswerSchema,
  type Person,
  type Registration,
  responseForStage,
  type SalesStage,
  SalesStageSchema,
  SellerResponseSchema,
  type Solution,
  SolutionKindSchema,
  type Stage,
  StageSchema,
  type SyncField,
  SyncStateSchema,
  type SyncStatus,
  splitCloseReason,
  stageWithResponse,
  toCountryCode,
} from "@cosell/core";
import type { SalesforceConfig } from "./config.js";
import { REGISTRATIONS_LENGTH, SALES_STAGE_VALUES } from "./custom-fields.js";
import { listedValue, REGISTRATION_STATUSES } from "./picklist-values.js";
import {
  DEAL_SOLUTIONS_SUBQUERY,
  dealSolutionsOf,
  MICROSOFT_TEAM_SUBQUERY,
  microsoftTeamOf,
} from "./related-read.js";

/** One row of `OpportunityStage`. */
export interface StageInfo {
  apiName: string;
  isActive: boolean;
  isClosed: boolean;
  isWon: boolean;
  sortOrder: number;
}

/** What the adapter learned about the org by describing it (once per adapter instance). */
export interface OrgFacts {
  /** `CurrencyIsoCode` exists (multi-currency org). */
  multiCurrency: boolean;
  /** Account has `BillingCountryCode` (State and Country picklists on). */
  countryCodes: boolean;
  /** Account's DUNS field, when configured and present. */
  accountDuns?: string;
  stages: StageInfo[];
  /**
   * The solution and Microsoft team objects exist and the integration user reads them (setup ran):
   * solutions and Microsoft's team are read and written as their rows, not the old text field.
   */
  relatedRecords?: boolean;
}

/** A row as jsforce returns it (relationship fields nested, child relationships as `{ records }`). */
export type Row = Record<string, unknown>;

/** StageName ⇄ canonical stage: IsClosed/IsWon of the org's stages, with per-stage overrides. */
export class StageMapping {
  private readonly byName = new Map<string, StageInfo>();
  private readonly toCrmMap: Partial<Record<Stage, string>>;

  constructor(stages: readonly StageInfo[], overrides: SalesforceConfig["stages"]) {
    for (const s of stages) this.byName.set(s.apiName, s);
    const sorted = [...stages].filter((s) => s.isActive).sort((a, b) => a.sortOrder - b.sortOrder);
    const has = (n: string) => this.byName.has(n);
    const received = has("Co-sell Review") ? "Co-sell Review" : undefined;
    const lost = sorted.find((s) => s.isClosed && !s.isWon)?.apiName;
    const declined = has("Closed - Partner Declined") ? "Closed - Partner Declined" : lost;
    const defaults: Partial<Record<Stage, string>> = {
      received,
      accepted: sorted.find((s) => !s.isClosed && s.apiName !== received)?.apiName,
      won: sorted.find((s) => s.isWon)?.apiName,
      lost,
      declined,
      expired: lost,
    };
    this.toCrmMap = { ...defaults, ...overrides.toCrm };
    // A stage chosen for received/declined reads back as that stage unless overridden.
    this.readOverrides = {
      ...(received ? { [received]: "received" as Stage } : {}),
      ...(declined && declined !== lost ? { [declined]: "declined" as Stage } : {}),
      ...overrides.toDeal,
    };
    if (overrides.toCrm.received && !overrides.toDeal[overrides.toCrm.received])
      this.readOverrides[overrides.toCrm.received] = "received";
  }

  private readonly readOverrides: Record<string, Stage>;

  /** Every StageName the mapping refers to (verifySetup checks they exist). */
  referencedStages(): string[] {
    return [...new Set([...Object.values(this.toCrmMap), ...Object.keys(this.readOverrides)])].filter(
      (s): s is string => !!s,
    );
  }

  has(stageName: string): boolean {
    return this.byName.has(stageName);
  }

  /**
   * The canonical stage of a record. A "received" stage on an outbound record means accepted
   * (outbound deals start accepted); a closed-lost stage on a record whose referral was declined or
   * expired reads as that, so the engine sees its own write come back.
   */
  toDeal(stageName: string, ctx: { inbound: boolean; coSellStage?: string }): Stage | undefined {
    let stage: Stage | undefined = this.readOverrides[stageName];
    if (!stage) {
      const info = this.byName.get(stageName);
      if (!info) return undefined;
      stage = info.isWon ? "won" : info.isClosed ? "lost" : "accepted";
    }
    if (stage === "received" && !ctx.inbound) return "accepted";
    if (stage === "lost" && (ctx.coSellStage === "declined" || ctx.coSellStage === "expired"))
      return ctx.coSellStage;
    return stage;
  }

  /** The StageName for a canonical stage, or undefined when the org has none (setup reports it). */
  toCrm(stage: Stage): string | undefined {
    return this.toCrmMap[stage];
  }
}

/** The SELECT list of every Opportunity query the adapter runs. */
export function opportunityFields(config: SalesforceConfig, facts: OrgFacts): string {
  const f = config.fields;
  const account = [
    "Name",
    "BillingStreet",
    "BillingCity",
    "BillingState",
    "BillingPostalCode",
    "BillingCountry",
    ...(facts.countryCodes ? ["BillingCountryCode"] : []),
    ...(facts.accountDuns ? [facts.accountDuns] : []),
  ].map((n) => `Account.${n}`);
  const owner = config.teamIncludesOwner
    ? ["Owner.FirstName", "Owner.LastName", "Owner.Email", "Owner.Phone"]
    : [];
  return [
    "Id",
    "Name",
    "Amount",
    ...(facts.multiCurrency ? ["CurrencyIsoCode"] : []),
    "CloseDate",
    "StageName",
    "Description",
    f.campaign,
    "AccountId",
    "OwnerId",
    "CreatedDate",
    "LastModifiedDate",
    "SystemModstamp",
    f.optIn,
    f.referralId,
    f.referralLink,
    f.coSellStage,
    f.helpRequested,
    f.helpNotes,
    f.syncStatus,
    f.lastSyncedAt,
    f.lastError,
    f.consent,
    f.closeReason,
    f.closeReasonCode,
    f.response,
    f.solutions,
    f.direction,
    f.consentToContact,
    f.favorite,
    f.salesStage,
    f.helpType,
    f.respondBy,
    f.microsoftOpportunityId,
    f.microsoftAnswer,
    f.registrationStatus,
    f.registrations,
    f.sentBy,
    ...account,
    ...owner,
    "(SELECT ContactId, IsPrimary, IsDeleted, Contact.FirstName, Contact.LastName, Contact.Email, Contact.Phone FROM OpportunityContactRoles)",
    "(SELECT UserId, IsDeleted, User.FirstName, User.LastName, User.Email, User.Phone FROM OpportunityTeamMembers)",
    ...(facts.relatedRecords ? [DEAL_SOLUTIONS_SUBQUERY, MICROSOFT_TEAM_SUBQUERY] : []),
  ].join(", ");
}

const str = (v: unknown): string | undefined => (typeof v === "string" && v !== "" ? v : undefined);
const iso = (v: unknown): string => {
  const d = new Date(String(v ?? ""));
  return Number.isNaN(d.getTime()) ? new Date(0).toISOString() : d.toISOString();
};

function children(row: Row, rel: string): Row[] {
  const c = row[rel] as { records?: Row[] } | null | undefined;
  // queryAll (the change feed) also returns deleted child rows.
  return (c?.records ?? []).filter((r) => r.IsDeleted !== true);
}

function person(r: Row | null | undefined): Person | undefined {
  if (!r) return undefined;
  return {
    firstName: str(r.FirstName) ?? "",
    lastName: str(r.LastName) ?? "",
    email: str(r.Email) ?? "",
    phone: str(r.Phone) ?? "",
  };
}

/** `id | name | kind` lines into solutions (unknown kinds read as the partner's own). */
export function parseSolutions(text: unknown): Solution[] {
  if (typeof text !== "string") return [];
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter(Boolean)
    .map((line) => {
      const [id = "", name, kind] = line.split("|").map((p) => p.trim());
      const k = SolutionKindSchema.safeParse(kind);
      return { id, name: name || id, kind: k.success ? k.data : "own" };
    });
}

/** Solutions as `id | name | kind` lines, sorted by id (stable, so a rewrite is not a change). */
export function formatSolutions(solutions: readonly Solution[]): string | null {
  if (!solutions.length) return null;
  return [...solutions]
    .sort((a, b) => a.id.localeCompare(b.id))
    .map((s) => `${s.id} | ${s.name} | ${s.kind}`)
    .join("\n");
}

/**
 * A value read from the org that cosell cannot map (a picklist value an admin added, a registrations
 * line that is not what cosell wrote): the member reads as absent and the adapter logs this, once per
 * record and field; the rest of the record syncs.
 */
export interface UnmappedValue {
  crmId: string;
  field: string;
  value: string;
  message: string;
}

/** A sales stage picklist value as the canonical stage (case-insensitive), or undefined. */
export function readSalesStage(v: unknown): SalesStage | undefined {
  if (typeof v !== "string") return undefined;
  const r = SalesStageSchema.safeParse(v.trim().toLowerCase());
  return r.success ? r.data : undefined;
}

/** A help type picklist value as Microsoft's `assistanceRequestCode` (case-insensitive), or undefined. */
export function readHelpType(v: unknown): HelpType | undefined {
  if (typeof v !== "string") return undefined;
  const wanted = v.trim().toLowerCase();
  return HelpTypeSchema.options.find((o) => o.toLowerCase() === wanted);
}

/**
 * Registrations as the text field holds them: one per line, each as Partner Center sent it (JSON with
 * sorted keys, so a rewrite of the same list is not a change). Microsoft does not document their
 * members, so nothing is picked out: the line is the record.
 */
export function formatRegistrations(registrations: readonly Registration[] | undefined): string | null {
  if (!registrations?.length) return null;
  // Whole lines only, within the field's length (a cut line would not read back at all).
  let out = "";
  for (const line of registrations.map((r) => sortedJson(r))) {
    const next = out ? `${out}\n${line}` : line;
    if (next.length > REGISTRATIONS_LENGTH) break;
    out = next;
  }
  return out || null;
}

function sortedJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(sortedJson).join(",")}]`;
  if (v && typeof v === "object")
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${sortedJson((v as Record<string, unknown>)[k])}`)
      .join(",")}}`;
  return JSON.stringify(v) ?? "null";
}

/** The registrations text back into records; `undefined` when a line is not a JSON object. */
export function parseRegistrations(text: unknown): Registration[] | undefined {
  if (typeof text !== "string" || !text.trim()) return undefined;
  const out: Registration[] = [];
  for (const line of text.split(/\r?\n/).filter((l) => l.trim())) {
    try {
      const v: unknown = JSON.parse(line);
      if (!v || typeof v !== "object" || Array.isArray(v)) return undefined;
      out.push(v as Registration);
    } catch {
      return undefined;
    }
  }
  return out;
}

/** The sync status fields cosell wrote on the record (undefined before the first write). */
export function statusOf(row: Row, config: SalesforceConfig): Partial<SyncStatus> | undefined {
  const f = config.fields;
  // A restricted picklist now; a value outside the list (kept from the text field it was) reads as none.
  const state = SyncStateSchema.safeParse(row[f.syncStatus]).data;
  if (!state) return undefined;
  const coSellStage = StageSchema.safeParse(row[f.coSellStage]);
  return {
    state,
    lastSyncedAt: row[f.lastSyncedAt] ? iso(row[f.lastSyncedAt]) : undefined,
    lastError: str(row[f.lastError]) ?? null,
    referralId: str(row[f.referralId]),
    referralUrl: str(row[f.referralLink]),
    coSellStage: coSellStage.success ? coSellStage.data : undefined,
  };
}

/** An Opportunity row (with its account, contact roles and team) as the engine sees it. */
export function rowToRecord(
  row: Row,
  config: SalesforceConfig,
  facts: OrgFacts,
  stages: StageMapping,
  onUnmapped?: (u: UnmappedValue) => void,
): CrmRecord {
  const f = config.fields;
  const unmapped = (field: string, value: unknown, what: string) => {
    if (value === null || value === undefined || value === "") return;
    onUnmapped?.({
      crmId: String(row.Id),
      field,
      value: String(value),
      message: `${field} holds "${String(value)}", which is not ${what}; it reads as empty until it is one.`,
    });
  };
  const salesStage = readSalesStage(row[f.salesStage]);
  if (!salesStage) unmapped(f.salesStage, row[f.salesStage], "one of Qualify, Develop, Propose or Close");
  const helpType = readHelpType(row[f.helpType]);
  if (!helpType)
    unmapped(
      f.helpType,
      row[f.helpType],
      `one of Microsoft's help types (${HelpTypeSchema.options.join(", ")})`,
    );
  const microsoftAnswer = MicrosoftAnswerSchema.safeParse(row[f.microsoftAnswer]).data;
  if (!microsoftAnswer)
    unmapped(
      f.microsoftAnswer,
      row[f.microsoftAnswer],
      `one of Microsoft's answers (${MicrosoftAnswerSchema.options.join(", ")})`,
    );
  const registrations = parseRegistrations(row[f.registrations]);
  if (!registrations)
    unmapped(f.registrations, row[f.registrations], "one registration per line as cosell writes them");
  const inbound = row[f.direction] === "inbound";
  const referralId = str(row[f.referralId]);
  const account = row.Account as Row | null | undefined;
  const roles = children(row, "OpportunityContactRoles");
  const primary = roles.find((r) => r.IsPrimary === true) ?? roles[0];
  const contact = person(primary?.Contact as Row | undefined);
  const team = children(row, "OpportunityTeamMembers")
    .map((m) => person(m.User as Row | undefined))
    .filter((p): p is Person => !!p);
  if (config.teamIncludesOwner) {
    const owner = person(row.Owner as Row | undefined);
    if (owner && !team.some((t) => t.email.toLowerCase() === owner.email.toLowerCase())) team.unshift(owner);
  }
  const stageName = String(row.StageName ?? "");
  const coSellStage = str(row[f.coSellStage]);
  const response = SellerResponseSchema.safeParse(row[f.response]).data;
  if (!response) unmapped(f.response, row[f.response], `one of ${SellerResponseSchema.options.join(" or ")}`);
  const stageRead = stages.toDeal(stageName, { inbound, coSellStage });
  // The seller's picked answer turns a waiting referral into an accepted or declined one.
  const stage = stageRead && inbound ? stageWithResponse(stageRead, response) : stageRead;
  const closeReason = readCloseReason(row[f.closeReasonCode], row[f.closeReason]);
  // A decline the seller made without saying why (a stage move, or an org without the validation
  // rule): Partner Center would get an empty reason. One Partner Center already holds is left alone.
  // A waiting referral moved to a closed-lost stage is declined too (the engine sends it as a decline).
  const declining = stage === "declined" || (inbound && stage === "lost" && coSellStage === "received");
  const reasonMissing = declining && coSellStage !== "declined" && closeReason === undefined;
  const helpRequested = row[f.helpRequested] === true;
  const countryRaw = str(account?.BillingCountryCode) ?? str(account?.BillingCountry);
  const amount = row.Amount;
  const deal: CoSellDeal = {
    ...(referralId ? { id: referralId } : {}),
    direction: inbound ? "inbound" : "outbound",
    kind: inbound || helpRequested ? "coSell" : "privatePipeline",
    name: String(row.Name ?? ""),
    ...(typeof amount === "number"
      ? {
          value: {
            amount,
            currency: (facts.multiCurrency ? str(row.CurrencyIsoCode) : undefined) ?? config.defaultCurrency,
          },
        }
      : {}),
    ...(str(row.CloseDate) ? { closeDate: String(row.CloseDate) } : {}),
    crmId: String(row.Id),
    ...(str(row[f.campaign]) ? { campaignId: String(row[f.campaign]) } : {}),
    ...(str(row.Description) ? { notes: String(row.Description) } : {}),
    customer: {
      name: str(account?.Name) ?? "",
      address: {
        ...(str(account?.BillingStreet) ? { street: String(account!.BillingStreet) } : {}),
        ...(str(account?.BillingCity) ? { city: String(account!.BillingCity) } : {}),
        ...(str(account?.BillingState) ? { state: String(account!.BillingState) } : {}),
        ...(str(account?.BillingPostalCode) ? { postalCode: String(account!.BillingPostalCode) } : {}),
        country: toCountryCode(countryRaw) ?? countryRaw ?? "",
      },
      ...(facts.accountDuns && str(account?.[facts.accountDuns])
        ? { duns: String(account![facts.accountDuns]) }
        : {}),
      ...(contact ? { contact } : {}),
    },
    consentToShareContact: row[f.consent] === true,
    consentToContact: row[f.consentToContact] === true,
    team,
    // Rows once setup made them; until then (or for text an older cosell left) the text lines.
    solutions: (facts.relatedRecords ? dealSolutionsOf(row) : undefined) ?? parseSolutions(row[f.solutions]),
    ...(facts.relatedRecords && microsoftTeamOf(row).length ? { microsoftTeam: microsoftTeamOf(row) } : {}),
    invitation: {
      microsoftHelpRequested: helpRequested,
      ...(str(row[f.helpNotes]) ? { helpNotes: String(row[f.helpNotes]) } : {}),
      ...(helpType ? { helpType } : {}),
    },
    stage: stage ?? "accepted",
    ...(closeReason !== undefined ? { closeReason } : {}),
    favorite: row[f.favorite] === true,
    ...(salesStage ? { salesStage } : {}),
    ...(str(row[f.microsoftOpportunityId])
      ? { microsoftOpportunityId: String(row[f.microsoftOpportunityId]) }
      : {}),
    ...(microsoftAnswer ? { microsoftAnswer } : {}),
    ...(str(row[f.registrationStatus]) ? { registrationStatus: String(row[f.registrationStatus]) } : {}),
    ...(registrations ? { registrations } : {}),
    ...(str(row[f.sentBy]) ? { sentBy: String(row[f.sentBy]) } : {}),
    createdAt: iso(row.CreatedDate),
    updatedAt: iso(row.LastModifiedDate),
    // "Respond by" belongs to a referral still waiting for an answer (Partner Center's expiry applies to
    // nothing else): once the seller answered, a date left on the record is not the deal's any more.
    ...(stage === "received" && str(row[f.respondBy]) ? { expiresAt: iso(row[f.respondBy]) } : {}),
  };
  return {
    crmId: String(row.Id),
    optedIn: row[f.optIn] === true,
    ...(referralId ? { referralId } : {}),
    deal,
    modifiedAt: iso(row.LastModifiedDate),
    version: String(row.SystemModstamp ?? ""),
    ...(!stage
      ? {
          issues: [
            {
              code: "VALUE_NOT_MAPPED",
              path: "stage",
              message: `StageName "${stageName}" is not an OpportunityStage of this org; map it under crm.stages.toDeal.`,
            },
          ],
        }
      : reasonMissing
        ? { issues: [{ code: "REASON_REQUIRED", path: "closeReason", message: CLOSE_REASON_REQUIRED }] }
        : {}),
  };
}

/**
 * The reason text of a record: the picked reason's label with the details (core's closeReasonText).
 * A value an admin added to the picklist is not one of cosell's: it reads as its own text, unless
 * the details say more.
 */
export function readCloseReason(code: unknown, details: unknown): string | undefined {
  const picked = CloseReasonSchema.safeParse(code).data;
  if (picked) return closeReasonText(picked, str(details));
  return closeReasonText(undefined, str(details) ?? str(code));
}

/**
 * The picklist value and the details a reason text is written as, so that reading them back gives
 * the same text (no write goes back and forth): a text {@link splitCloseReason} would not give back
 * whole (a label in other letter case, spaces around it) is kept word for word under `other`.
 */
export function writeCloseReason(text: string | undefined): {
  code: CloseReason | null;
  details: string | null;
} {
  if (!text?.trim()) return { code: null, details: null };
  const { code, details } = splitCloseReason(text);
  if (code && closeReasonText(code, details) === text) return { code, details: details ?? null };
  return { code: "other", details: text };
}

/** A Salesforce id shape (15 or 18 alphanumerics). */
export const SALESFORCE_ID = /^[A-Za-z0-9]{15}([A-Za-z0-9]{3})?$/;

/**
 * Opportunity field values for `fields` of `deal` (flat fields only; account, contact and team are
 * written by the writer). `currentStage` is the StageName the record has now: a stage that already
 * maps to the target is kept, so accepting does not reset a deal's sales stage.
 */
export function dealToOpportunity(
  deal: CoSellDeal,
  fields: readonly SyncField[],
  ctx: { config: SalesforceConfig; facts: OrgFacts; stages: StageMapping; currentStage?: string },
): Row {
  const { config, facts, stages } = ctx;
  const f = config.fields;
  const out: Row = {};
  for (const field of fields) {
    switch (field) {
      case "name":
        out.Name = deal.name;
        break;
      case "value":
        out.Amount = deal.value?.amount ?? null;
        if (facts.multiCurrency && deal.value?.currency) out.CurrencyIsoCode = deal.value.currency;
        break;
      case "closeDate":
        if (deal.closeDate) out.CloseDate = deal.closeDate;
        break;
      case "notes":
        out.Description = deal.notes ?? null;
        break;
      case "campaignId": {
        const v = deal.campaignId ?? null;
        // A lookup only holds Salesforce campaign ids; anything else would fail the whole record.
        if (f.campaign.endsWith("__c") || v === null || (SALESFORCE_ID.test(v) && v.startsWith("701")))
          out[f.campaign] = v;
        break;
      }
      case "consentToShareContact":
        out[f.consent] = deal.consentToShareContact;
        break;
      case "consentToContact":
        out[f.consentToContact] = deal.consentToContact ?? false;
        break;
      case "favorite":
        out[f.favorite] = deal.favorite;
        break;
      case "salesStage":
        out[f.salesStage] = deal.salesStage ? SALES_STAGE_VALUES[deal.salesStage] : null;
        break;
      // Partner Center's own facts: only cosell's integration user writes them.
      case "expiresAt":
        out[f.respondBy] = deal.expiresAt ?? null;
        break;
      case "microsoftOpportunityId":
        out[f.microsoftOpportunityId] = cut(deal.microsoftOpportunityId, 80);
        break;
      case "microsoftAnswer":
        out[f.microsoftAnswer] = deal.microsoftAnswer ?? null;
        break;
      case "registration":
        // A restricted picklist refuses an unlisted value, failing the whole write: blank instead.
        out[f.registrationStatus] = listedValue(REGISTRATION_STATUSES, deal.registrationStatus);
        out[f.registrations] = formatRegistrations(deal.registrations);
        break;
      case "sentBy":
        out[f.sentBy] = cut(deal.sentBy, 255);
        break;
      case "solutions":
        // With the solution objects the rows hold them (written after the opportunity); the old text
        // is emptied so that it cannot come back as the deal's solutions once the rows are gone.
        out[f.solutions] = ctx.facts.relatedRecords ? null : formatSolutions(deal.solutions);
        break;
      case "invitation":
        out[f.helpRequested] = deal.invitation.microsoftHelpRequested;
        out[f.helpNotes] = deal.invitation.helpNotes ?? null;
        out[f.helpType] = deal.invitation.helpType ?? null;
        break;
      case "stage": {
        const inbound = deal.direction === "inbound";
        const keep =
          ctx.currentStage !== undefined &&
          sameStage(stages.toDeal(ctx.currentStage, { inbound }), deal.stage);
        const target = stages.toCrm(deal.stage);
        if (!keep && target) out.StageName = target;
        // Written with the stage so that the record reads back as the same deal (read: stageWithResponse,
        // readCloseReason); a seller's picked answer is replaced by the one Partner Center holds.
        out[f.response] = responseForStage(deal.stage, deal.direction) ?? null;
        const reason = writeCloseReason(deal.closeReason);
        out[f.closeReasonCode] = reason.code;
        out[f.closeReason] = reason.details;
        break;
      }
      default:
        break; // crmId is the record's own id; customer and team are related records
    }
  }
  return out;
}

/**
 * A Partner Center string cut to the field's length: a longer one would fail the whole record's write
 * (STRING_TOO_LONG). Partner Center documents no lengths for these; none seen comes near.
 */
function cut(v: string | undefined, max: number): string | null {
  return v ? v.slice(0, max) : null;
}

function sameStage(a: Stage | undefined, b: Stage): boolean {
  if (a === b) return true;
  const closedLost = (s: Stage | undefined) => s === "lost" || s === "declined" || s === "expired";
  return closedLost(a) && closedLost(b);
}

/**
 * What follows on an inbound record once Partner Center holds the seller's answer (`coSellStage`, from
 * the status written after the accept or decline). The record already read as answered through the
 * response, so the engine has no stage to write back; yet a StageName still on the "received" stage
 * moves to the answer's stage, and the response shows the answer also when the seller moved the
 * stage instead of picking one. Nothing while the referral waits: a response being picked stays.
 */
export function answeredFields(
  coSellStage: Stage,
  known: { stageName: string; inbound?: boolean },
  stages: StageMapping,
  config: SalesforceConfig,
): Row {
  const response = known.inbound ? responseForStage(coSellStage, "inbound") : undefined;
  if (!response) return {};
  const waiting = stages.toDeal(known.stageName, { inbound: true }) === "received";
  const target = waiting ? stages.toCrm(coSellStage) : undefined;
  return { [config.fields.response]: response, ...(target ? { StageName: target } : {}) };
}

/** The status fields of a write (`lastSyncedAt` only when given: an unchanged time is not rewritten). */
export function statusToOpportunity(status: SyncStatus, config: SalesforceConfig): Row {
  const f = config.fields;
  return {
    [f.syncStatus]: status.state,
    [f.lastError]: status.lastError ? status.lastError.slice(0, 32_000) : null,
    ...(status.lastSyncedAt ? { [f.lastSyncedAt]: status.lastSyncedAt } : {}),
    ...(status.referralId ? { [f.referralId]: status.referralId } : {}),
    ...(status.referralUrl ? { [f.referralLink]: status.referralUrl } : {}),
    ...(status.coSellStage ? { [f.coSellStage]: status.coSellStage } : {}),
    // An answered referral has no respond-by date: cleared with the status that says it was answered,
    // so the seller does not see a stale deadline (and no extra write is needed for it).
    ...(status.coSellStage && status.coSellStage !== "received" ? { [f.respondBy]: null } : {}),
  };
}
