import type { Stage } from "@cosell/core";
import { isMicrosoftInvitation, MemoryStateStore } from "@cosell/core";
import { partnerCenterSide } from "@cosell/sandbox/conformance";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CLOSE_REASON_CHOICE,
  choiceValue,
  HELP_TYPE_CHOICE,
  MICROSOFT_ANSWER_CHOICE,
  SELLER_RESPONSE_CHOICE,
  syncStateValue,
} from "../src/columns.js";
import { columnsFor, createDynamicsAdapter, type DynamicsAdapter } from "../src/index.js";
import { coSellStageValue } from "../src/mapping.js";
import { cosellViews } from "../src/views.js";
import {
  cycleOnce,
  type DynamicsSandbox,
  dataverseWebApi,
  sandboxConfig,
  startDynamicsSandbox,
  writesDuring,
} from "./helpers.js";
import { relatedSolutions, relateSolutions } from "./solution-driver.js";

/**
 * Sellers find co-sell work in the public views setup creates: setup and doctor on a bare
 * environment, then the engine runs against the Dataverse and Partner Center emulators (real HTTP)
 * and a seller runs the views the way the app does, `GET opportunities?savedQuery={id}`.
 */

const c = columnsFor("cosell");
/** The co-sell stage choice's value of a stage. */
const stageValue = (stage: Stage) => coSellStageValue(stage, 18342);
const PREFIX = 18342;
const SOLUTION = "cosell";
const ACCEPT = choiceValue(SELLER_RESPONSE_CHOICE, PREFIX, "accept");
const DECLINE = choiceValue(SELLER_RESPONSE_CHOICE, PREFIX, "decline");
const VIEW_NAMES = cosellViews(c, PREFIX).map((v) => v.name);
const DAY = 86_400_000;

let sb: DynamicsSandbox;
let adapter: DynamicsAdapter;
let side: ReturnType<typeof partnerCenterSide>;
let api: ReturnType<typeof dataverseWebApi>;
const store = new MemoryStateStore();

/** One sync cycle; unless told otherwise it must end without errors. */
const cycle = async (clean = true) => {
  const summary = await cycleOnce(sb, adapter, side.partnerCenter, store);
  if (clean) expect(summary.errors).toEqual([]);
  return summary;
};

/** The co-sell views on opportunity, by name, as a seller's view selector lists them. */
async function views(): Promise<Map<string, string>> {
  const filter = encodeURIComponent("returnedtypecode eq 'opportunity' and querytype eq 0");
  const body = await api.get<{ value: { savedqueryid: string; name: string }[] }>(
    `savedqueries?$select=savedqueryid,name&$filter=${filter}`,
  );
  return new Map(body.value.filter((v) => VIEW_NAMES.includes(v.name)).map((v) => [v.name, v.savedqueryid]));
}

/** Runs a view by name; the ids of its rows, in its order. */
async function runView(name: string): Promise<string[]> {
  const id = (await views()).get(name);
  expect(id, name).toBeDefined();
  const body = await api.get<{ value: Record<string, unknown>[] }>(`opportunities?savedQuery=${id}`);
  return body.value.map((r) => String(r.opportunityid));
}

beforeAll(async () => {
  sb = await startDynamicsSandbox();
  adapter = createDynamicsAdapter(sandboxConfig(sb), { now: () => sb.clock.now() });
  side = partnerCenterSide(sb);
  api = dataverseWebApi(sb);
});
afterAll(async () => {
  await adapter?.close();
  await sb?.stop();
});

