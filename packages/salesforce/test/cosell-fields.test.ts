import { CLOSE_REASON_REQUIRED, type CoSellDeal, type CrmWrite } from "@cosell/core";
import { completeDeal, sampleDeal, sampleInbound } from "@cosell/core/testing";
import type { Sandbox } from "@cosell/sandbox";
import type { Connection } from "jsforce";
import { beforeEach, describe, expect, it } from "vitest";
import { createSalesforceAdapter, customFieldSpecs, parseSalesforceConfig } from "../src/index.js";
import { solutionObjectSpecs } from "../src/solution-objects.js";
import { adminOf, bareOrgPerTest, salesforceDriver, sandboxAdapter, sandboxConfig } from "./harness.js";

/**
 * The co-sell fields of issue 12 (consents kept apart, favorite, sales stage, help type and Partner
 * Center's own facts) on a sandbox org: what `setup()` creates, how an org set up before them is
 * upgraded, and every field's way through the adapter and back.
 */

let sb: Sandbox<"salesforce">;
// Each test starts from the bare org (no co-sell fields), with an empty request log.
bareOrgPerTest((started) => {
  sb = started;
});

const config = () => parseSalesforceConfig(sandboxConfig(sb));

/** The fields an org set up before this change has (the ones cosell created then). */
const OLDER_KEYS = [
  "optIn",
  "referralId",
  "referralLink",
  "coSellStage",
  "helpRequested",
  "helpNotes",
  "syncStatus",
  "lastSyncedAt",
  "lastError",
  "consent",
  "closeReason",
  "solutions",
  "direction",
] as const;

const NEW_FIELDS = {
  consentToContact: "Cosell_Consent_To_Contact__c",
  favorite: "Cosell_Favorite__c",
  salesStage: "Cosell_Sales_Stage__c",
  helpType: "Cosell_Help_Type__c",
  respondBy: "Cosell_Respond_By__c",
  microsoftOpportunityId: "Cosell_Microsoft_Opportunity_Id__c",
  microsoftAnswer: "Cosell_Microsoft_Answer__c",
  registrationStatus: "Cosell_Registration_Status__c",
  registrations: "Cosell_Registrations__c",
  sentBy: "Cosell_Sent_By__c",
  response: "Cosell_Response__c",
  closeReasonCode: "Cosell_Close_Reason_Code__c",
} as const;

type Md = Record<string, unknown>;
const asList = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
const yes = (v: unknown) => v === true || v === "true";

async function readField(conn: Connection, name: string): Promise<Md> {
  return (await conn.metadata.read("CustomField", `Opportunity.${name}`)) as unknown as Md;
}

async function grants(conn: Connection): Promise<Map<string, { readable: boolean; editable: boolean }>> {
  const ps = (await conn.metadata.read("PermissionSet", "Cosell_Sync")) as unknown as Md;
  return new Map(
    asList(ps.fieldPermissions as Md | Md[]).map((fp) => [
      String(fp.field),
      { readable: yes(fp.readable), editable: yes(fp.editable) },
    ]),
  );
}

