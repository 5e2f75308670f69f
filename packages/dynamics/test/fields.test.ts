import type { CoSellDeal, CrmWrite, SyncField, SyncStatus } from "@cosell/core";
import { CLOSE_REASON_LABELS, SELLER_RESPONSE_LABELS } from "@cosell/core";
import { completeDeal, sampleDeal, sampleInbound } from "@cosell/core/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CLOSE_REASON_CHOICE,
  HELP_TYPE_CHOICE,
  MICROSOFT_ANSWER_CHOICE,
  SALES_STAGE_CHOICE,
} from "../src/columns.js";
import { columnsFor, createDynamicsAdapter, type DynamicsConfigInput } from "../src/index.js";
import {
  BatchFaults,
  type DynamicsSandbox,
  dataverseDriver,
  sandboxConfig,
  startDynamicsSandbox,
} from "./helpers.js";

/**
 * Issue 12, items 5 and 6 on Dynamics 365: the opportunity columns for the consents, favorite,
 * Partner Center's sales stage, the kind of help, respond-by, Microsoft's opportunity id, the
 * registration and who sent the referral; created by setup, read and written by the adapter.
 */

const c = columnsFor("cosell");
const NEW_COLUMNS = {
  [c.consentToContact]: "Boolean",
  [c.favorite]: "Boolean",
  [c.salesStage]: "Picklist",
  [c.helpType]: "Picklist",
  [c.respondBy]: "DateTime",
  [c.microsoftOpportunityId]: "String",
  [c.microsoftAnswer]: "Picklist",
  [c.registrationStatus]: "String",
  [c.registrations]: "Memo",
  [c.sentBy]: "String",
  [c.response]: "Picklist",
  [c.closeReasonCode]: "Picklist",
};

let sb: DynamicsSandbox;
const warnings: { obj: object; msg: string }[] = [];
const make = (extra: Partial<DynamicsConfigInput> = {}) =>
  createDynamicsAdapter(sandboxConfig(sb, extra), {
    now: () => sb.clock.now(),
    logger: {
      info: () => {},
      debug: () => {},
      warn: (obj, msg) => warnings.push({ obj, msg }),
    },
  });
const driver = () => dataverseDriver(sb, new BatchFaults());
const synced = (): SyncStatus => ({
  state: "synced",
  lastError: null,
  lastSyncedAt: sb.clock.now().toISOString(),
});

/** A GET of the environment's Web API as the app (what an admin's tools see). */
async function webApi<T>(
  path: string,
  on: DynamicsSandbox = sb,
  write?: { method: string; body: unknown },
): Promise<T> {
  const cr = on.credentials.dataverse;
  const token = await fetch(cr.tokenEndpoint, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "client_credentials",
      client_id: cr.clientId,
      client_secret: cr.clientSecret,
      scope: `${cr.resource}/.default`,
    }),
  });
  const { access_token } = (await token.json()) as { access_token: string };
  const res = await fetch(`${cr.environmentUrl.replace(/\/$/, "")}/api/data/v9.2/${path}`, {
    method: write?.method ?? "GET",
    headers: {
      Authorization: `Bearer ${access_token}`,
      Accept: "application/json",
      ...(write ? { "Content-Type": "application/json" } : {}),
    },
    ...(write ? { body: JSON.stringify(write.body) } : {}),
  });
  expect(res.status, await res.clone().text()).toBe(write ? 204 : 200);
  return (write ? undefined : await res.json()) as T;
}

const attributePath = (column: string) =>
  `EntityDefinitions(LogicalName='opportunity')/Attributes(LogicalName='${column}')`;
const descriptionOn = async (on: DynamicsSandbox, column: string) =>
  (
    await webApi<{ Description: { LocalizedLabels: { Label: string }[] } }>(
      `${attributePath(column)}?$select=Description`,
      on,
    )
  ).Description.LocalizedLabels[0]?.Label;