describe("setup creates the co-sell views in the cosell solution", () => {
  it("on a bare environment doctor names the missing views; setup creates all five, in the solution, and publishes", async () => {
    const before = await adapter.verifySetup();
    const check = before.checks.find((x) => x.name === "views")!;
    expect(check.ok).toBe(false);
    for (const name of VIEW_NAMES) expect(check.detail).toContain(`"${name}" is missing`);
    expect(check.fix).toContain("cosell setup");

    const { result: report, writes } = await writesDuring(sb, () => adapter.setup());
    sb.dataverse.activateKeys(); // Dataverse builds key indexes in the background
    // Each view is created in the solution by the header: none needs AddSolutionComponent (the one
    // call adds the security role, seller-role.ts).
    expect(report.created.filter((x) => x.startsWith("View"))).toEqual(VIEW_NAMES.map((n) => `View "${n}"`));
    expect(writes.filter((w) => w.includes("AddSolutionComponent"))).toHaveLength(1);
    expect(writes.filter((w) => w.startsWith("POST") && w.includes("savedqueries"))).toHaveLength(5);
    // Published once, after the views were written.
    const publish = writes.lastIndexOf(writes.find((w) => w.includes("PublishXml"))!);
    expect(publish).toBeGreaterThan(writes.findLastIndex((w) => w.includes("savedqueries")));

    const ids = await views();
    expect([...ids.keys()].sort()).toEqual([...VIEW_NAMES].sort());
    const sol = await api.get<{ value: { solutionid: string }[] }>(
      `solutions?$select=solutionid&$filter=uniquename eq '${SOLUTION}'`,
    );
    const components = await api.get<{ value: { objectid: string }[] }>(
      `solutioncomponents?$select=objectid&$filter=${encodeURIComponent(`_solutionid_value eq ${sol.value[0]!.solutionid} and componenttype eq 26`)}`,
    );
    expect(components.value.map((x) => x.objectid).sort()).toEqual([...ids.values()].sort());

    const after = await adapter.verifySetup();
    expect(after.checks.filter((x) => !x.ok)).toEqual([]);
    expect(after.checks.find((x) => x.name === "views")?.detail).toContain(`solution ${SOLUTION}`);
  });

  it("a second setup changes nothing: no POST, no PATCH", async () => {
    const { result: report, writes } = await writesDuring(sb, () => adapter.setup());
    expect(writes).toEqual([]);
    expect(report.created).toEqual([]);
    for (const name of VIEW_NAMES) expect(report.unchanged).toContain(`View "${name}"`);
  });
});

const rows = new Map<string, string>(); // opportunity id by referral id
let later = ""; // the referral with more time to answer
let sooner = "";
let outbound = "";
const opp = (referralId: string) => rows.get(referralId)!;
/** Partner Center's solution ids on the outbound deal's referral. */
const sharedSolutions = () => {
  const shared = String(sb.dataverse.get("opportunities", outbound)?.[c.referralId]);
  return (sb.partnerCenter.get(shared)?.details?.requirements?.solutions ?? []).map((x) => x.id).sort();
};

