import {
  CLOSE_REASON_REQUIRED,
  type CoSellDeal,
  type CrmRecord,
  closeReasonText,
  emptyDeal,
  type Person,
  responseForStage,
  type SellerResponse,
  type Solution,
  type Stage,
  type SyncField,
  type SyncStatus,
  splitCloseReason,
  stageWithResponse,
  type ValidationIssue,
} from "@cosell/core";
import {
  COSELL_STAGE_CHOICE,
  DIRECTION_CHOICE,
  REGISTRATION_STATUS_CHOICE,
  registrationState,
} from "./choice-columns.js";
import {
  type Choice,
  CLOSE_REASON_CHOICE,
  type CosellColumns,
  choiceOf,
  choiceValue,
  DEFAULT_OPTION_VALUE_PREFIX,
  HELP_TYPE_CHOICE,
  MICROSOFT_ANSWER_CHOICE,
  REGISTRATIONS_MAX_LENGTH,
  SALES_STAGE_CHOICE,
  SELLER_RESPONSE_CHOICE,
  syncStateValue,
} from "./columns.js";
import { countryCode } from "./countries.js";
import { parseRegistrations, registrationsText } from "./registrations.js";

/** A Web API row (`@odata.etag`, columns, `_x_value` lookups). */
export type Row = Record<string, unknown>;

/** Related rows an opportunity points at, resolved in one `$batch` per page. */
export interface Related {
  accounts: Map<string, Row>;
  contacts: Map<string, Row>;
  campaigns: Map<string, Row>;
  /** ISO code by `transactioncurrencyid`. */
  currencies: Map<string, string>;
  /** Description of the latest Opportunity Close of lost rows without a co-sell close reason. */
  closeDescriptions?: Map<string, string>;
  /** Owner as a team member (undefined: not a person, e.g. the application user). */
  owners: Map<string, Person | undefined>;
}

/** Statecode of an opportunity (dynamics.md §2.1). */
export const OPEN = 0;
export const WON = 1;
export const LOST = 2;

/** The statecode a canonical stage lives in. */
export function stateOfStage(stage: Stage): number {
  if (stage === "won") return WON;
  if (stage === "lost" || stage === "declined" || stage === "expired") return LOST;
  return OPEN;
}

/** Base opportunity columns read on every query (custom columns are added per prefix). */
export function opportunitySelect(c: CosellColumns): string {
  return [
    "opportunityid",
    "name",
    "estimatedvalue",
    "_transactioncurrencyid_value",
    "estimatedclosedate",
    "description",
    "statecode",
    "statuscode",
    "salesstage",
    "actualvalue",
    "actualclosedate",
    "_parentaccountid_value",
    "_parentcontactid_value",
    "_campaignid_value",
    "_ownerid_value",
    "createdon",
    "modifiedon",
    "versionnumber",
    c.referralId,
    c.referralLink,
    c.direction,
    c.syncFlag,
    c.helpRequested,
    c.helpNotes,
    c.consent,
    c.consentToContact,
    c.favorite,
    c.salesStage,
    c.helpType,
    c.respondBy,
    c.microsoftOpportunityId,
    c.microsoftAnswer,
    c.registrationStatus,
    c.registrationStatusCode,
    c.registrations,
    c.sentBy,
    c.coSellStatus,
    c.response,
    c.closeReasonCode,
    c.closeReason,
    c.solutions,
    c.team,
    c.syncStatus,
    c.lastSyncOn,
    c.lastSyncError,
  ].join(",");
}

const str = (v: unknown): string | undefined => (typeof v === "string" && v !== "" ? v : undefined);

/** A contact or user row as a canonical person. */
export function contactPerson(row: Row | undefined): Person | undefined {
  if (!row) return undefined;
  return {
    firstName: str(row.firstname) ?? "",
    lastName: str(row.lastname) ?? "",
    email: str(row.emailaddress1) ?? "",
    phone: str(row.telephone1) ?? str(row.mobilephone) ?? "",
  };
}

/**
 * The canonical stage a row shows. Won/lost come from `statecode`; the co-sell status column tells
 * apart the stages Dynamics has no state for (received vs accepted while open; declined or expired
 * vs lost while closed), so what cosell wrote reads back as written.
 */
