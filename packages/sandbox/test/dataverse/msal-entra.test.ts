import { randomBytes } from "node:crypto";
import { ConfidentialClientApplication } from "@azure/msal-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDataverseServer, SANDBOX_DATAVERSE_RESOURCE } from "../../src/dataverse/index.js";
import { createEntraServer, EntraDirectory, sandboxMsalAuthority } from "../../src/entra/index.js";
import { createGraphServer, SANDBOX_GRAPH_RESOURCE, seedDirectoryUsers } from "../../src/graph/index.js";
import {
  FaultInjector,
  listen,
  RequestLog,
  type RunningServer,
  SandboxClock,
  TokenRegistry,
} from "../../src/kit/index.js";

const TENANT = "7a1d2c3b-4e5f-4061-8273-94a5b6c7d8e9";
const CLIENT = "3f2e1d0c-9b8a-4765-8432-10fedcba9876";
const SECRET = randomBytes(24).toString("base64url");

let entra: RunningServer;
let dataverse: RunningServer;
let graph: RunningServer;

beforeAll(async () => {
  const clock = new SandboxClock();
  const tokens = new TokenRegistry(clock);
  const shared = { clock, log: new RequestLog(), faults: new FaultInjector() };
  const directory = new EntraDirectory();
  directory.register({
    tenantId: TENANT,
    clientId: CLIENT,
    clientSecrets: [SECRET],
    allowedResources: [SANDBOX_DATAVERSE_RESOURCE, SANDBOX_GRAPH_RESOURCE],
  });
  entra = await listen(createEntraServer({ directory, tokens, clock }), shared);
  dataverse = await listen(
    createDataverseServer(
      { clock, tokens },
      {
        unknownClients: "reject",
        applicationUsers: [{ clientId: CLIENT, name: "cosell", roles: ["System Administrator"] }],
      },
    ),
    shared,
  );
  graph = await listen(createGraphServer({ clock, tokens }), shared);
});
afterAll(async () => {
  await Promise.all([entra.close(), dataverse.close(), graph.close()]);
});

describe("tokens from the sandbox Entra ID through unmodified @azure/msal-node", () => {
  it("authenticate the Dataverse Web API as the app's application user, and Graph", async () => {
    const cca = new ConfidentialClientApplication({
      auth: { clientId: CLIENT, clientSecret: SECRET, ...sandboxMsalAuthority(entra.url, TENANT) },
    });
    const dv = await cca.acquireTokenByClientCredential({
      scopes: [`${SANDBOX_DATAVERSE_RESOURCE}/.default`],
    });
    expect(dv?.accessToken).toBeTruthy();
    const who = await fetch(`${dataverse.url}/api/data/v9.2/WhoAmI`, {
      headers: { Authorization: `Bearer ${dv!.accessToken}`, Accept: "application/json" },
    });
    expect(who.status).toBe(200);
    const { UserId } = (await who.json()) as { UserId: string };
    const user = await fetch(
      `${dataverse.url}/api/data/v9.2/systemusers(${UserId})?$select=fullname,applicationid`,
      {
        headers: { Authorization: `Bearer ${dv!.accessToken}` },
      },
    );
    expect(await user.json()).toMatchObject({ fullname: "# cosell", applicationid: CLIENT });

    const gr = await cca.acquireTokenByClientCredential({ scopes: [`${SANDBOX_GRAPH_RESOURCE}/.default`] });
    const target = seedDirectoryUsers()[0]!;
    const users = await fetch(`${graph.url}/v1.0/users?$filter=mail eq '${target.mail}'&$select=id`, {
      headers: { Authorization: `Bearer ${gr!.accessToken}` },
    });
    expect(await users.json()).toMatchObject({ value: [{ id: target.id }] });

    // A Graph token is not a Dataverse token.
    const wrong = await fetch(`${dataverse.url}/api/data/v9.2/WhoAmI`, {
      headers: { Authorization: `Bearer ${gr!.accessToken}` },
    });
    expect(wrong.status).toBe(401);
  });
});