// The seller's story, in order: open Needs response, accept one referral, share a deal with a catalog
// solution, mark it a favorite, decline another (refused without a reason, then with one), invite
// Microsoft and see its answer.
describe("sellers find co-sell work in the views", () => {
  it("Needs response lists the two inbound referrals, the one to answer first on top", async () => {
    const now = sb.clock.now().getTime();
    later = sb.partnerCenter.sendInboundReferral({
      expirationDateTime: new Date(now + 10 * DAY).toISOString(),
    }).id;
    sooner = sb.partnerCenter.sendInboundReferral({
      expirationDateTime: new Date(now + 3 * DAY).toISOString(),
    }).id;
    const account = sb.dataverse.all("accounts")[0]!;
    outbound = String(
      sb.dataverse.insert("opportunities", {
        name: "Outbound co-sell deal",
        estimatedvalue: 25_000,
        estimatedclosedate: "2026-12-31",
        description: "Shared with Microsoft from Dynamics 365.",
        "parentaccountid@odata.bind": `/accounts(${account.accountid})`,
        "customerid_account@odata.bind": `/accounts(${account.accountid})`,
        "parentcontactid@odata.bind": `/contacts(${account._primarycontactid_value})`,
        [c.syncFlag]: true,
        [c.consent]: true,
      }).opportunityid,
    );
    relateSolutions(sb.dataverse, outbound, [{ id: "sol-1", name: "Contoso Field Service", kind: "own" }]);
    await cycle();
    for (const r of sb.dataverse.all("opportunities"))
      if (typeof r[c.referralId] === "string") rows.set(String(r[c.referralId]), String(r.opportunityid));
    expect(rows.has(later) && rows.has(sooner)).toBe(true);
    expect(sb.dataverse.get("opportunities", outbound)?.[c.referralId]).toEqual(expect.any(String));
    // The catalog solution related to the deal before it was shared went out with it.
    expect(sharedSolutions()).toEqual(["sol-1"]);

    expect(await runView("Co-sell – Needs response")).toEqual([opp(sooner), opp(later)]);
    expect((await runView("Co-sell – Inbound")).sort()).toEqual([opp(sooner), opp(later)].sort());
  });

  it("the view shows the seller's columns: account, respond by, co-sell status, sync status", async () => {
    const id = (await views()).get("Co-sell – Needs response")!;
    const body = await api.get<{ value: Record<string, unknown>[] }>(`opportunities?savedQuery=${id}`);
    const first = body.value[0]!;
    expect(first).toMatchObject({
      opportunityid: opp(sooner),
      [c.coSellStatus]: stageValue("received"),
      [c.syncStatus]: syncStateValue(PREFIX, "synced"),
    });
    expect(Date.parse(String(first[c.respondBy]))).toBeLessThan(
      Date.parse(String(body.value[1]![c.respondBy])),
    );
    expect(first._parentaccountid_value).toEqual(expect.any(String));
    expect(first).not.toHaveProperty(c.lastSyncError);
  });

  it("an accepted referral leaves Needs response after the sync", async () => {
    sb.dataverse.update("opportunities", opp(sooner), { [c.response]: ACCEPT });
    await cycle();
    const accepted = sb.partnerCenter.get(sooner)!;
    expect({ status: accepted.status, substatus: accepted.substatus }).toEqual({
      status: "Active",
      substatus: "Accepted",
    });
    expect(sb.dataverse.get("opportunities", opp(sooner))?.[c.coSellStatus]).toBe(stageValue("accepted"));
    expect(await runView("Co-sell – Needs response")).toEqual([opp(later)]);
    expect((await runView("Co-sell – Inbound")).sort()).toEqual([opp(sooner), opp(later)].sort());
  });

  it("Outbound shows the shared deal and no referral Microsoft sent", async () => {
    expect(await runView("Co-sell – Outbound")).toEqual([outbound]);
  });

  it("a favorite shows in Favorites; a catalog solution related in the same visit reaches Partner Center", async () => {
    expect(await runView("Co-sell – Favorites")).toEqual([]);
    // An admin put the solution in the catalog (`cosell solutions import`, or the config); the seller
    // adds it in the Solutions subgrid ("Add existing") and ticks Co-sell favorite. Relating rows does
    // not change the opportunity (docs/dynamics.md §6): the favorite's save is what carries it.
    const insights = { id: "sol-contoso-insights", name: "Contoso Insights", kind: "own" } as const;
    await adapter.solutionCatalog!.upsert([{ ...insights, active: true }]);
    relateSolutions(sb.dataverse, outbound, [...relatedSolutions(sb.dataverse, outbound), insights]);
    sb.dataverse.update("opportunities", outbound, { [c.favorite]: true });
    await cycle();
    expect(await runView("Co-sell – Favorites")).toEqual([outbound]);
    expect(sharedSolutions()).toEqual(["sol-1", insights.id]);
  });

  it("a row whose sync failed shows in Sync errors, and still in Needs response", async () => {
    expect(await runView("Co-sell – Sync errors")).toEqual([]);
    // A decline without a reason is not sent: the row is marked with what to do.
    sb.dataverse.update("opportunities", opp(later), { [c.response]: DECLINE });
    await cycle(false);
    expect(sb.dataverse.get("opportunities", opp(later))?.[c.syncStatus]).toBe(
      syncStateValue(PREFIX, "error"),
    );
    expect(await runView("Co-sell – Sync errors")).toEqual([opp(later)]);
    expect(await runView("Co-sell – Needs response")).toEqual([opp(later)]);
  });

  it("with a listed reason the decline reaches Partner Center; the row leaves Needs response and Sync errors", async () => {
    sb.dataverse.update("opportunities", opp(later), {
      [c.closeReasonCode]: choiceValue(CLOSE_REASON_CHOICE, PREFIX, "noCapacity"),
      [c.closeReason]: "Booked until March.",
    });
    await cycle();
    const declined = sb.partnerCenter.get(later)!;
    expect({ status: declined.status, substatus: declined.substatus }).toEqual({
      status: "Closed",
      substatus: "Declined",
    });
    expect(await runView("Co-sell – Needs response")).toEqual([]);
    expect(await runView("Co-sell – Sync errors")).toEqual([]);
  });

  it("the favorite reached Partner Center; inviting Microsoft does too, and Microsoft's answer shows on the row", async () => {
    const shared = String(sb.dataverse.get("opportunities", outbound)?.[c.referralId]);
    expect(sb.partnerCenter.get(shared)).toMatchObject({ favorite: true });
    sb.dataverse.update("opportunities", opp(sooner), {
      [c.helpRequested]: true,
      [c.helpType]: choiceValue(HELP_TYPE_CHOICE, PREFIX, "ProofOfConceptOrDemo"),
      [c.helpNotes]: "A demo of Fabric for the CFO.",
    });
    await cycle();
    const engagement = sb.partnerCenter.get(sooner)!.engagementId;
    const invitations = sb.partnerCenter
      .all()
      .filter((r) => r.engagementId === engagement && isMicrosoftInvitation(r));
    expect(invitations.map((r) => r.inviteContext?.assistanceRequestCode)).toEqual(["ProofOfConceptOrDemo"]);
    const answer = () => sb.dataverse.get("opportunities", opp(sooner))?.[c.microsoftAnswer];
    expect(answer()).toBe(choiceValue(MICROSOFT_ANSWER_CHOICE, PREFIX, "pending"));
    sb.partnerCenter.engage(sooner);
    await cycle();
    expect(answer()).toBe(choiceValue(MICROSOFT_ANSWER_CHOICE, PREFIX, "accepted"));
  });

  it("Microsoft's answer on the shared deal shows in the Outbound and Favorites views and on the Co-sell tab", async () => {
    sb.dataverse.update("opportunities", outbound, {
      [c.helpRequested]: true,
      [c.helpType]: choiceValue(HELP_TYPE_CHOICE, PREFIX, "CustomerTechnicalArchitecture"),
      [c.helpNotes]: "An Azure architect for the landing zone.",
    });
    await cycle();
    const answerIn = async (view: string) => {
      const id = (await views()).get(view)!;
      const body = await api.get<{ value: Record<string, unknown>[] }>(`opportunities?savedQuery=${id}`);
      return body.value.find((r) => r.opportunityid === outbound)?.[c.microsoftAnswer];
    };
    const waiting = choiceValue(MICROSOFT_ANSWER_CHOICE, PREFIX, "pending");
    expect(await answerIn("Co-sell – Outbound")).toBe(waiting);
    expect(await answerIn("Co-sell – Favorites")).toBe(waiting);
    sb.partnerCenter.decline(
      String(sb.dataverse.get("opportunities", outbound)?.[c.referralId]),
      "No Microsoft seller free this quarter.",
    );
    await cycle();
    const declined = choiceValue(MICROSOFT_ANSWER_CHOICE, PREFIX, "declined");
    expect(await answerIn("Co-sell – Outbound")).toBe(declined);
    expect(await answerIn("Co-sell – Favorites")).toBe(declined);
    // The form: the published main form's Co-sell tab shows the column, read-only.
    const forms = await api.get<{ value: { name: string; formxml: string }[] }>(
      `systemforms?$select=name,formxml&$filter=${encodeURIComponent("objecttypecode eq 'opportunity' and type eq 2")}`,
    );
    const formXml = forms.value.find((f) => f.name === "Opportunity")!.formxml;
    const tab = /<tab [^>]*name="cosell_cosell"[\s\S]*?<\/tab>/.exec(formXml)?.[0] ?? "";
    expect(tab).toMatch(new RegExp(`<control [^>]*datafieldname="${c.microsoftAnswer}"[^>]*disabled="true"`));
  });
});