export function stageOf(row: Row, c: CosellColumns, optionValuePrefix = DEFAULT_OPTION_VALUE_PREFIX): Stage {
  const status = coSellStatusOf(row, c, optionValuePrefix);
  if (row.statecode === WON) return "won";
  if (row.statecode === LOST) return status === "declined" || status === "expired" ? status : "lost";
  return status === "received" ? "received" : "accepted";
}

/**
 * The stage of a row once the seller's response is counted (inbound rows only: an outbound deal
 * has nothing to answer). A decline picked on an open row stays a decline after cosell wrote
 * "declined" to the co-sell status, or the next read would take the open row for an accepted one.
 */
export function answeredStage(
  row: Row,
  c: CosellColumns,
  response: SellerResponse | undefined,
  optionValuePrefix = DEFAULT_OPTION_VALUE_PREFIX,
): Stage {
  const stage = stageOf(row, c, optionValuePrefix);
  if (!isInbound(row, c, optionValuePrefix)) return stage;
  if (
    row.statecode === OPEN &&
    response === "decline" &&
    coSellStatusOf(row, c, optionValuePrefix) === "declined"
  )
    return "declined";
  return stageWithResponse(stage, response);
}

/** The co-sell stage choice of a row (undefined when empty or an option cosell does not know). */
export function coSellStatusOf(row: Row, c: CosellColumns, optionValuePrefix: number): Stage | undefined {
  const v = row[c.coSellStatus];
  return typeof v === "number" ? choiceOf(COSELL_STAGE_CHOICE, optionValuePrefix, v) : undefined;
}

/** Whether the direction choice says Microsoft (or another partner) sent the deal. */
export function isInbound(row: Row, c: CosellColumns, optionValuePrefix: number): boolean {
  return row[c.direction] === choiceValue(DIRECTION_CHOICE, optionValuePrefix, "inbound");
}

/** The co-sell stage choice's value of a stage, for writes. */
export function coSellStageValue(stage: Stage, optionValuePrefix: number): number {
  return choiceValue(COSELL_STAGE_CHOICE, optionValuePrefix, stage);
}

/** The solutions an earlier release kept as JSON in the memo column (read for the migration to rows). */
export function parseSolutions(raw: unknown, issues: ValidationIssue[], column: string): Solution[] {
  const text = str(raw);
  if (!text) return [];
  try {
    const list = JSON.parse(text) as unknown;
    if (!Array.isArray(list)) throw new Error("not a list");
    return list.map((s: Record<string, unknown>) => ({
      id: String(s.id ?? ""),
      name: String(s.name ?? ""),
      kind: s.kind === "microsoft" || s.kind === "thirdParty" ? s.kind : "own",
    }));
  } catch {
    issues.push({
      code: "VALUE_NOT_MAPPED",
      path: "solutions",
      message: `${column} must hold a JSON list like [{"id":"…","name":"…","kind":"own"}]; fix the value on the opportunity.`,
    });
    return [];
  }
}

/** Something on a row cosell reads past (the record still syncs): logged once per read. */
export interface MappingWarning {
  crmId: string;
  column: string;
  /** What the column held (a choice's integer, a line of text cosell wrote); never a secret. */
  value: unknown;
  message: string;
}

/** How {@link rowToRecord} reads what depends on the environment. */
export interface RowReadOptions {
  /** Extra country names (lower-cased) → ISO codes. */
  countryNames?: Record<string, string>;
  /** The publisher's option value prefix the choices were created with. */
  optionValuePrefix?: number;
  /** Told about values read as absent (an unknown choice option, an unreadable line). */
  warn?(w: MappingWarning): void;
}

