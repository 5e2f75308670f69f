import { ConfidentialClientApplication } from "@azure/msal-node";
import { afterEach, describe, expect, it } from "vitest";
import { startControlServer } from "../../src/control/server.js";
import type { SystemContext } from "../../src/control/system.js";
import { dataverseSystem } from "../../src/dataverse/index.js";
import {
  createEntraServer,
  EntraDirectory,
  EntraSignIns,
  sandboxMsalAuthority,
} from "../../src/entra/index.js";
import { graphSystem } from "../../src/graph/index.js";
import { FaultInjector, listen, RequestLog, SandboxClock, TokenRegistry } from "../../src/kit/index.js";

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

async function context(): Promise<SystemContext> {
  const clock = new SandboxClock();
  const tokens = new TokenRegistry(clock);
  const log = new RequestLog();
  const faults = new FaultInjector();
  const directory = new EntraDirectory();
  const signIns = new EntraSignIns(clock);
  const entra = await listen(createEntraServer({ directory, tokens, clock, signIns }), {
    clock,
    log,
    faults,
  });
  closers.push(entra.close);
  return { clock, log, faults, tokens, entra: { directory, url: entra.url, signIns } };
}

async function startBoth(ctx: SystemContext, restored?: { dataverse?: unknown; graph?: unknown }) {
  const dv = dataverseSystem.start(
    ctx,
    restored?.dataverse === undefined ? undefined : dataverseSystem.parseSnapshot(restored.dataverse),
  );
  const gr = graphSystem.start(
    ctx,
    restored?.graph === undefined ? undefined : graphSystem.parseSnapshot(restored.graph),
  );
  const shared = { clock: ctx.clock, log: ctx.log, faults: ctx.faults };
  const dvServer = await listen(dv.server, shared);
  const grServer = await listen(gr.server, shared);
  closers.push(dvServer.close, grServer.close);
  dv.attach(dvServer.url);
  gr.attach(grServer.url);
  return { dv, gr };
}

describe("dataverseSystem and graphSystem for startSandbox", () => {
  it("hand out credentials that work with msal-node for both APIs, and control routes", async () => {
    const ctx = await context();
    const { dv, gr } = await startBoth(ctx);
    const creds = dv.credentials();
    const cca = new ConfidentialClientApplication({
      auth: {
        clientId: creds.clientId,
        clientSecret: creds.clientSecret,
        ...sandboxMsalAuthority(creds.authorityHost, creds.tenantId),
      },
    });
    const token = (await cca.acquireTokenByClientCredential({ scopes: [creds.scope] }))!.accessToken;
    const who = await fetch(`${creds.apiBaseUrl}/WhoAmI`, { headers: { Authorization: `Bearer ${token}` } });
    expect(who.status).toBe(200);
    const graphToken = (await cca.acquireTokenByClientCredential({ scopes: [creds.graphScope] }))!
      .accessToken;
    const users = await fetch(`${gr.credentials().baseUrl}/users?$top=1`, {
      headers: { Authorization: `Bearer ${graphToken}` },
    });
    expect(users.status).toBe(200);
    expect(dv.secrets()).toContain(creds.clientSecret);

    const control = await startControlServer([...dv.routes, ...gr.routes]);
    closers.push(control.close);
    const post = (path: string, body: unknown, method = "POST") =>
      fetch(`${control.url}${path}`, {
        method,
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
    const created = (await (
      await post("/dataverse/tables/opportunities", { name: "From control", estimatedvalue: 5 })
    ).json()) as { opportunityid: string };
    expect((await post(`/dataverse/opportunities/${created.opportunityid}/win`, {})).status).toBe(200);
    const refused = await post(
      `/dataverse/tables/opportunities/${created.opportunityid}`,
      { name: "x" },
      "PUT",
    );
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe("0x80040203");
    expect(
      ((await (await post("/dataverse/seed-opportunities", { count: 50 })).json()) as { count: number })
        .count,
    ).toBe(50);
    const added = await post("/graph/users", {
      displayName: "Control User",
      userPrincipalName: "control.user@contoso.com",
    });
    expect(added.status).toBe(200);
  });

  it("restore from a snapshot: same app, same rows, same directory", async () => {
    const ctx = await context();
    const first = await startBoth(ctx);
    first.dv.control.insert("accounts", { name: "Snapshotted Ltd" });
    first.gr.control.add({ displayName: "Snap Shot", userPrincipalName: "snap.shot@contoso.com" });
    const saved = JSON.parse(JSON.stringify({ dataverse: first.dv.snapshot(), graph: first.gr.snapshot() }));

    const ctx2 = await context();
    const second = await startBoth(ctx2, saved);
    expect(second.dv.credentials().clientId).toBe(first.dv.credentials().clientId);
    expect(second.dv.control.all("accounts").some((a) => a.name === "Snapshotted Ltd")).toBe(true);
    expect(second.gr.control.get("snap.shot@contoso.com")).toBeDefined();
    expect(() => dataverseSystem.parseSnapshot({ tenantId: "x" })).toThrow();
  });
});