const label = (text: string) => ({
  "@odata.type": "Microsoft.Dynamics.CRM.Label",
  LocalizedLabels: [
    { "@odata.type": "Microsoft.Dynamics.CRM.LocalizedLabel", Label: text, LanguageCode: 1033 },
  ],
});
/** An admin (or an earlier setup) gives a column another description. */
const relabel = (on: DynamicsSandbox, column: string, type: string, schemaName: string, text: string) =>
  webApi(attributePath(column), on, {
    method: "PUT",
    body: {
      "@odata.type": `Microsoft.Dynamics.CRM.${type}`,
      SchemaName: schemaName,
      DisplayName: label(schemaName),
      Description: label(text),
    },
  });

interface Attribute {
  LogicalName: string;
  AttributeType: string;
  Description: { LocalizedLabels: { Label: string }[] };
}
const customAttributes = async () =>
  (
    await webApi<{ value: Attribute[] }>(
      "EntityDefinitions(LogicalName='opportunity')/Attributes?$select=LogicalName,AttributeType,Description&$filter=IsCustomAttribute eq true",
    )
  ).value;
const options = async (column: string) =>
  (
    await webApi<{
      OptionSet: { Options: { Value: number; Label: { LocalizedLabels: { Label: string }[] } }[] };
    }>(
      `EntityDefinitions(LogicalName='opportunity')/Attributes(LogicalName='${column}')/Microsoft.Dynamics.CRM.PicklistAttributeMetadata?$select=LogicalName&$expand=OptionSet`,
    )
  ).OptionSet.Options.map((o) => [o.Value, o.Label.LocalizedLabels[0]!.Label]);

beforeAll(async () => {
  sb = await startDynamicsSandbox();
});
afterAll(async () => {
  await sb?.stop();
});

