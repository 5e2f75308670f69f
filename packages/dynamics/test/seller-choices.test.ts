import type { CoSellDeal } from "@cosell/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  COSELL_STAGE_CHOICE,
  choiceColumns,
  DIRECTION_CHOICE,
  REGISTRATION_STATUS_CHOICE,
} from "../src/choice-columns.js";
import { choiceValue, columnBuilders } from "../src/columns.js";
import { columnsFor, createDynamicsAdapter } from "../src/index.js";
import { plainFieldColumns } from "../src/mapping.js";
import { type DynamicsSandbox, dataverseWebApi, sandboxConfig, startDynamicsSandbox } from "./helpers.js";

/**
 * Co-sell stage, direction and registration status are choices bound to global choices, created in
 * the solution; an environment set up when they were text is upgraded in place.
 */

const c = columnsFor("cosell");
const PREFIX = 18342;
const CHOICES = choiceColumns("cosell", PREFIX);
const OPTION_SET_COMPONENT = 9;
const ATTRIBUTE_COMPONENT = 2;

const quiet = () => {};

function adapterFor(sb: DynamicsSandbox, lines: string[] = []) {
  return createDynamicsAdapter(sandboxConfig(sb), {
    now: () => sb.clock.now(),
    sleep: async (ms) => {
      sb.clock.advance(ms);
    },
    logger: { info: (_o, msg) => lines.push(msg), warn: quiet, debug: quiet },
  });
}

/** The ids of the solution's components of one type. */
async function components(sb: DynamicsSandbox, type: number): Promise<Set<string>> {
  const api = dataverseWebApi(sb);
  const sol = await api.get<{ value: { solutionid: string }[] }>(
    `solutions?$select=solutionid&$filter=${encodeURIComponent("uniquename eq 'cosell'")}`,
  );
  const rows = await api.get<{ value: { objectid: string }[] }>(
    `solutioncomponents?$select=objectid&$filter=${encodeURIComponent(`_solutionid_value eq ${sol.value[0]!.solutionid} and componenttype eq ${type}`)}`,
  );
  return new Set(rows.value.map((r) => r.objectid));
}

describe("the registration choice", () => {
  it("names Partner Center's known statuses and reads any other as Other, the exact word kept as text", () => {
    const code = (registrationStatus: string) =>
      plainFieldColumns({ registrationStatus } as CoSellDeal, ["registration"], c, PREFIX);
    expect(code("ReviewPending")).toMatchObject({
      [c.registrationStatusCode]: choiceValue(REGISTRATION_STATUS_CHOICE, PREFIX, "ReviewPending"),
      [c.registrationStatus]: "ReviewPending",
    });
    expect(code("Approved")).toMatchObject({
      [c.registrationStatusCode]: choiceValue(REGISTRATION_STATUS_CHOICE, PREFIX, "Other"),
      [c.registrationStatus]: "Approved",
    });
  });
});

describe("choices on a bare environment", () => {
  let sb: DynamicsSandbox;
  beforeAll(async () => {
    sb = await startDynamicsSandbox();
  });
  afterAll(() => sb?.stop());

  it("creates each global choice and its column in the solution; a second run changes nothing", async () => {
    const report = await adapterFor(sb).setup();
    for (const ch of CHOICES) {
      expect(report.created).toContain(`Global choice ${ch.optionSetName}`);
      expect(report.created).toContain(`Column ${ch.column.logicalName} ("${ch.column.display}")`);
    }
    const api = dataverseWebApi(sb);
    const sets = await api.get<{
      value: { Name: string; MetadataId: string; Options: { Value: number }[] }[];
    }>("GlobalOptionSetDefinitions");
    const stage = sets.value.find((s) => s.Name === "cosell_cosellstage")!;
    expect(stage.Options.map((o) => o.Value)).toEqual(
      Object.values(COSELL_STAGE_CHOICE.offsets).map((o) => PREFIX * 10000 + o),
    );
    const inSolution = await components(sb, OPTION_SET_COMPONENT);
    for (const ch of CHOICES)
      expect(inSolution.has(sets.value.find((s) => s.Name === ch.optionSetName)!.MetadataId)).toBe(true);
    const attrs = await api.get<{ value: { LogicalName: string; MetadataId: string }[] }>(
      "EntityDefinitions(LogicalName='opportunity')/Attributes?$select=LogicalName",
    );
    const columns = await components(sb, ATTRIBUTE_COMPONENT);
    for (const ch of CHOICES) {
      const attr = attrs.value.find((a) => a.LogicalName === ch.column.logicalName);
      expect(attr && columns.has(attr.MetadataId), ch.column.logicalName).toBe(true);
    }
    // The text columns they replaced are not created on a bare environment.
    expect(attrs.value.map((a) => a.LogicalName)).not.toContain("cosell_cosellstatus");
    expect(attrs.value.map((a) => a.LogicalName)).not.toContain("cosell_referraldirection");

    const again = await adapterFor(sb).setup();
    expect(again.created).toEqual([]);
    const check = (await adapterFor(sb).verifySetup()).checks.find((x) => x.name === "choice columns");
    expect(check).toMatchObject({ ok: true });
  });

  it("refuses a value that is not one of the choice's options, as Dataverse does", async () => {
    const api = dataverseWebApi(sb);
    const res = await api.send("POST", "opportunities", { name: "Bad stage", [c.coSellStatus]: 1 });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.message).toContain(`The value 1 of '${c.coSellStatus}'`);
    expect(body.error.message).toContain("outside the valid range");
    const ok = await api.send("POST", "opportunities", {
      name: "Good stage",
      [c.coSellStatus]: choiceValue(COSELL_STAGE_CHOICE, PREFIX, "won"),
    });
    expect(ok.status).toBe(204);
  });
});