describe("doctor and setup repair the views", () => {
  it("doctor names a deleted view with the fix; setup creates it again in the solution", async () => {
    const id = (await views()).get("Co-sell – Favorites")!;
    expect((await api.send("DELETE", `savedqueries(${id})`)).status).toBe(204);
    const report = await adapter.verifySetup();
    const check = report.checks.find((x) => x.name === "views")!;
    expect(check.ok).toBe(false);
    expect(check.detail).toContain('"Co-sell – Favorites" is missing');
    expect(check.detail).not.toContain("Needs response");
    expect(check.fix).toContain("Run `cosell setup`");

    const { result, writes } = await writesDuring(sb, () => adapter.setup());
    expect(result.created).toEqual(['View "Co-sell – Favorites"']);
    expect(writes.filter((w) => w.includes("savedqueries"))).toEqual(["POST /savedqueries"]);
    expect((await adapter.verifySetup()).checks.find((x) => x.name === "views")?.ok).toBe(true);
    expect(await runView("Co-sell – Favorites")).toEqual([outbound]);
  });

  it("a view outside the solution is named by doctor; setup adds it to the solution and writes no view", async () => {
    const favorites = cosellViews(c, PREFIX).find((v) => v.name === "Co-sell – Favorites")!;
    const id = (await views()).get(favorites.name)!;
    expect((await api.send("DELETE", `savedqueries(${id})`)).status).toBe(204);
    // The same view made again by hand, without the solution header.
    const made = await api.send("POST", "savedqueries", {
      name: favorites.name,
      description: favorites.description,
      returnedtypecode: "opportunity",
      querytype: 0,
      fetchxml: favorites.fetchXml,
      layoutxml: favorites.layoutXml,
    });
    expect(made.status).toBe(204);
    const check = (await adapter.verifySetup()).checks.find((x) => x.name === "views")!;
    expect(check.ok).toBe(false);
    expect(check.detail).toContain(`"Co-sell – Favorites" is not in solution ${SOLUTION}`);

    const { result, writes } = await writesDuring(sb, () => adapter.setup());
    expect(writes).toEqual(["POST /AddSolutionComponent"]);
    expect(result.created).toEqual([`View "Co-sell – Favorites" added to solution "${SOLUTION}"`]);
    expect((await adapter.verifySetup()).checks.find((x) => x.name === "views")?.ok).toBe(true);
  });

  it("a view whose FetchXml lost a column is named by doctor and rewritten (PATCH) by setup", async () => {
    const id = (await views()).get("Co-sell – Outbound")!;
    const filter = `<filter type="and"><condition attribute="${c.syncFlag}" operator="eq" value="1" /></filter>`;
    const res = await api.send("PATCH", `savedqueries(${id})`, {
      fetchxml: `<fetch version="1.0" mapping="logical"><entity name="opportunity"><attribute name="name" /><attribute name="opportunityid" /><order attribute="name" descending="false" />${filter}</entity></fetch>`,
    });
    expect(res.status).toBe(204);
    const check = (await adapter.verifySetup()).checks.find((x) => x.name === "views")!;
    expect(check.ok).toBe(false);
    expect(check.detail).toContain(`"Co-sell – Outbound" does not use parentaccountid, ${c.coSellStatus}`);

    const { result, writes } = await writesDuring(sb, () => adapter.setup());
    expect(result.created).toEqual(['View "Co-sell – Outbound": definition updated']);
    expect(writes.filter((w) => w.includes("savedqueries"))).toHaveLength(1);
    expect(writes.find((w) => w.includes("savedqueries"))).toMatch(/^PATCH/);
    expect(await runView("Co-sell – Outbound")).toEqual([outbound]);
    expect((await adapter.verifySetup()).ok).toBe(true);
  });
});