/** Maps an opportunity row (and what it points at) into the adapter contract's record. */
export function rowToRecord(
  row: Row,
  related: Related,
  c: CosellColumns,
  options: RowReadOptions = {},
): CrmRecord {
  const { countryNames = {}, optionValuePrefix = DEFAULT_OPTION_VALUE_PREFIX } = options;
  const issues: ValidationIssue[] = [];
  const crmId = String(row.opportunityid);
  const warn = (column: string, value: unknown, message: string) =>
    options.warn?.({ crmId, column, value, message });
  /**
   * A choice column as its canonical value. An option cosell did not create (an admin added one)
   * reads as absent with a warning: the rest of the record still syncs.
   */
  const choice = <T extends string>(column: string, ch: Choice<T>): T | undefined => {
    const v = row[column];
    if (v === null || v === undefined) return undefined;
    const known = typeof v === "number" ? choiceOf(ch, optionValuePrefix, v) : undefined;
    if (known === undefined)
      warn(
        column,
        v,
        `${column} holds the option ${String(v)}, which cosell does not know; it is read as empty. Pick one of the options cosell created.`,
      );
    return known;
  };
  const salesStage = choice(c.salesStage, SALES_STAGE_CHOICE);
  const helpType = choice(c.helpType, HELP_TYPE_CHOICE);
  const microsoftAnswer = choice(c.microsoftAnswer, MICROSOFT_ANSWER_CHOICE);
  const registrationStatus = str(row[c.registrationStatus]);
  const registrations = parseRegistrations(str(row[c.registrations]), (line) =>
    warn(
      c.registrations,
      line,
      `A line of ${c.registrations} does not read as a registration; it is left out.`,
    ),
  );
  const respondBy = str(row[c.respondBy]);
  const account = related.accounts.get(String(row._parentaccountid_value ?? ""));
  const contact = contactPerson(related.contacts.get(String(row._parentcontactid_value ?? "")));
  const campaign = related.campaigns.get(String(row._campaignid_value ?? ""));
  const owner = related.owners.get(String(row._ownerid_value ?? ""));
  const inbound = isInbound(row, c, optionValuePrefix);
  const helpRequested = row[c.helpRequested] === true;
  const response = choice(c.response, SELLER_RESPONSE_CHOICE);
  const stage = answeredStage(row, c, response, optionValuePrefix);
  // A seller who closes as lost in the form types the reason into the close dialog (opportunityclose).
  const closeReason = closeReasonText(
    choice(c.closeReasonCode, CLOSE_REASON_CHOICE),
    str(row[c.closeReason]) ?? related.closeDescriptions?.get(crmId),
  );
  // The seller's own decline (cosell has not written "declined" yet) needs a reason, which Partner
  // Center then receives. Dataverse validates a save only through a business rule or a plug-in
  // (learn.microsoft.com/power-apps/maker/data-platform/data-platform-create-business-rule), which
  // setup does not install, so the record is marked with the message and nothing is sent. Closing
  // a received referral as Lost is a decline too (moving the stage still works).
  const status = coSellStatusOf(row, c, optionValuePrefix);
  const declining = stage === "declined" || (inbound && stage === "lost" && status === "received");
  if (declining && !closeReason && status !== "declined")
    issues.push({ code: "REASON_REQUIRED", path: "closeReason", message: CLOSE_REASON_REQUIRED });
  const rawCountry = str(account?.address1_country);
  const country = countryCode(rawCountry, countryNames);
  if (rawCountry && !country)
    issues.push({
      code: "VALUE_NOT_MAPPED",
      path: "customer.address.country",
      message: `The account's country "${rawCountry}" is not an ISO 3166 code or a known name. Type the two-letter code (e.g. US) or add it to crm.countryNames.`,
    });
  const amount = typeof row.estimatedvalue === "number" ? row.estimatedvalue : undefined;
  const deal: CoSellDeal = {
    direction: inbound ? "inbound" : "outbound",
    kind: inbound || helpRequested ? "coSell" : "privatePipeline",
    name: str(row.name) ?? "",
    ...(amount !== undefined
      ? {
          value: {
            amount,
            currency: related.currencies.get(String(row._transactioncurrencyid_value ?? "")) ?? "USD",
          },
        }
      : {}),
    ...(str(row.estimatedclosedate) ? { closeDate: String(row.estimatedclosedate).slice(0, 10) } : {}),
    crmId,
    ...(campaign ? { campaignId: str(campaign.codename) ?? String(campaign.campaignid) } : {}),
    ...(str(row.description) ? { notes: String(row.description) } : {}),
    customer: {
      name: str(account?.name) ?? "",
      address: {
        ...(str(account?.address1_line1) ? { street: String(account!.address1_line1) } : {}),
        ...(str(account?.address1_line2) ? { street2: String(account!.address1_line2) } : {}),
        ...(str(account?.address1_city) ? { city: String(account!.address1_city) } : {}),
        ...(str(account?.address1_stateorprovince)
          ? { state: String(account!.address1_stateorprovince) }
          : {}),
        ...(str(account?.address1_postalcode) ? { postalCode: String(account!.address1_postalcode) } : {}),
        country: country ?? "",
      },
      ...(contact ? { contact } : {}),
    },
    consentToShareContact: row[c.consent] === true,
    consentToContact: row[c.consentToContact] === true,
    team: teamOf(owner, row[c.team]),
    // Related catalog rows, filled by the adapter (solution-links.ts); the memo column is migrated
    // at setup and no longer read, so a broken value left in it blocks nothing.
    solutions: [],
    invitation: {
      microsoftHelpRequested: helpRequested,
      ...(str(row[c.helpNotes]) ? { helpNotes: String(row[c.helpNotes]) } : {}),
      ...(helpType ? { helpType } : {}),
    },
    stage,
    ...((row.statecode === LOST || stage === "declined") && closeReason ? { closeReason } : {}),
    favorite: row[c.favorite] === true,
    ...(salesStage ? { salesStage } : {}),
    ...(str(row[c.microsoftOpportunityId])
      ? { microsoftOpportunityId: String(row[c.microsoftOpportunityId]) }
      : {}),
    ...(microsoftAnswer ? { microsoftAnswer } : {}),
    ...(registrationStatus ? { registrationStatus } : {}),
    ...(registrations ? { registrations } : {}),
    ...(str(row[c.sentBy]) ? { sentBy: String(row[c.sentBy]) } : {}),
    createdAt: toIso(row.createdon),
    updatedAt: toIso(row.modifiedon),
    ...(respondBy && !Number.isNaN(Date.parse(respondBy)) ? { expiresAt: toIso(respondBy) } : {}),
    ...(str(row["@odata.etag"]) ? { version: String(row["@odata.etag"]) } : {}),
  };
  const referralId = str(row[c.referralId]);
  return {
    crmId,
    optedIn: row[c.syncFlag] === true,
    ...(referralId ? { referralId } : {}),
    deal,
    modifiedAt: toIso(row.modifiedon),
    ...(str(row["@odata.etag"]) ? { version: String(row["@odata.etag"]) } : {}),
    ...(issues.length ? { issues } : {}),
    // The response decided the stage while the row's own state does not show it yet: the engine
    // writes the stage once Partner Center holds the answer (a decline closes the row as lost).
    ...(stage !== stageOf(row, c, optionValuePrefix) ? { unsettled: ["stage"] as SyncField[] } : {}),
  };
}

