import {
  type CoSellDeal,
  type CrmWrite,
  type CrmWriteResult,
  SYNC_FIELDS,
  type SyncField,
} from "@cosell/core";
import type { CollectionResult, SalesforceClient } from "./client.js";
import type { SalesforceConfig } from "./config.js";
import { isRetryable } from "./errors.js";
import {
  answeredFields,
  dealToOpportunity,
  type OrgFacts,
  type Row,
  type StageMapping,
  statusToOpportunity,
} from "./mapping.js";
import { chunkSoqlIn } from "./soql-chunks.js";

/** What the writer knows of a record from the last read (to keep its stage and find its account). */
export interface KnownRecord {
  stageName: string;
  accountId?: string;
  /** Its record type: the stages it may take are its sales process's. */
  recordTypeId?: string;
  /** Created from a referral Microsoft sent (the seller may answer it with the response field). */
  inbound?: boolean;
}

/** Everything the writer needs. */
export interface WriterContext {
  client: SalesforceClient;
  config: SalesforceConfig;
  facts: OrgFacts;
  /** The stages of new opportunities (the default record type's sales process). */
  stages: StageMapping;
  /** The stages of a record of this record type (its sales process's); all stages without one. */
  stagesFor(recordTypeId: string | undefined): StageMapping;
  /** The record type new opportunities get, when the org has record types. */
  defaultRecordType?: string;
  known: Map<string, KnownRecord>;
}

type Failure = Extract<CrmWriteResult, { ok: false }>;

function failure(r: CollectionResult | undefined, crmId?: string): Failure {
  const e = r?.errors?.[0];
  const code = e?.statusCode ?? "UNKNOWN_ERROR";
  return {
    ok: false,
    ...(crmId ? { crmId } : {}),
    error: {
      code,
      message: `${e?.message ?? "Salesforce did not say why."}${e?.fields?.length ? ` (fields: ${e.fields.join(", ")})` : ""}`,
      retryable: isRetryable(code),
    },
  };
}