describe("an environment set up when these were text columns", () => {
  let sb: DynamicsSandbox;
  const ids: Record<string, string> = {};
  beforeAll(async () => {
    sb = await startDynamicsSandbox();
    // What an earlier setup created: the same text columns (cosell_CoSellStatus comes with the
    // sandbox's assumed setup).
    sb.dataverse.installCosellSetup();
    const { string } = columnBuilders("cosell");
    const api = dataverseWebApi(sb);
    for (const col of [
      string("ReferralDirection", "Referral direction", "inbound when Microsoft sent the referral.", 20),
      string("RegistrationStatus", "Registration status", "Partner Center's registration status.", 100),
    ]) {
      const res = await api.send(
        "POST",
        "EntityDefinitions(LogicalName='opportunity')/Attributes",
        col.payload,
        {
          "MSCRM.SolutionUniqueName": "cosell",
        },
      );
      expect(res.status).toBe(204);
    }
    const row = (name: string, values: Record<string, unknown>) =>
      String(sb.dataverse.insert("opportunities", { name, ...values }).opportunityid);
    ids.received = row("Received inbound", {
      cosell_cosellstatus: "received",
      cosell_referraldirection: "inbound",
    });
    ids.review = row("Won, in review", {
      cosell_cosellstatus: "won",
      cosell_referraldirection: "outbound",
      cosell_registrationstatus: "ReviewPending",
    });
    ids.typed = row("Typed by hand", { cosell_cosellstatus: "Accepted by phone" });
  });
  afterAll(() => sb?.stop());

  it("doctor names each missing choice column and says how to fix it", async () => {
    const check = (await adapterFor(sb).verifySetup()).checks.find((x) => x.name === "choice columns")!;
    expect(check.ok).toBe(false);
    for (const ch of CHOICES) expect(check.detail).toContain(ch.column.logicalName);
    expect(check.fix).toContain("cosell setup");
  });

  it("creates the choices beside the text columns and copies the values, with a progress line", async () => {
    const lines: string[] = [];
    const report = await adapterFor(sb, lines).setup();
    const get = (id: string) => sb.dataverse.get("opportunities", id)!;
    expect(get(ids.received!)[c.coSellStatus]).toBe(choiceValue(COSELL_STAGE_CHOICE, PREFIX, "received"));
    expect(get(ids.received!)[c.direction]).toBe(choiceValue(DIRECTION_CHOICE, PREFIX, "inbound"));
    expect(get(ids.review!)[c.coSellStatus]).toBe(choiceValue(COSELL_STAGE_CHOICE, PREFIX, "won"));
    expect(get(ids.review!)[c.direction]).toBe(choiceValue(DIRECTION_CHOICE, PREFIX, "outbound"));
    expect(get(ids.review!)[c.registrationStatusCode]).toBe(
      choiceValue(REGISTRATION_STATUS_CHOICE, PREFIX, "ReviewPending"),
    );
    // Text naming no option is left as it was; the old column keeps its value.
    expect(get(ids.typed!)[c.coSellStatus]).toBeNull();
    expect(get(ids.typed!).cosell_cosellstatus).toBe("Accepted by phone");
    expect(report.created).toContain("2 value(s) copied from cosell_cosellstatus to cosell_cosellstage");
    expect(
      lines.some((l) =>
        l.startsWith("Copying cosell_cosellstatus into the choice cosell_cosellstage: 2 of 3"),
      ),
    ).toBe(true);
  });

  it("a second run copies and creates nothing", async () => {
    const before = sb.dataverse.get("opportunities", ids.received!)!.versionnumber;
    const again = await adapterFor(sb).setup();
    expect(again.created).toEqual([]);
    expect(sb.dataverse.get("opportunities", ids.received!)!.versionnumber).toBe(before);
  });

  it("the adapter reads the stage and direction from the choices", async () => {
    const adapter = adapterFor(sb);
    const [rec] = await adapter.read([ids.received!]);
    expect(rec?.deal).toMatchObject({ stage: "received", direction: "inbound" });
  });
});