/** The owner (when a person) first, then the members kept in the team column, without duplicates. */
function teamOf(owner: Person | undefined, raw: unknown): Person[] {
  const team: Person[] = owner ? [owner] : [];
  const text = str(raw);
  if (!text) return team;
  try {
    const list = JSON.parse(text) as Partial<Person>[];
    for (const p of Array.isArray(list) ? list : []) {
      const person = {
        firstName: String(p.firstName ?? ""),
        lastName: String(p.lastName ?? ""),
        email: String(p.email ?? ""),
        phone: String(p.phone ?? ""),
      };
      if (!team.some((t) => t.email.toLowerCase() === person.email.toLowerCase())) team.push(person);
    }
  } catch {
    // a hand-edited, broken value: the owner still counts
  }
  return team;
}

function toIso(v: unknown): string {
  const t = typeof v === "string" ? Date.parse(v) : Number.NaN;
  return Number.isNaN(t) ? new Date(0).toISOString() : new Date(t).toISOString();
}

/**
 * A placeholder record for a `$deletedEntity`. `optedIn` stays true: the engine keeps the flag on the
 * link, and a deleted record must not later look like a record the seller opted out (which would get a
 * "paused" status written to a row that no longer exists).
 */
export function deletedRecord(id: string): CrmRecord {
  const at = new Date(0);
  return { crmId: id, optedIn: true, deleted: true, modifiedAt: at.toISOString(), deal: emptyDeal(at) };
}

/**
 * Opportunity columns for the plain fields of `deal` named in `fields` (lookups, customer and stage
 * are written by the adapter, which needs ids it looks up first). Choices are written as the
 * integers of the options setup created with `optionValuePrefix`.
 */