describe("setup: the new co-sell fields", () => {
  it("a bare org gets each field with its type, values and help text, and read/edit on all of them; a second run changes nothing", async () => {
    const adapter = sandboxAdapter(sb);
    const first = await adapter.setup();
    for (const name of Object.values(NEW_FIELDS))
      expect(first.created.some((c) => c.includes(`(Opportunity.${name})`))).toBe(true);

    const conn = await adminOf(sb);
    expect(await readField(conn, NEW_FIELDS.consentToContact)).toMatchObject({
      type: "Checkbox",
      defaultValue: "false",
    });
    expect(await readField(conn, NEW_FIELDS.favorite)).toMatchObject({ type: "Checkbox" });
    const salesStage = await readField(conn, NEW_FIELDS.salesStage);
    expect(salesStage).toMatchObject({ type: "Picklist", valueSet: { restricted: true } });
    const values = (md: Md) =>
      asList((md.valueSet as { valueSetDefinition: { value: Md | Md[] } }).valueSetDefinition.value).map(
        (v) => [v.fullName, v.label],
      );
    expect(values(salesStage)).toEqual([
      ["Qualify", "Qualify"],
      ["Develop", "Develop"],
      ["Propose", "Propose"],
      ["Close", "Close"],
    ]);
    const helpType = await readField(conn, NEW_FIELDS.helpType);
    expect(helpType).toMatchObject({ type: "Picklist", valueSet: { restricted: true } });
    // API names are Microsoft's codes; labels are plain English (no run-together words).
    expect(values(helpType).map(([v]) => v)).toEqual([
      "Unknown",
      "GeneralOrOther",
      "CustomerTechnicalArchitecture",
      "ProofOfConceptOrDemo",
      "QuotesOrLicensing",
      "PostSalesCustomerSuccess",
      "WorkloadSpecificValueProposition",
    ]);
    expect(values(helpType).find(([v]) => v === "ProofOfConceptOrDemo")?.[1]).toBe(
      "Proof of concept or demo",
    );
    for (const [, label] of values(helpType)) expect(String(label)).not.toMatch(/[a-z][A-Z]/);

    const respondBy = await readField(conn, NEW_FIELDS.respondBy);
    expect(respondBy).toMatchObject({ type: "DateTime" });
    expect(String(respondBy.inlineHelpText)).toMatch(/read-only/i);
    expect(await readField(conn, NEW_FIELDS.microsoftOpportunityId)).toMatchObject({ type: "Text" });
    const answer = await readField(conn, NEW_FIELDS.microsoftAnswer);
    expect(answer).toMatchObject({ type: "Picklist", valueSet: { restricted: true } });
    expect(values(answer).map(([v]) => v)).toEqual(["pending", "accepted", "declined", "expired"]);
    expect(values(answer).find(([v]) => v === "declined")?.[1]).toBe("Declined by Microsoft");
    expect(String(answer.inlineHelpText)).toMatch(/read-only/i);
    expect(await readField(conn, NEW_FIELDS.registrationStatus)).toMatchObject({
      type: "Picklist",
      valueSet: { restricted: true, valueSetName: "Cosell_Registration_Status" },
    });
    const registrations = await readField(conn, NEW_FIELDS.registrations);
    expect(registrations).toMatchObject({ type: "LongTextArea" });
    expect(String(registrations.inlineHelpText)).toMatch(/read-only/i);
    expect(String((await readField(conn, NEW_FIELDS.sentBy)).inlineHelpText)).toMatch(/read-only/i);
    // The seller's answer and the listed reason: restricted picklists with core's values and labels.
    const response = await readField(conn, NEW_FIELDS.response);
    expect(response).toMatchObject({
      type: "Picklist",
      label: "Co-sell Response",
      valueSet: { restricted: true },
    });
    expect(values(response)).toEqual([
      ["accept", "Accept referral"],
      ["decline", "Decline referral"],
    ]);
    expect(String(response.inlineHelpText)).toMatch(/referral Microsoft sent/);
    const reasonCode = await readField(conn, NEW_FIELDS.closeReasonCode);
    expect(reasonCode).toMatchObject({ type: "Picklist", label: "Co-sell Close Reason" });
    expect(values(reasonCode).map(([v]) => v)).toEqual([
      "noCapacity",
      "notAFit",
      "customerUnreachable",
      "duplicate",
      "lostToCompetitor",
      "noBudgetOrTiming",
      "other",
    ]);
    expect(values(reasonCode).at(-1)).toEqual(["other", "Other"]);
    expect(await readField(conn, "Cosell_Close_Reason__c")).toMatchObject({
      type: "Text",
      label: "Co-sell Close Reason Details",
    });
    // The consent field says what it means now: sharing the contact's details with others.
    const consent = await readField(conn, "Cosell_Contact_Consent__c");
    expect(`${String(consent.description)} ${String(consent.inlineHelpText)}`).toMatch(/shared with others/);

    const granted = await grants(conn);
    for (const s of customFieldSpecs(config().fields))
      expect(granted.get(s.fullName), s.fullName).toEqual({ readable: true, editable: true });

    const writes = adapter.stats().writes;
    const second = await adapter.setup();
    expect(second.created).toEqual([]);
    expect(adapter.stats().writes).toBe(writes);
    const report = await adapter.verifySetup();
    expect(report.ok).toBe(true);
    expect(report.checks.find((c) => c.name === "custom fields")?.detail).toBe(
      "All 25 co-sell fields exist and are editable.",
    );
  });

  it("an org set up before these fields gets them on the next setup; the permission set update keeps every earlier grant", async () => {
    const specs = customFieldSpecs(config().fields);
    const older = specs.filter((s) => (OLDER_KEYS as readonly string[]).includes(s.key));
    // What the earlier setup left (the consent field as it was described then), plus a field of the
    // admin's own granted in the same permission set.
    const asBefore = (s: (typeof specs)[number]) => {
      const { inlineHelpText: _, valueSet, ...md } = s.metadata;
      // Co-sell stage, sync status and direction were Text before they were picklists.
      if ((valueSet as { valueSetName?: string } | undefined)?.valueSetName)
        return { ...md, type: "Text", length: 40 };
      if (s.key === "consent") return { ...md, description: "The customer agreed to share the contact." };
      // The whole reason as free text, before the listed reason came.
      if (s.key === "closeReason")
        return { ...md, label: "Co-sell Close Reason", description: "Why the deal was declined or lost." };
      return s.metadata;
    };
    for (let i = 0; i < older.length; i += 10)
      sb.salesforce.upsertMetadata("CustomField", older.slice(i, i + 10).map(asBefore));
    sb.salesforce.upsertMetadata("CustomField", [
      { fullName: "Opportunity.Acme_Region__c", label: "Acme Region", type: "Text", length: 40 },
    ]);
    sb.salesforce.upsertMetadata("PermissionSet", [
      {
        fullName: "Cosell_Sync",
        label: "Cosell Sync",
        description: "Read and edit the co-sell fields cosell syncs with Microsoft Partner Center.",
        fieldPermissions: [
          ...older.map((s) => ({ field: s.fullName, readable: true, editable: true })),
          { field: "Opportunity.Acme_Region__c", readable: true, editable: false },
        ],
      },
    ]);
    sb.salesforce.assignPermissionSet("Cosell_Sync");

    const adapter = sandboxAdapter(sb);
    const before = await adapter.verifySetup();
    expect(before.checks.find((c) => c.name === "custom fields")?.detail).toContain(
      `Opportunity.${NEW_FIELDS.favorite}`,
    );
    const report = await adapter.setup();
    const upgraded = older.filter((s) => s.metadata.type === "Picklist");
    expect(report.created).toEqual([
      ...["Stage", "Sync_Status", "Direction", "Registration_Status"].map((n) =>
        expect.stringMatching(new RegExp(`^Global value set Cosell_${n} "`)),
      ),
      "Field Customer Consent to Share Contact (Opportunity.Cosell_Contact_Consent__c): label, description and help text say what it now means",
      "Field Co-sell Close Reason Details (Opportunity.Cosell_Close_Reason__c): label, description and help text say what it now means",
      ...specs.filter((s) => !older.includes(s)).map((s) => `Field ${s.description}`),
      ...upgraded.map((s) =>
        expect.stringMatching(new RegExp(`^Field .*${s.fullName}\\): Text → restricted picklist`)),
      ),
      "Validation rule Opportunity.Cosell_Decline_Needs_Reason (a decline needs a close reason)",
      ...["Needs_Response", "Inbound", "Outbound", "Favorites", "Sync_Errors"].map((n) =>
        expect.stringMatching(new RegExp(`^List view Opportunity\\.Cosell_${n} "Co-sell – `)),
      ),
      ...["Accept_Referral", "Decline_Referral", "Invite_Microsoft", "Favorite"].map((n) =>
        expect.stringMatching(new RegExp(`^Quick action Opportunity\\.Cosell_${n} "`)),
      ),
      // The solution objects (issue 16 item 4) and the grants on them.
      ...solutionObjectSpecs().map((o) => expect.stringMatching(new RegExp(`^Object ${o.fullName} "`))),
      ...solutionObjectSpecs().flatMap((o) => o.fields.map((f) => `Field ${String(f.fullName)}`)),
      "Permission set Cosell_Sync: read/edit granted on 20 more fields and on Cosell_Solution__c, Cosell_Deal_Solution__c, Cosell_Microsoft_Team_Member__c",
      "Permission set Cosell_Seller for sellers (edit on 12 fields, read on 13; assign it to sellers)",
      "Layout Opportunity-Opportunity Layout: Co-sell section added, with the co-sell actions",
      // An org set up before Change Data Capture was cosell's gets Opportunity selected too.
      "Change Data Capture selected for Opportunity (ChangeEvents_OpportunityChangeEvent)",
    ]);
    // The other older fields and the assignment.
    expect(upgraded).toHaveLength(3);
    expect(report.unchanged).toHaveLength(older.length - 2 - upgraded.length + 1);

    const conn = await adminOf(sb);
    const consent = await readField(conn, "Cosell_Contact_Consent__c");
    expect(consent).toMatchObject({ type: "Checkbox", label: "Customer Consent to Share Contact" });
    expect(String(consent.inlineHelpText)).toMatch(/shared with others/);
    // The free-text reason is now the details of the listed one.
    const details = await readField(conn, "Cosell_Close_Reason__c");
    expect(details).toMatchObject({ type: "Text", label: "Co-sell Close Reason Details" });
    expect(String(details.description)).toMatch(/after the reason's label/);
    const granted = await grants(conn);
    for (const s of specs)
      expect(granted.get(s.fullName), s.fullName).toEqual({ readable: true, editable: true });
    expect(granted.get("Opportunity.Acme_Region__c")).toEqual({ readable: true, editable: false });
    expect((await adapter.verifySetup()).ok).toBe(true);
    expect((await adapter.setup()).created).toEqual([]);
  });

  it("the decline rule: doctor reports it deactivated or edited, and setup puts cosell's back", async () => {
    const adapter = sandboxAdapter(sb);
    await adapter.setup();
    const conn = await adminOf(sb);
    const name = "Opportunity.Cosell_Decline_Needs_Reason";
    const rule = (await conn.metadata.read("ValidationRule", name)) as unknown as Md;
    expect(rule).toMatchObject({
      active: true,
      errorDisplayField: "Cosell_Close_Reason_Code__c",
      errorMessage: CLOSE_REASON_REQUIRED,
    });
    expect(String(rule.errorConditionFormula)).toContain('ISPICKVAL(Cosell_Response__c, "decline")');
    sb.salesforce.upsertMetadata("ValidationRule", [
      { ...rule, active: false, errorConditionFormula: 'ISPICKVAL(Cosell_Response__c, "decline")' },
    ]);
    const check = (await adapter.verifySetup()).checks.find((c) => c.name === "decline reason rule");
    expect(check).toMatchObject({ ok: false, fix: expect.stringContaining("cosell setup") });
    expect(check?.detail).toContain("inactive, another formula");
    expect((await adapter.setup()).created).toEqual([
      `Validation rule ${name}: restored (it was inactive, another formula)`,
    ]);
    expect((await adapter.verifySetup()).ok).toBe(true);
    expect((await adapter.setup()).created).toEqual([]);
  });

  it("doctor names a restricted picklist that lacks a value cosell writes, and says how to fix it", async () => {
    const adapter = sandboxAdapter(sb);
    await adapter.setup();
    const spec = customFieldSpecs(config().fields).find((s) => s.key === "salesStage")!;
    const md = structuredClone(spec.metadata) as { valueSet: { valueSetDefinition: { value: Md[] } } };
    md.valueSet.valueSetDefinition.value = md.valueSet.valueSetDefinition.value.filter(
      (v) => v.fullName !== "Propose",
    );
    sb.salesforce.upsertMetadata("CustomField", [md as unknown as Md]);
    const check = (await adapter.verifySetup()).checks.find(
      (c) => c.name === `picklist Opportunity.${NEW_FIELDS.salesStage}`,
    );
    expect(check).toMatchObject({ ok: false });
    expect(check?.detail).toContain("Propose");
    expect(check?.fix).toContain("Propose");
  });
});

describe("mapping: every new field through the adapter", () => {
  const warnings: { obj: object; msg: string }[] = [];
  const adapterWithLog = () =>
    createSalesforceAdapter(sandboxConfig(sb), {
      now: () => sb.clock.now(),
      logger: {
        info: () => undefined,
        debug: () => undefined,
        warn: (obj, msg) => warnings.push({ obj, msg }),
      },
    });
  beforeEach(() => {
    warnings.length = 0;
  });

  const registrations = [
    { id: "reg-1", status: "Approved", program: { name: "Azure IP co-sell" }, amount: 125000 },
    { id: "reg-2", status: "ReviewPending" },
  ];

  it("an inbound create writes Partner Center's facts onto the new opportunity and reads them back", async () => {
    const adapter = adapterWithLog();
    await adapter.setup();
    const deal: CoSellDeal = completeDeal(
      {
        ...sampleInbound({ name: "From Microsoft" }),
        stage: "received",
        consentToShareContact: false,
        consentToContact: true,
        favorite: true,
        salesStage: "develop",
        invitation: { microsoftHelpRequested: true, helpNotes: "POC", helpType: "ProofOfConceptOrDemo" },
        expiresAt: "2026-12-19T07:43:33.000Z",
        microsoftOpportunityId: "7-3KXQ2ZP1M",
        registrationStatus: "ReviewPending",
        registrations,
        sentBy: "Microsoft",
      },
      sb.clock.now(),
    );
    const [res] = await adapter.apply([
      {
        op: "create",
        referralId: "aaaaaaaa-2222-3333-4444-555555555555",
        deal,
        status: { state: "synced", lastError: null, coSellStage: "received" },
      },
    ]);
    const crmId = (res as { crmId: string }).crmId;
    const [read] = await adapter.read([crmId]);
    expect(read?.deal).toMatchObject({
      consentToShareContact: false,
      consentToContact: true,
      favorite: true,
      salesStage: "develop",
      invitation: { microsoftHelpRequested: true, helpNotes: "POC", helpType: "ProofOfConceptOrDemo" },
      expiresAt: "2026-12-19T07:43:33.000Z",
      microsoftOpportunityId: "7-3KXQ2ZP1M",
      registrationStatus: "ReviewPending",
      registrations,
      sentBy: "Microsoft",
    });
    // As a seller sees them in Salesforce.
    const row = sb.salesforce.get("Opportunity", crmId)!;
    expect(row).toMatchObject({
      Cosell_Consent_To_Contact__c: true,
      Cosell_Contact_Consent__c: false,
      Cosell_Favorite__c: true,
      Cosell_Sales_Stage__c: "Develop",
      Cosell_Help_Type__c: "ProofOfConceptOrDemo",
      Cosell_Microsoft_Opportunity_Id__c: "7-3KXQ2ZP1M",
      Cosell_Registration_Status__c: "ReviewPending",
      Cosell_Sent_By__c: "Microsoft",
    });
    expect(String(row.Cosell_Registrations__c).split("\n")).toHaveLength(2);
    expect(warnings).toEqual([]);
  });

  it("updates write each field and clear it; the record reads back as written", async () => {
    const adapter = adapterWithLog();
    await adapter.setup();
    const crm = salesforceDriver(sb, sandboxConfig(sb));
    const crmId = await crm.createOpportunity(sampleDeal(), { optedIn: true });
    const [rec] = await adapter.read([crmId]);
    expect(rec?.deal).toMatchObject({ favorite: false, consentToContact: false });
    expect(rec?.deal.salesStage).toBeUndefined();
    expect(rec?.deal.invitation.helpType).toBeUndefined();

    const fields = [
      "consentToContact",
      "favorite",
      "salesStage",
      "invitation",
      "microsoftOpportunityId",
      "microsoftAnswer",
      "registration",
      "sentBy",
    ] as const;
    const written: CoSellDeal = {
      ...rec!.deal,
      consentToContact: true,
      favorite: true,
      salesStage: "propose",
      invitation: { microsoftHelpRequested: true, helpNotes: "Licensing", helpType: "QuotesOrLicensing" },
      microsoftOpportunityId: "7-ABCDEF",
      microsoftAnswer: "accepted",
      registrationStatus: "Approved",
      registrations,
      sentBy: "Contoso Partner",
    };
    const update = (deal: CoSellDeal): CrmWrite => ({ op: "update", crmId, deal, fields: [...fields] });
    expect(await adapter.apply([update(written)])).toEqual([{ ok: true, crmId }]);
    const [after] = await adapter.read([crmId]);
    for (const k of [
      "consentToContact",
      "favorite",
      "salesStage",
      "invitation",
      "microsoftOpportunityId",
      "microsoftAnswer",
    ] as const)
      expect(after?.deal[k], k).toEqual(written[k]);
    expect(after?.deal).toMatchObject({
      registrationStatus: "Approved",
      registrations,
      sentBy: "Contoso Partner",
    });

    const cleared: CoSellDeal = {
      ...written,
      consentToContact: false,
      favorite: false,
      salesStage: undefined,
      invitation: { microsoftHelpRequested: false },
      microsoftOpportunityId: undefined,
      microsoftAnswer: undefined,
      registrationStatus: undefined,
      registrations: undefined,
      sentBy: undefined,
    };
    await adapter.apply([update(cleared)]);
    const [empty] = await adapter.read([crmId]);
    expect(empty?.deal).toMatchObject({ consentToContact: false, favorite: false });
    for (const k of [
      "salesStage",
      "microsoftOpportunityId",
      "microsoftAnswer",
      "registrationStatus",
      "registrations",
      "sentBy",
    ] as const)
      expect(empty?.deal[k], k).toBeUndefined();
    expect(empty?.deal.invitation).toEqual({ microsoftHelpRequested: false });
  });

  it("respond-by is read on a referral waiting for an answer; an answered status clears it", async () => {
    const adapter = adapterWithLog();
    await adapter.setup();
    const deal = completeDeal({ ...sampleInbound(), stage: "received" }, sb.clock.now());
    const [res] = await adapter.apply([
      {
        op: "create",
        referralId: "bbbbbbbb-2222-3333-4444-555555555555",
        deal: { ...deal, expiresAt: "2026-12-19T00:00:00.000Z" },
        status: { state: "synced", lastError: null, coSellStage: "received" },
      },
    ]);
    const crmId = (res as { crmId: string }).crmId;
    expect((await adapter.read([crmId]))[0]?.deal.expiresAt).toBe("2026-12-19T00:00:00.000Z");
    // The seller accepts (moves the stage); the date on the record no longer belongs to the deal.
    sb.salesforce.update("Opportunity", crmId, { StageName: "Prospecting" });
    expect((await adapter.read([crmId]))[0]?.deal.expiresAt).toBeUndefined();
    await adapter.apply([
      { op: "status", crmId, status: { state: "synced", lastError: null, coSellStage: "accepted" } },
    ]);
    expect(sb.salesforce.get("Opportunity", crmId)?.Cosell_Respond_By__c).toBeNull();
  });

  it("a seller's edits of favorite, sales stage, help type and consent to contact are read", async () => {
    const adapter = adapterWithLog();
    await adapter.setup();
    const crm = salesforceDriver(sb, sandboxConfig(sb));
    const crmId = await crm.createOpportunity(sampleDeal(), { optedIn: true });
    await crm.update(crmId, {
      favorite: true,
      salesStage: "close",
      consentToContact: true,
      invitation: {
        microsoftHelpRequested: true,
        helpNotes: "Architecture review",
        helpType: "CustomerTechnicalArchitecture",
      },
    });
    const [rec] = await adapter.read([crmId]);
    expect(rec?.deal).toMatchObject({
      favorite: true,
      salesStage: "close",
      consentToContact: true,
      invitation: { helpType: "CustomerTechnicalArchitecture" },
    });
    expect(rec?.issues).toBeUndefined();
  });

  it("a picklist value cosell does not know reads as absent with a warning for that record; the rest of the record and the page are read", async () => {
    const adapter = adapterWithLog();
    await adapter.setup();
    // An admin adds a value to each picklist and a seller picks it; another record is left alone.
    for (const key of ["salesStage", "helpType"] as const) {
      const spec = customFieldSpecs(config().fields).find((s) => s.key === key)!;
      const md = structuredClone(spec.metadata) as { valueSet: { valueSetDefinition: { value: Md[] } } };
      md.valueSet.valueSetDefinition.value.push({
        fullName: "Negotiate",
        label: "Negotiate",
        default: false,
      });
      sb.salesforce.upsertMetadata("CustomField", [md as unknown as Md]);
    }
    const crm = salesforceDriver(sb, sandboxConfig(sb));
    const odd = await crm.createOpportunity(sampleDeal({ name: "Odd" }), { optedIn: true });
    const fine = await crm.createOpportunity(sampleDeal({ name: "Fine", salesStage: "qualify" }), {
      optedIn: true,
    });
    sb.salesforce.update("Opportunity", odd, {
      Cosell_Sales_Stage__c: "Negotiate",
      Cosell_Help_Type__c: "Negotiate",
      Cosell_Registrations__c: "approved, see email",
    });
    const pages = [];
    for await (const p of adapter.changes(undefined, { overlapMs: 0 })) pages.push(p);
    const records = pages.flatMap((p) => p.records);
    const oddRec = records.find((r) => r.crmId === odd)!;
    expect(oddRec.deal.name).toBe("Odd");
    expect(oddRec.deal.salesStage).toBeUndefined();
    expect(oddRec.deal.invitation.helpType).toBeUndefined();
    expect(oddRec.deal.registrations).toBeUndefined();
    expect(oddRec.issues).toBeUndefined();
    expect(records.find((r) => r.crmId === fine)?.deal.salesStage).toBe("qualify");
    expect(warnings.map((w) => w.obj)).toEqual([
      { crmId: odd, field: "Cosell_Sales_Stage__c", value: "Negotiate" },
      { crmId: odd, field: "Cosell_Help_Type__c", value: "Negotiate" },
      { crmId: odd, field: "Cosell_Registrations__c", value: "approved, see email" },
    ]);
    expect(warnings[0]?.msg).toContain("Qualify, Develop, Propose or Close");
  });

  it("declares the seller's new fields both ways and Partner Center's own ones to the CRM only", async () => {
    const d = await sandboxAdapter(sb).describe();
    expect(d.capabilities.fieldDirections).toMatchObject({
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