describe("setup creates the columns", () => {
  it("on a bare environment: each new column with its type, choices as explicit integers, read-only ones say so", async () => {
    const report = await make().setup();
    for (const name of Object.keys(NEW_COLUMNS))
      expect(report.created.some((x) => x.startsWith(`Column ${name} `))).toBe(true);
    const attrs = await customAttributes();
    const byName = new Map(attrs.map((a) => [a.LogicalName, a]));
    for (const [name, type] of Object.entries(NEW_COLUMNS))
      expect(byName.get(name)?.AttributeType).toBe(type);
    const description = (n: string) => byName.get(n)!.Description.LocalizedLabels[0]!.Label;
    for (const n of [
      c.respondBy,
      c.microsoftOpportunityId,
      c.microsoftAnswer,
      c.registrationStatus,
      c.registrations,
      c.sentBy,
    ])
      expect(description(n)).toMatch(/read-only/);
    expect(description(c.consent)).toMatch(/shared with others/);
    expect(description(c.consent)).toMatch(/consentToToShareInfoWithOthers/);

    expect(await options(c.salesStage)).toEqual([
      [183420000, "Qualify"],
      [183420001, "Develop"],
      [183420002, "Propose"],
      [183420003, "Close"],
    ]);
    const help = await options(c.helpType);
    expect(help.map(([v]) => v)).toEqual(Object.values(HELP_TYPE_CHOICE.offsets).map((o) => 183420000 + o));
    expect(help.find(([v]) => v === 183420003)?.[1]).toBe("Proof of concept or demo");
    expect(await options(c.microsoftAnswer)).toEqual([
      [183420000, "Waiting for Microsoft"],
      [183420001, "Accepted by Microsoft"],
      [183420002, "Declined by Microsoft"],
      [183420003, "Expired unanswered"],
    ]);
    expect(await options(c.response)).toEqual([
      [183420000, SELLER_RESPONSE_LABELS.accept],
      [183420001, SELLER_RESPONSE_LABELS.decline],
    ]);
    expect(await options(c.closeReasonCode)).toEqual(
      Object.entries(CLOSE_REASON_CHOICE.offsets).map(([code, offset]) => [
        183420000 + offset,
        CLOSE_REASON_LABELS[code as keyof typeof CLOSE_REASON_LABELS],
      ]),
    );
    expect((await options(c.closeReasonCode)).at(-1)).toEqual([183420006, "Other"]);
    // The text column is the reason's details now.
    expect(description(c.closeReason)).toMatch(/^Details of the close reason/);
    sb.dataverse.activateKeys();
    expect((await make().verifySetup()).checks.filter((x) => !x.ok)).toEqual([]);
  });

  it("verifySetup checks that every option cosell writes exists, and says what to do when not", async () => {
    expect((await make().verifySetup()).checks.find((x) => x.name === "choice options")).toMatchObject({
      ok: true,
    });
    const report = await make({ optionValuePrefix: 55555 }).verifySetup();
    const check = report.checks.find((x) => x.name === "choice options")!;
    expect(report.ok).toBe(false);
    expect(check.detail).toContain(`${c.salesStage} lacks 555550000`);
    expect(check.detail).toContain(c.helpType);
    expect(check.detail).toContain(`${c.response} lacks 555550000, 555550001`);
    expect(check.detail).toContain(`${c.closeReasonCode} lacks 555550000`);
    expect(check.fix).toMatch(/crm\.optionValuePrefix/);
  });

  it("a second run creates nothing and changes no column", async () => {
    const before = await customAttributes();
    const again = await make().setup();
    expect(again.created).toEqual([]);
    expect(await customAttributes()).toEqual(before);
  });

  it("an environment set up by an earlier cosell gets the missing columns and current descriptions on the next setup", async () => {
    const old = await startDynamicsSandbox();
    try {
      old.dataverse.installCosellSetup();
      // As an earlier setup described the consent column; and a column whose description an admin rewrote.
      const earlier = "The customer agreed to share the contact with Microsoft.";
      await relabel(old, c.consent, "BooleanAttributeMetadata", "cosell_ConsentToShareContact", earlier);
      await relabel(old, c.referralId, "StringAttributeMetadata", "cosell_ReferralId", "Our words.");
      // As an earlier setup described the close reason text, before the reason became a choice.
      const earlierReason = "Why the referral was declined or lost.";
      await relabel(old, c.closeReason, "StringAttributeMetadata", "cosell_CloseReason", earlierReason);
      const a = createDynamicsAdapter(sandboxConfig(old), { now: () => old.clock.now() });
      // The doctor names the missing answer columns and says how to add them.
      const doctor = (await a.verifySetup()).checks.find((x) => x.name === "custom columns")!;
      expect(doctor.ok).toBe(false);
      expect(doctor.detail).toContain(c.response);
      expect(doctor.detail).toContain(c.closeReasonCode);
      expect(doctor.fix).toContain("cosell setup");
      const first = await a.setup();
      const createdColumns = first.created.filter((x) => x.startsWith("Column "));
      for (const name of Object.keys(NEW_COLUMNS))
        expect(createdColumns.some((x) => x.startsWith(`Column ${name} `))).toBe(true);
      // The consent column now means sharing the contact with others: its description says so.
      expect(first.created).toContainEqual(
        expect.stringMatching(new RegExp(`^Column ${c.consent} .*description says what it now means$`)),
      );
      expect(await descriptionOn(old, c.consent)).toMatch(/shared with others/);
      expect(await descriptionOn(old, c.referralId)).toBe("Our words.");
      expect(first.created).toContainEqual(
        expect.stringMatching(new RegExp(`^Column ${c.closeReason} .*description says what it now means$`)),
      );
      expect(await descriptionOn(old, c.closeReason)).toMatch(/^Details of the close reason/);
      const display = await webApi<{ DisplayName: { LocalizedLabels: { Label: string }[] } }>(
        `${attributePath(c.closeReason)}?$select=DisplayName`,
        old,
      );
      expect(display.DisplayName.LocalizedLabels[0]?.Label).toBe("Co-sell close reason details");
      expect(first.unchanged.some((x) => x.startsWith(`Column ${c.referralId} `))).toBe(true);
      expect((await a.setup()).created).toEqual([]);
    } finally {
      await old.stop();
    }
  });
});