export function plainFieldColumns(
  deal: CoSellDeal,
  fields: readonly SyncField[],
  c: CosellColumns,
  optionValuePrefix: number,
): Row {
  const out: Row = {};
  for (const f of fields) {
    switch (f) {
      case "name":
        out.name = deal.name;
        break;
      case "value":
        out.estimatedvalue = deal.value?.amount ?? null;
        break;
      case "closeDate":
        out.estimatedclosedate = deal.closeDate ?? null;
        break;
      case "notes":
        out.description = deal.notes ?? null;
        break;
      case "consentToShareContact":
        out[c.consent] = deal.consentToShareContact;
        break;
      case "consentToContact":
        out[c.consentToContact] = deal.consentToContact ?? false;
        break;
      case "favorite":
        out[c.favorite] = deal.favorite;
        break;
      case "salesStage":
        out[c.salesStage] = deal.salesStage
          ? choiceValue(SALES_STAGE_CHOICE, optionValuePrefix, deal.salesStage)
          : null;
        break;
      case "expiresAt":
        out[c.respondBy] = deal.expiresAt ?? null;
        break;
      case "microsoftOpportunityId":
        out[c.microsoftOpportunityId] = deal.microsoftOpportunityId?.slice(0, 100) ?? null;
        break;
      case "microsoftAnswer":
        out[c.microsoftAnswer] = deal.microsoftAnswer
          ? choiceValue(MICROSOFT_ANSWER_CHOICE, optionValuePrefix, deal.microsoftAnswer)
          : null;
        break;
      case "registration":
        out[c.registrationStatus] = deal.registrationStatus?.slice(0, 100) ?? null;
        out[c.registrationStatusCode] = registrationCode(deal.registrationStatus, optionValuePrefix);
        out[c.registrations] = registrationsText(deal.registrations, REGISTRATIONS_MAX_LENGTH);
        break;
      case "sentBy":
        out[c.sentBy] = deal.sentBy?.slice(0, 200) ?? null;
        break;
      // Solutions are related catalog rows now (solution-links.ts); the memo column is no longer written.
      case "team":
        out[c.team] = deal.team.length ? JSON.stringify(deal.team) : null;
        break;
      case "invitation":
        out[c.helpRequested] = deal.invitation.microsoftHelpRequested;
        out[c.helpNotes] = deal.invitation.helpNotes ?? null;
        out[c.helpType] = deal.invitation.helpType
          ? choiceValue(HELP_TYPE_CHOICE, optionValuePrefix, deal.invitation.helpType)
          : null;
        break;
      default:
        break;
    }
  }
  return out;
}

/**
 * The answer columns of a stage written to a row: the response a seller would have picked for it
 * (so the form shows Partner Center's answer), and the close reason split into the listed reason
 * and its details, which {@link rowToRecord} reads back as the same text.
 */
export function answerColumns(deal: CoSellDeal, c: CosellColumns, optionValuePrefix: number): Row {
  const response = responseForStage(deal.stage, deal.direction);
  const { code, details } = splitCloseReason(deal.closeReason);
  return {
    [c.response]: response ? choiceValue(SELLER_RESPONSE_CHOICE, optionValuePrefix, response) : null,
    [c.closeReasonCode]: code ? choiceValue(CLOSE_REASON_CHOICE, optionValuePrefix, code) : null,
    [c.closeReason]: details ?? null,
  };
}

/** The status columns (never the opportunity name). */
export function statusColumns(status: SyncStatus, c: CosellColumns, optionValuePrefix: number): Row {
  return {
    [c.syncStatus]: syncStateValue(optionValuePrefix, status.state),
    [c.lastSyncError]: status.lastError ? status.lastError.slice(0, 4000) : null,
    ...(status.lastSyncedAt ? { [c.lastSyncOn]: status.lastSyncedAt } : {}),
    ...(status.referralId ? { [c.referralId]: status.referralId } : {}),
    ...(status.referralUrl ? { [c.referralLink]: status.referralUrl.slice(0, 500) } : {}),
    ...(status.coSellStage
      ? { [c.coSellStatus]: coSellStageValue(status.coSellStage, optionValuePrefix) }
      : {}),
  };
}

/** The registration choice's value of Partner Center's registration status (null when absent). */
function registrationCode(status: string | undefined, optionValuePrefix: number): number | null {
  const state = registrationState(status);
  return state ? choiceValue(REGISTRATION_STATUS_CHOICE, optionValuePrefix, state) : null;
}
