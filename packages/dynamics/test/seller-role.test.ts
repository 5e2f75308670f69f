import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDynamicsAdapter, type DynamicsAdapter } from "../src/index.js";
import { ROLE_COMPONENT, SELLER_ROLE_NAME } from "../src/seller-role.js";
import { type DynamicsSandbox, dataverseWebApi, sandboxConfig, startDynamicsSandbox } from "./helpers.js";

/** Setup creates the *Co-sell Seller* role in the solution with its privileges; doctor checks it. */

/**
 * What the role holds (sorted by name): on opportunity read, write and both appends (a seller relates
 * catalog solutions to a deal); on the catalog read and both appends; on Microsoft's team read only.
 */
const HELD = [
  "prvAppendOpportunity",
  "prvAppendToOpportunity",
  "prvAppendTocosell_solution",
  "prvAppendcosell_solution",
  "prvReadOpportunity",
  "prvReadcosell_microsoftteammember",
  "prvReadcosell_solution",
  "prvWriteOpportunity",
];

/** What the application user's roles get on cosell's own tables: everything cosell does there. */
const APP_USER_HELD = ["Append", "AppendTo", "Create", "Delete", "Read", "Write"].flatMap((r) => [
  `prv${r}cosell_solution`,
  `prv${r}cosell_microsoftteammember`,
]);

let sb: DynamicsSandbox;
let adapter: DynamicsAdapter;
let api: ReturnType<typeof dataverseWebApi>;

const roleCheck = async () =>
  (await adapter.verifySetup()).checks.find((x) => x.name === "seller security role")!;

async function sellerRole(): Promise<{ roleid: string } | undefined> {
  const filter = encodeURIComponent(`name eq '${SELLER_ROLE_NAME}'`);
  return (await api.get<{ value: { roleid: string }[] }>(`roles?$select=roleid&$filter=${filter}`)).value[0];
}

async function privilegesOf(roleId: string): Promise<string[]> {
  const rows = await api.get<{ value: { name: string }[] }>(
    `roles(${roleId})/roleprivileges_association?$select=name`,
  );
  return rows.value.map((p) => p.name).sort();
}

beforeAll(async () => {
  sb = await startDynamicsSandbox();
  adapter = createDynamicsAdapter(sandboxConfig(sb), { now: () => sb.clock.now() });
  api = dataverseWebApi(sb);
});
afterAll(() => sb?.stop());

describe("the Co-sell Seller security role", () => {
  it("doctor on a bare environment says the role is missing and how to fix it", async () => {
    const check = await roleCheck();
    expect(check).toMatchObject({ ok: false });
    expect(check.detail).toContain(`"${SELLER_ROLE_NAME}" does not exist`);
    expect(check.fix).toContain("cosell setup");
  });

  it("setup creates it with what sellers need on opportunity and cosell's tables, inside the solution", async () => {
    expect(await sellerRole()).toBeUndefined();
    const report = await adapter.setup();
    expect(report.created).toContain(`Security role "${SELLER_ROLE_NAME}"`);
    const role = (await sellerRole())!;
    expect(await privilegesOf(role.roleid)).toEqual(HELD);
    const sol = await api.get<{ value: { solutionid: string }[] }>(
      `solutions?$select=solutionid&$filter=${encodeURIComponent("uniquename eq 'cosell'")}`,
    );
    const filter = `_solutionid_value eq ${sol.value[0]!.solutionid} and componenttype eq ${ROLE_COMPONENT}`;
    const comps = await api.get<{ value: { objectid: string }[] }>(
      `solutioncomponents?$select=objectid&$filter=${encodeURIComponent(filter)}`,
    );
    expect(comps.value.map((x) => x.objectid)).toContain(role.roleid);
    expect(await roleCheck()).toMatchObject({ ok: true });
  });

  it("a second run adds nothing", async () => {
    const role = (await sellerRole())!;
    const again = await adapter.setup();
    expect(again.created).toEqual([]);
    expect(again.unchanged).toContain(`Security role "${SELLER_ROLE_NAME}": privileges`);
    expect(await privilegesOf(role.roleid)).toEqual(HELD);
  });

  it("the application user's own role gets every right cosell uses on its own tables", async () => {
    const who = await api.get<{ UserId: string }>("WhoAmI");
    const roles = await api.get<{ value: { roleid: string; name: string }[] }>(
      `systemusers(${who.UserId})/systemuserroles_association?$select=roleid,name`,
    );
    const own = roles.value.filter((r) => r.name !== SELLER_ROLE_NAME);
    expect(own.length).toBeGreaterThan(0);
    for (const r of own) expect(await privilegesOf(r.roleid)).toEqual(expect.arrayContaining(APP_USER_HELD));
  });

  it("doctor names a privilege taken away, and setup gives it back", async () => {
    const role = (await sellerRole())!;
    const priv = await api.get<{ value: { privilegeid: string }[] }>(
      `privileges?$select=privilegeid&$filter=${encodeURIComponent("name eq 'prvWriteOpportunity'")}`,
    );
    const res = await api.send("POST", `roles(${role.roleid})/Microsoft.Dynamics.CRM.RemovePrivilegeRole`, {
      PrivilegeId: priv.value[0]!.privilegeid,
    });
    expect(res.status).toBe(204);
    const check = await roleCheck();
    expect(check.ok).toBe(false);
    expect(check.detail).toContain("lacks prvWriteOpportunity");
    const repaired = await adapter.setup();
    expect(repaired.created).toEqual([`Security role "${SELLER_ROLE_NAME}": prvWriteOpportunity`]);
    expect(await roleCheck()).toMatchObject({ ok: true });
  });
});
