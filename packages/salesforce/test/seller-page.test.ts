import {
  CLOSE_REASON_LABELS,
  CLOSE_REASON_REQUIRED,
  isMicrosoftInvitation,
  MemoryStateStore,
  MICROSOFT_ANSWER_LABELS,
  runCycle,
} from "@cosell/core";
import { type Sandbox, startSandbox } from "@cosell/sandbox";
import { partnerCenterSide } from "@cosell/sandbox/conformance";
import type { Connection } from "jsforce";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  layoutFields,
  parseSalesforceConfig,
  quickActionSpecs,
  SELLER_PERMISSION_SET,
} from "../src/index.js";
import { connectionAs } from "./engine-world.js";
import { adminOf, listViewRows, sandboxAdapter } from "./harness.js";

/**
 * What a seller sees on the opportunity page after `cosell setup`, read through the REST
 * describeLayout resource as the UI reads it, and the one-click co-sell actions invoked through the
 * REST quick action resource as the UI invokes them, signed in as the seller.
 */

const SELLER = "avery.chen@cosell.sandbox";
const LAYOUT = "Opportunity-Opportunity Layout";

interface LayoutItem {
  label: string;
  editableForUpdate: boolean;
  placeholder: boolean;
  layoutComponents: { type: string; value: string }[];
}
interface DescribeLayouts {
  layouts: {
    detailLayoutSections: { heading: string; layoutRows: { layoutItems: LayoutItem[] }[] }[];
    quickActionList: { quickActionListItems: { label: string; quickActionName: string }[] };
  }[];
}

const fields = parseSalesforceConfig({
  kind: "salesforce",
  auth: {
    kind: "clientCredentials",
    clientId: "x",
    clientSecret: "y",
    loginUrl: "https://login.salesforce.com",
  },
}).fields;