/** The deal as written with every new field set. */
function fullDeal(base: CoSellDeal): CoSellDeal {
  return {
    ...base,
    consentToShareContact: false,
    consentToContact: true,
    favorite: true,
    salesStage: "propose",
    invitation: {
      microsoftHelpRequested: true,
      helpNotes: "A proof of concept in the customer's tenant.",
      helpType: "ProofOfConceptOrDemo",
    },
    expiresAt: "2026-12-19T07:48:52.000Z",
    microsoftOpportunityId: "7-3FJ9XK2L1",
    microsoftAnswer: "declined",
    registrationStatus: "ReviewPending",
    registrations: [
      { registrationId: "reg-1", programName: "Azure IP co-sell", status: "Approved", amount: 1200 },
      { registrationId: "100", note: "two · parts", "odd key": true },
    ],
    sentBy: "Microsoft",
  };
}
const NEW_FIELDS: SyncField[] = [
  "consentToShareContact",
  "consentToContact",
  "favorite",
  "salesStage",
  "invitation",
  "expiresAt",
  "microsoftOpportunityId",
  "microsoftAnswer",
  "registration",
  "sentBy",
];
const pick = (d: CoSellDeal) => ({
  consentToShareContact: d.consentToShareContact,
  consentToContact: d.consentToContact,
  favorite: d.favorite,
  salesStage: d.salesStage,
  invitation: { ...d.invitation },
  expiresAt: d.expiresAt,
  microsoftOpportunityId: d.microsoftOpportunityId,
  microsoftAnswer: d.microsoftAnswer,
  registrationStatus: d.registrationStatus,
  registrations: d.registrations,
  sentBy: d.sentBy,
});