/** SOQL string literal. */
export function soqlString(v: string): string {
  return `'${v.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
}

/** Canonical fields written onto the Opportunity itself when a record is created. */
const CREATE_FIELDS: readonly SyncField[] = SYNC_FIELDS.filter(
  (f) => f !== "customer" && f !== "team" && f !== "crmId",
);

function accountFields(deal: CoSellDeal, ctx: WriterContext): Row {
  const a = deal.customer.address;
  return {
    Name: deal.customer.name,
    BillingStreet: [a.street, a.street2].filter(Boolean).join("\n") || null,
    BillingCity: a.city ?? null,
    BillingState: a.state ?? null,
    BillingPostalCode: a.postalCode ?? null,
    [ctx.facts.countryCodes ? "BillingCountryCode" : "BillingCountry"]: a.country || null,
    ...(ctx.facts.accountDuns ? { [ctx.facts.accountDuns]: deal.customer.duns ?? null } : {}),
  };
}

/**
 * Updates and status writes of one batch: `PATCH composite/sobjects` with the opportunities, their
 * contact roles and, when the customer changed, their accounts (collections take mixed types). Those
 * together can pass 200 records (a batch of 200 customer updates is 400 and more): the client sends
 * them as several requests of at most 200. Status goes into the status fields only — never into the name.
 */
export async function applyUpdates(
  writes: readonly Extract<CrmWrite, { op: "update" | "status" }>[],
  ctx: WriterContext,
): Promise<CrmWriteResult[]> {
  const { config } = ctx;
  const records: Row[] = [];
  const slots: { write: number; kind: "opportunity" | "account" | "role" }[] = [];
  const results: (CrmWriteResult | undefined)[] = writes.map(() => undefined);
  const roles = await contactRoleChanges(writes, ctx);
  for (const r of roles.update) {
    records.push(r);
    slots.push({ write: -1, kind: "role" });
  }
  writes.forEach((w, i) => {
    const known = ctx.known.get(w.crmId);
    const fields =
      w.op === "update"
        ? dealToOpportunity(w.deal, w.fields, {
            ...ctx,
            stages: ctx.stagesFor(known?.recordTypeId),
            currentStage: known?.stageName,
          })
        : {};
    const status = w.status ? statusToOpportunity(w.status, config) : {};
    const answered =
      w.status?.coSellStage && known
        ? answeredFields(w.status.coSellStage, known, ctx.stagesFor(known.recordTypeId), config)
        : {};
    if (w.op === "update" && w.fields.includes("customer") && known?.accountId) {
      records.push({ attributes: { type: "Account" }, id: known.accountId, ...accountFields(w.deal, ctx) });
      slots.push({ write: i, kind: "account" });
    }
    const body = { ...answered, ...fields, ...status };
    if (!Object.keys(body).length) {
      results[i] = { ok: true, crmId: w.crmId };
      return;
    }
    records.push({ attributes: { type: "Opportunity" }, id: w.crmId, ...body });
    slots.push({ write: i, kind: "opportunity" });
  });
  // Accounts and contact roles first: collections process records in chunks by type, in order.
  const rank = { account: 0, role: 1, opportunity: 2 } as const;
  const order = slots.map((s, k) => ({ s, k })).sort((a, b) => rank[a.s.kind] - rank[b.s.kind]);
  const sorted = order.map((o) => records[o.k]!);
  const sortedSlots = order.map((o) => o.s);
  const res = sorted.length ? await ctx.client.update(sorted) : [];
  const accountFailed = new Map<number, CollectionResult>();
  sortedSlots.forEach((slot, k) => {
    if (slot.kind === "role") return; // a contact role that did not change shows on the next read
    const r = res[k];
    const w = writes[slot.write]!;
    if (slot.kind === "account") {
      if (!r?.success) accountFailed.set(slot.write, r ?? { success: false });
      return;
    }
    if (!r?.success) results[slot.write] = failure(r, w.crmId);
    else {
      results[slot.write] = { ok: true, crmId: w.crmId };
      const stageName = sorted[k]!.StageName;
      if (typeof stageName === "string") {
        const known = ctx.known.get(w.crmId);
        ctx.known.set(w.crmId, { ...known, stageName });
      }
    }
  });
  for (const [i, r] of accountFailed) results[i] = failure(r, writes[i]!.crmId);
  if (roles.create.length) await ctx.client.create(roles.create);
  return results.map((r, i) => r ?? { ok: true, crmId: writes[i]!.crmId });
}

/**
 * Inbound creates of one batch: find or create each customer's Account and Contact, upsert the
 * opportunities on the referral id (a retried create updates instead of duplicating), then add the
 * contact as primary contact role on the new ones.
 */
export async function applyCreates(
  writes: readonly Extract<CrmWrite, { op: "create" }>[],
  ctx: WriterContext,
): Promise<CrmWriteResult[]> {
  const { client, config } = ctx;
  const f = config.fields;
  const results: (CrmWriteResult | undefined)[] = writes.map(() => undefined);

  // Accounts by name and city (one legal entity per location), created when missing.
  const accountKey = (d: CoSellDeal) =>
    `${d.customer.name.trim().toLowerCase()}|${(d.customer.address.city ?? "").trim().toLowerCase()}`;
  const names = [...new Set(writes.map((w) => w.deal.customer.name).filter(Boolean))];
  const accounts = new Map<string, string>();
  // Many long names would overflow one query (statement and URI limits): one query per chunk.
  const rows: Row[] = [];
  for (const soql of chunkSoqlIn(
    "SELECT Id, Name, BillingCity FROM Account WHERE Name IN (",
    names.map(soqlString),
    ") ORDER BY CreatedDate",
  ))
    rows.push(...(await client.query(soql)));
  for (const r of rows) {
    const key = `${String(r.Name).trim().toLowerCase()}|${String(r.BillingCity ?? "")
      .trim()
      .toLowerCase()}`;
    if (!accounts.has(key)) accounts.set(key, String(r.Id));
  }
  const newAccounts = writes.filter((w, i, all) => {
    const k = accountKey(w.deal);
    return w.deal.customer.name && !accounts.has(k) && all.findIndex((x) => accountKey(x.deal) === k) === i;
  });
  if (newAccounts.length) {
    const res = await client.create(
      newAccounts.map((w) => ({ attributes: { type: "Account" }, ...accountFields(w.deal, ctx) })),
    );
    newAccounts.forEach((w, k) => {
      const r = res[k];
      if (r?.success && r.id) accounts.set(accountKey(w.deal), r.id);
      else
        writes.forEach((x, i) => {
          if (accountKey(x.deal) === accountKey(w.deal)) results[i] = failure(r);
        });
    });
  }

  // Contacts by email, created under the account when missing.
  const emails = [
    ...new Set(
      writes.map((w) => w.deal.customer.contact?.email?.toLowerCase()).filter((e): e is string => !!e),
    ),
  ];
  const contacts = new Map<string, string>();
  if (emails.length)
    for (const r of await client.query(
      `SELECT Id, Email FROM Contact WHERE Email IN (${emails.map(soqlString).join(", ")})`,
    ))
      if (typeof r.Email === "string" && !contacts.has(r.Email.toLowerCase()))
        contacts.set(r.Email.toLowerCase(), String(r.Id));
  const newContacts = writes.filter((w, i) => {
    const e = w.deal.customer.contact?.email?.toLowerCase();
    return (
      !results[i] &&
      e &&
      !contacts.has(e) &&
      writes.findIndex((x) => x.deal.customer.contact?.email?.toLowerCase() === e) === i
    );
  });
  if (newContacts.length) {
    const res = await client.create(
      newContacts.map((w) => {
        const c = w.deal.customer.contact!;
        return {
          attributes: { type: "Contact" },
          FirstName: c.firstName || null,
          LastName: c.lastName || c.email,
          Email: c.email,
          Phone: c.phone || null,
          AccountId: accounts.get(accountKey(w.deal)) ?? null,
        };
      }),
    );
    newContacts.forEach((w, k) => {
      const r = res[k];
      if (r?.success && r.id) contacts.set(w.deal.customer.contact!.email.toLowerCase(), r.id);
    });
  }

  // The opportunities, upserted on the referral id.
  const pending = writes.map((w, i) => ({ w, i })).filter(({ i }) => !results[i]);
  const records = pending.map(({ w }) => {
    const stage = ctx.stages.toCrm(w.deal.stage);
    return {
      attributes: { type: "Opportunity" },
      ...dealToOpportunity(w.deal, CREATE_FIELDS, ctx),
      // Required by Salesforce; a referral without them still becomes a record the seller can fix.
      Name: w.deal.name || `Co-sell referral ${w.referralId}`,
      CloseDate: w.deal.closeDate ?? new Date(Date.now() + 90 * 86_400_000).toISOString().slice(0, 10),
      ...(stage ? { StageName: stage } : {}),
      AccountId: accounts.get(accountKey(w.deal)) ?? null,
      [f.direction]: w.deal.direction === "inbound" ? "inbound" : null,
      [f.optIn]: true,
      ...statusToOpportunity(w.status, config),
      [f.referralId]: w.referralId,
    };
  });
  const upserted = records.length ? await client.upsert("Opportunity", f.referralId, records) : [];
  const roles: Row[] = [];
  pending.forEach(({ w, i }, k) => {
    const r = upserted[k];
    if (!r?.success || !r.id) {
      results[i] = failure(r);
      return;
    }
    results[i] = { ok: true, crmId: r.id, created: r.created ?? true };
    ctx.known.set(r.id, {
      stageName: String(records[k]!.StageName ?? ""),
      accountId: accounts.get(accountKey(w.deal)),
      ...(ctx.defaultRecordType ? { recordTypeId: ctx.defaultRecordType } : {}),
    });
    const contactId = contacts.get(w.deal.customer.contact?.email?.toLowerCase() ?? "");
    if (r.created !== false && contactId)
      roles.push({
        attributes: { type: "OpportunityContactRole" },
        OpportunityId: r.id,
        ContactId: contactId,
        IsPrimary: true,
      });
  });
  // A missing contact role is not worth failing the record: the next read shows what is there.
  if (roles.length) await client.create(roles);
  return results.map((r) => r ?? failure(undefined));
}

/**
 * For customer updates that name a contact: finds the contact by email (creating it under the
 * opportunity's account when missing) and makes it the primary contact role, demoting the others.
 * Returns the role updates (sent with the batch's PATCH) and the role inserts.
 */
async function contactRoleChanges(
  writes: readonly Extract<CrmWrite, { op: "update" | "status" }>[],
  ctx: WriterContext,
): Promise<{ update: Row[]; create: Row[] }> {
  const targets = writes.flatMap((w) =>
    w.op === "update" && w.fields.includes("customer") && w.deal.customer.contact?.email
      ? [{ crmId: w.crmId, contact: w.deal.customer.contact }]
      : [],
  );
  if (!targets.length) return { update: [], create: [] };
  const { client } = ctx;
  const emails = [...new Set(targets.map((t) => t.contact.email.toLowerCase()))];
  const contacts = new Map<string, string>();
  for (const r of await client.query(
    `SELECT Id, Email FROM Contact WHERE Email IN (${emails.map(soqlString).join(", ")})`,
  ))
    if (typeof r.Email === "string" && !contacts.has(r.Email.toLowerCase()))
      contacts.set(r.Email.toLowerCase(), String(r.Id));
  const missing = targets.filter(
    (t, i) =>
      !contacts.has(t.contact.email.toLowerCase()) &&
      targets.findIndex((x) => x.contact.email.toLowerCase() === t.contact.email.toLowerCase()) === i,
  );
  if (missing.length) {
    const res = await client.create(
      missing.map((t) => ({
        attributes: { type: "Contact" },
        FirstName: t.contact.firstName || null,
        LastName: t.contact.lastName || t.contact.email,
        Email: t.contact.email,
        Phone: t.contact.phone || null,
        AccountId: ctx.known.get(t.crmId)?.accountId ?? null,
      })),
    );
    missing.forEach((t, k) => {
      const id = res[k]?.success ? res[k]?.id : undefined;
      if (id) contacts.set(t.contact.email.toLowerCase(), id);
    });
  }
  const existing = await client.query(
    `SELECT Id, OpportunityId, ContactId, IsPrimary FROM OpportunityContactRole WHERE OpportunityId IN (${[
      ...new Set(targets.map((t) => t.crmId)),
    ]
      .map(soqlString)
      .join(", ")})`,
  );
  const update: Row[] = [];
  const create: Row[] = [];
  for (const t of targets) {
    const contactId = contacts.get(t.contact.email.toLowerCase());
    if (!contactId) continue;
    const mine = existing.filter((r) => r.OpportunityId === t.crmId);
    for (const r of mine) {
      const primary = r.ContactId === contactId;
      if ((r.IsPrimary === true) !== primary)
        update.push({ attributes: { type: "OpportunityContactRole" }, id: r.Id, IsPrimary: primary });
    }
    if (!mine.some((r) => r.ContactId === contactId))
      create.push({
        attributes: { type: "OpportunityContactRole" },
        OpportunityId: t.crmId,
        ContactId: contactId,
        IsPrimary: true,
      });
  }
  return { update, create };
}