describe("a seller works from the opportunity page", () => {
  let sb: Sandbox<"partnerCenter" | "salesforce">;
  let side: ReturnType<typeof partnerCenterSide>;
  let seller: Connection;
  let cycle: () => Promise<Awaited<ReturnType<typeof runCycle>>["summary"]>;

  beforeAll(async () => {
    sb = await startSandbox({ systems: ["partnerCenter", "salesforce"] });
    side = partnerCenterSide(sb);
    const adapter = sandboxAdapter(sb);
    await adapter.setup();
    sb.salesforce.assignPermissionSet(SELLER_PERMISSION_SET, SELLER);
    seller = await connectionAs(sb, SELLER);
    const store = new MemoryStateStore();
    cycle = async () => {
      const { summary } = await runCycle({
        adapter,
        partnerCenter: side.partnerCenter,
        store,
        now: () => side.clock.now(),
      });
      side.clock.advance(1000);
      return summary;
    };
  });
  afterAll(async () => {
    await sb?.stop();
  });

  const base = () => `/services/data/v${sb.credentials.salesforce.apiVersion}/sobjects/Opportunity`;
  /** Invokes a quick action on a record as the seller; the answer, or the refusal's error. */
  const invoke = (action: string, contextId: string, record: Record<string, unknown> = {}) =>
    seller
      .requestPost<{ success: boolean; id: string }>(`${base()}/quickActions/${action}`, {
        contextId,
        record,
      })
      .then(
        (r) => ({ ok: true as const, result: r }),
        (e: Error & { errorCode?: string }) => ({
          ok: false as const,
          code: e.errorCode,
          message: e.message,
        }),
      );
  const received = async (): Promise<{ referralId: string; crmId: string }> => {
    const referralId = sb.partnerCenter.sendInboundReferral().id;
    side.clock.advance(1000);
    expect((await cycle()).errors).toEqual([]);
    const [opp] = sb.salesforce.query(
      `SELECT Id, Cosell_Stage__c FROM Opportunity WHERE Cosell_Referral_Id__c = '${referralId}'`,
    ).records;
    expect(opp).toMatchObject({ Cosell_Stage__c: "received" });
    return { referralId, crmId: String(opp!.Id) };
  };
  const sync = async () => {
    side.clock.advance(1000);
    expect((await cycle()).errors).toEqual([]);
  };

  it("the page shows the Co-sell section: the seller's fields editable, cosell's status read-only, and the four actions", async () => {
    const described = await seller.request<DescribeLayouts>(`${base()}/describe/layouts/`);
    const [layout] = described.layouts;
    const section = layout!.detailLayoutSections.find((s) => s.heading === "Co-sell");
    expect(section, "Co-sell section").toBeDefined();
    const items = new Map(
      section!.layoutRows
        .flatMap((r) => r.layoutItems)
        .filter((i) => !i.placeholder)
        .map((i) => [i.layoutComponents[0]!.value, i] as const),
    );
    const { seller: editable, status } = layoutFields(fields);
    for (const f of editable) expect(items.get(f.field), f.field).toMatchObject({ editableForUpdate: true });
    for (const f of status) expect(items.get(f.field), f.field).toMatchObject({ editableForUpdate: false });
    expect(items.get("Cosell_Response__c")?.label).toBe("Co-sell Response");
    expect(items.get("Cosell_Sync_Status__c")?.label).toBe("Co-sell Sync Status");
    // The standard section is still there.
    expect(layout!.detailLayoutSections.map((s) => s.heading)).toContain("Opportunity Information");
    expect(layout!.quickActionList.quickActionListItems.map((a) => [a.quickActionName, a.label])).toEqual(
      expect.arrayContaining([
        ["Opportunity.Cosell_Accept_Referral", "Accept co-sell referral"],
        ["Opportunity.Cosell_Decline_Referral", "Decline co-sell referral"],
        ["Opportunity.Cosell_Invite_Microsoft", "Invite Microsoft"],
        ["Opportunity.Cosell_Favorite", "Co-sell favorite"],
      ]),
    );
  });

  it("Accept, Decline (refused without a reason), Invite Microsoft and Favorite reach Partner Center; Microsoft's answer shows", async () => {
    const first = await received();
    const second = await received();
    // The seller opens Needs response: both wait there for an answer.
    expect([...(await listViewRows(seller, "Cosell_Needs_Response")).keys()]).toEqual(
      expect.arrayContaining([first.crmId, second.crmId]),
    );

    // Accept: one click, nothing to fill in.
    expect(await invoke("Opportunity.Cosell_Accept_Referral", first.crmId)).toMatchObject({ ok: true });
    expect(sb.salesforce.get("Opportunity", first.crmId)!.Cosell_Response__c).toBe("accept");
    await sync();
    expect(sb.partnerCenter.get(first.referralId)).toMatchObject({ status: "Active", substatus: "Accepted" });

    // Decline without a reason: the validation rule refuses it, nothing is saved.
    const refused = await invoke("Opportunity.Cosell_Decline_Referral", second.crmId);
    expect(refused).toMatchObject({ ok: false, code: "FIELD_CUSTOM_VALIDATION_EXCEPTION" });
    expect(refused.ok ? "" : refused.message).toContain(CLOSE_REASON_REQUIRED);
    expect(sb.salesforce.get("Opportunity", second.crmId)!.Cosell_Response__c ?? null).toBeNull();
    // A value outside the restricted picklist is refused too.
    expect(
      await invoke("Cosell_Decline_Referral", second.crmId, { Cosell_Close_Reason_Code__c: "bored" }),
    ).toMatchObject({ ok: false, code: "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST" });
    // With a reason (the action named without its object, as the REST page's examples do) it goes through.
    expect(
      await invoke("Cosell_Decline_Referral", second.crmId, {
        Cosell_Close_Reason_Code__c: "noCapacity",
        Cosell_Close_Reason__c: "Fully booked until March",
      }),
    ).toMatchObject({ ok: true });
    await sync();
    expect(sb.partnerCenter.get(second.referralId)).toMatchObject({
      status: "Closed",
      substatus: "Declined",
      statusReason: `${CLOSE_REASON_LABELS.noCapacity}: Fully booked until March`,
    });

    // Invite Microsoft on the accepted deal, with the kind of help and notes.
    expect(
      await invoke("Opportunity.Cosell_Invite_Microsoft", first.crmId, {
        Cosell_Help_Type__c: "ProofOfConceptOrDemo",
        Cosell_Help_Notes__c: "A demo of Fabric for the CFO.",
      }),
    ).toMatchObject({ ok: true });
    expect(sb.salesforce.get("Opportunity", first.crmId)!.Cosell_Microsoft_Help__c).toBe(true);
    await sync();
    const engagement = sb.partnerCenter.get(first.referralId)!.engagementId;
    const invitations = sb.partnerCenter
      .all()
      .filter((r) => r.engagementId === engagement && isMicrosoftInvitation(r));
    expect(invitations).toHaveLength(1);
    expect(invitations[0]!.inviteContext?.assistanceRequestCode).toBe("ProofOfConceptOrDemo");
    const answer = () =>
      sb.salesforce.query(`SELECT Cosell_Microsoft_Answer__c FROM Opportunity WHERE Id = '${first.crmId}'`)
        .records[0]!.Cosell_Microsoft_Answer__c;
    expect(answer()).toBe("pending");
    sb.partnerCenter.engage(first.referralId);
    await sync();
    expect(answer()).toBe("accepted");
    // …and in the Inbound view, under its label; the deal no longer waits in Needs response.
    const inbound = await listViewRows(seller, "Cosell_Inbound");
    expect(inbound.get(first.crmId)?.Cosell_Microsoft_Answer__c).toBe(MICROSOFT_ANSWER_LABELS.accepted);
    expect([...(await listViewRows(seller, "Cosell_Needs_Response")).keys()]).not.toContain(first.crmId);

    // A solution from the catalog (imported by the admin): the seller adds it on the related list,
    // picking the entry and typing nothing else; Partner Center gets it.
    const entry = sb.salesforce.insert("Cosell_Solution__c", {
      Name: "Fabrikam Security",
      Cosell_Solution_Id__c: "tp-fabrikam-sec",
      Cosell_Kind__c: "thirdParty",
      Cosell_Active__c: true,
    });
    const added = await seller
      .sobject("Cosell_Deal_Solution__c")
      .create({ Cosell_Opportunity__c: first.crmId, Cosell_Solution__c: entry });
    expect(added).toMatchObject({ success: true });
    await sync();
    const tags = sb.partnerCenter.get(first.referralId)!.details?.requirements?.solutions ?? [];
    expect(tags.map((t) => t.id)).toContain("tp-fabrikam-sec");

    // Favorite: the checkbox on the action's form.
    expect(
      await invoke("Opportunity.Cosell_Favorite", first.crmId, { Cosell_Favorite__c: true }),
    ).toMatchObject({
      ok: true,
    });
    await sync();
    expect(sb.salesforce.get("Opportunity", first.crmId)!.Cosell_Favorite__c).toBe(true);
    expect(sb.partnerCenter.get(first.referralId)).toMatchObject({ favorite: true });
    // …and the deal is in the seller's Favorites view, and only that one.
    expect([...(await listViewRows(seller, "Cosell_Favorites")).keys()]).toEqual([first.crmId]);
  });

  it("an action writes only the fields its form shows: cosell's status fields stay out of reach", async () => {
    const { crmId } = await received();
    expect(
      await invoke("Opportunity.Cosell_Favorite", crmId, { Cosell_Sync_Status__c: "synced" }),
    ).toMatchObject({
      ok: false,
      code: "INVALID_FIELD",
    });
  });
});