describe("read and write through the adapter", () => {
  it("every new field written by an update reads back as written; cleared, each reads back absent", async () => {
    const id = await driver().createOpportunity(sampleDeal({ name: "All the fields" }), { optedIn: true });
    const a = make();
    const [rec] = await a.read([id]);
    const want = fullDeal(rec!.deal);
    expect(await a.apply([{ op: "update", crmId: id, deal: want, fields: NEW_FIELDS }])).toEqual([
      { ok: true, crmId: id },
    ]);
    const row = sb.dataverse.get("opportunities", id)!;
    expect(row[c.salesStage]).toBe(183420000 + SALES_STAGE_CHOICE.offsets.propose);
    expect(row[c.helpType]).toBe(183420000 + HELP_TYPE_CHOICE.offsets.ProofOfConceptOrDemo);
    expect(row[c.microsoftAnswer]).toBe(183420000 + MICROSOFT_ANSWER_CHOICE.offsets.declined);
    expect(String(row[c.registrations]).split("\n")[0]).toBe(
      "registrationId: reg-1 · programName: Azure IP co-sell · status: Approved · amount: 1200",
    );
    const [back] = await make().read([id]);
    expect(pick(back!.deal)).toEqual(pick(want));
    expect(back!.issues).toBeUndefined();

    const cleared: CoSellDeal = {
      ...back!.deal,
      consentToContact: false,
      favorite: false,
      salesStage: undefined,
      invitation: { microsoftHelpRequested: false },
      expiresAt: undefined,
      microsoftOpportunityId: undefined,
      microsoftAnswer: undefined,
      registrationStatus: undefined,
      registrations: undefined,
      sentBy: undefined,
    };
    await make().apply([{ op: "update", crmId: id, deal: cleared, fields: NEW_FIELDS }]);
    const [gone] = await make().read([id]);
    expect(pick(gone!.deal)).toEqual(pick(cleared));
  });

  it("an opportunity created from a referral starts with them (one $batch write once its solutions are in the catalog)", async () => {
    const a = make();
    const deal = fullDeal(
      completeDeal(sampleInbound({ name: "Inbound with facts", stage: "received" }), sb.clock.now()),
    );
    // A solution new to the catalog costs one more write (its catalog row): not this test's subject.
    await a.solutionCatalog!.upsert(deal.solutions.map((s) => ({ ...s, active: true })));
    const writes = a.stats().writes;
    const [res] = await a.apply([
      {
        op: "create",
        referralId: "ref-fields-1",
        deal,
        status: { ...synced(), referralId: "ref-fields-1", coSellStage: "received" },
      } satisfies CrmWrite,
    ]);
    expect(res).toMatchObject({ ok: true, created: true });
    expect(a.stats().writes - writes).toBe(1);
    const [back] = await make().read([(res as { crmId: string }).crmId]);
    expect(pick(back!.deal)).toEqual(pick(deal));
  });

  it("a seller's edits in Dynamics read into the deal: consents, favorite, sales stage, kind of help", async () => {
    const d = driver();
    const id = await d.createOpportunity(sampleDeal({ name: "Seller edits" }), { optedIn: true });
    d.update(id, {
      consentToContact: true,
      consentToShareContact: false,
      favorite: true,
      salesStage: "develop",
      invitation: { microsoftHelpRequested: true, helpNotes: "Licensing", helpType: "QuotesOrLicensing" },
    });
    const [rec] = await make().read([id]);
    expect(rec!.deal).toMatchObject({
      consentToContact: true,
      consentToShareContact: false,
      favorite: true,
      salesStage: "develop",
      kind: "coSell",
      invitation: { microsoftHelpRequested: true, helpNotes: "Licensing", helpType: "QuotesOrLicensing" },
    });
  });

  it("a choice value cosell does not know reads as absent with a warning naming the record; the read goes on", async () => {
    const d = driver();
    const id = await d.createOpportunity(sampleDeal({ name: "Unknown options" }), { optedIn: true });
    const other = await d.createOpportunity(sampleDeal({ name: "Plain" }), { optedIn: true });
    d.update(id, {
      salesStage: "close",
      invitation: { microsoftHelpRequested: true, helpType: "GeneralOrOther" },
    });
    warnings.length = 0;
    // Options created under one option value prefix, read by a config that says another: every
    // value on the row is one this adapter does not know.
    const recs = await make({ optionValuePrefix: 55555 }).read([id, other]);
    const rec = recs.find((r) => r.crmId === id)!;
    expect(rec.deal.salesStage).toBeUndefined();
    expect(rec.deal.invitation.helpType).toBeUndefined();
    expect(rec.deal.invitation.microsoftHelpRequested).toBe(true);
    expect(rec.issues).toBeUndefined();
    expect(recs.find((r) => r.crmId === other)?.deal.name).toBe("Plain");
    expect(warnings.map((w) => w.obj)).toEqual([
      { crmId: id, column: c.salesStage, value: 183420003 },
      { crmId: id, column: c.helpType, value: 183420001 },
    ]);
    expect(warnings[0]!.msg).toMatch(/does not know/);
  });

  it("an environment not yet set up for these columns: reads stop with a named error that says to run setup", async () => {
    const id = await driver().createOpportunity(sampleDeal({ name: "Before setup" }), { optedIn: true });
    const err = await make({ publisherPrefix: "nosetup" })
      .read([id])
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "DYNAMICS_COLUMN_MISSING" });
    expect((err as Error).message).toMatch(/nosetup_\w+.*cosell setup/);
  });

  it("declares the new fields: the seller's both ways, Partner Center's own to the CRM only", async () => {
    const { fieldDirections } = (await make().describe()).capabilities;
    expect(fieldDirections).toMatchObject({
      consentToShareContact: "both",
      consentToContact: "both",
      favorite: "both",
      salesStage: "both",
      invitation: "both",
      expiresAt: "toCrm",
      microsoftOpportunityId: "toCrm",
      microsoftAnswer: "toCrm",
      registration: "toCrm",
      sentBy: "toCrm",
    });
  });
});