describe("setup and doctor: the Co-sell section and the quick actions", () => {
  let sb: Sandbox<"salesforce">;
  let admin: Connection;
  beforeAll(async () => {
    sb = await startSandbox({ systems: ["salesforce"] });
    admin = await adminOf(sb);
  });
  afterAll(async () => {
    await sb?.stop();
  });

  const actions = quickActionSpecs(fields);
  type LayoutMd = {
    layoutSections: {
      label: string;
      layoutColumns: { layoutItems?: unknown } | { layoutItems?: unknown }[];
    }[];
    quickActionList: { quickActionListItems: { quickActionName: string }[] };
  };
  const readLayout = async (name = LAYOUT) =>
    (await admin.metadata.read("Layout", name)) as unknown as LayoutMd;

  it("a bare org gets the section and the actions; a second run changes nothing; an admin's section stays; doctor names a missing action", async () => {
    const adapter = sandboxAdapter(sb);
    // The admin's own section, added before setup runs.
    const before = await readLayout();
    const admins = {
      customLabel: true,
      detailHeading: true,
      editHeading: true,
      label: "Renewal",
      layoutColumns: [{ layoutItems: [{ behavior: "Edit", field: "TotalOpportunityQuantity" }] }],
      style: "OneColumn",
    };
    const updated = await admin.metadata.update("Layout", {
      ...before,
      layoutSections: [...before.layoutSections, admins],
    } as never);
    expect(updated).toMatchObject({ success: true });

    const first = await adapter.setup();
    for (const a of actions) expect(first.created).toContain(`Quick action ${a.fullName} "${a.label}"`);
    expect(first.created).toContain(`Layout ${LAYOUT}: Co-sell section added, with the co-sell actions`);
    const after = await readLayout();
    expect(after.layoutSections.map((s) => s.label)).toEqual([
      "Opportunity Information",
      "Description Information",
      "Renewal",
      "Co-sell",
    ]);
    expect(after.quickActionList.quickActionListItems.map((i) => i.quickActionName)).toEqual(
      expect.arrayContaining(["NewTask", ...actions.map((a) => a.fullName)]),
    );

    const second = await adapter.setup();
    expect(second.created).toEqual([]);
    expect(second.unchanged).toContain(`Layout ${LAYOUT}: Co-sell section and actions`);
    for (const a of actions) expect(second.unchanged).toContain(`Quick action ${a.fullName}`);
    const healthy = await adapter.verifySetup();
    expect(healthy.checks.find((c) => c.name === "seller quick actions")).toMatchObject({ ok: true });
    expect(healthy.checks.find((c) => c.name === "seller page layout")).toMatchObject({ ok: true });

    // An admin removes an action from the page and then deletes it: doctor names it, with the fix.
    const page = await readLayout();
    await admin.metadata.update("Layout", {
      ...page,
      quickActionList: {
        quickActionListItems: page.quickActionList.quickActionListItems.filter(
          (i) => i.quickActionName !== "Opportunity.Cosell_Invite_Microsoft",
        ),
      },
    } as never);
    expect(await admin.metadata.delete("QuickAction", "Opportunity.Cosell_Invite_Microsoft")).toMatchObject({
      success: true,
    });
    const report = await adapter.verifySetup();
    expect(report.ok).toBe(false);
    const check = report.checks.find((c) => c.name === "seller quick actions")!;
    expect(check.ok).toBe(false);
    expect(check.detail).toContain('Opportunity.Cosell_Invite_Microsoft ("Invite Microsoft") is missing');
    expect(check.detail).not.toContain("Cosell_Accept_Referral");
    expect(check.fix).toContain("cosell setup");
    expect(report.checks.find((c) => c.name === "seller page layout")?.detail).toContain(
      "the actions Opportunity.Cosell_Invite_Microsoft missing",
    );
    const repaired = await adapter.setup();
    expect(repaired.created).toEqual([
      'Quick action Opportunity.Cosell_Invite_Microsoft "Invite Microsoft"',
      `Layout ${LAYOUT}: restored (it had the actions Opportunity.Cosell_Invite_Microsoft missing)`,
    ]);
    expect((await adapter.verifySetup()).ok).toBe(true);
    expect((await readLayout()).layoutSections.map((s) => s.label)).toContain("Renewal");
  });

  it("a field an admin removed comes back, a status field made editable is read-only again, a field the admin moved stays where they put it", async () => {
    const adapter = sandboxAdapter(sb);
    type Item = { behavior?: string; field?: string };
    const itemsOf = (s: LayoutMd["layoutSections"][number]) =>
      (Array.isArray(s.layoutColumns) ? s.layoutColumns : [s.layoutColumns]).map((c) => {
        const items = (c as { layoutItems?: Item | Item[] }).layoutItems;
        return items === undefined ? [] : Array.isArray(items) ? items : [items];
      });
    const page = await readLayout();
    const sections = page.layoutSections.map((s) => {
      if (s.label === "Renewal")
        return {
          ...s,
          layoutColumns: [
            { layoutItems: [...itemsOf(s)[0]!, { behavior: "Edit", field: "Cosell_Help_Notes__c" }] },
          ],
        };
      if (s.label !== "Co-sell") return s;
      return {
        ...s,
        layoutColumns: itemsOf(s).map((items) => ({
          layoutItems: items
            .filter((i) => i.field !== "Cosell_Favorite__c" && i.field !== "Cosell_Help_Notes__c")
            .map((i) => (i.field === "Cosell_Sync_Status__c" ? { ...i, behavior: "Edit" } : i)),
        })),
      };
    });
    expect(
      await admin.metadata.update("Layout", { ...page, layoutSections: sections } as never),
    ).toMatchObject({
      success: true,
    });
    const check = (await adapter.verifySetup()).checks.find((c) => c.name === "seller page layout")!;
    expect(check).toMatchObject({ ok: false });
    expect(check.detail).toContain(
      `${LAYOUT}: Cosell_Favorite__c missing from the Co-sell section, Cosell_Sync_Status__c editable`,
    );
    expect((await adapter.setup()).created).toEqual([
      `Layout ${LAYOUT}: restored (it had Cosell_Favorite__c missing from the Co-sell section, Cosell_Sync_Status__c editable)`,
    ]);
    expect((await adapter.verifySetup()).ok).toBe(true);
    const after = await readLayout();
    const fieldsIn = (label: string) =>
      itemsOf(after.layoutSections.find((s) => s.label === label)!)
        .flat()
        .map((i) => `${i.field}:${i.behavior}`);
    expect(fieldsIn("Co-sell")).toEqual(
      expect.arrayContaining(["Cosell_Favorite__c:Edit", "Cosell_Sync_Status__c:Readonly"]),
    );
    // Not put twice on the page: the admin's placement stands.
    expect(fieldsIn("Co-sell").join()).not.toContain("Cosell_Help_Notes__c");
    expect(fieldsIn("Renewal")).toContain("Cosell_Help_Notes__c:Edit");
  });

  it("a layout that does not exist stops setup with the layouts that do; doctor says the same", async () => {
    const adapter = sandboxAdapter(sb, { layouts: ["Opportunity-Sales Layout"] });
    const failure = await adapter.setup().then(
      () => undefined,
      (e: Error & { code?: string }) => e,
    );
    expect(failure?.code).toBe("SALESFORCE_LAYOUT_NOT_FOUND");
    expect(failure?.message).toContain('"Opportunity-Sales Layout" named in crm.layouts does not exist');
    expect(failure?.message).toContain(`"${LAYOUT}"`);
    const check = (await adapter.verifySetup()).checks.find((c) => c.name === "seller page layout")!;
    expect(check).toMatchObject({ ok: false });
    expect(check.detail).toContain("crm.layouts");
  });
});
