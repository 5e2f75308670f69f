import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DirectoryUser, SANDBOX_GRAPH_RESOURCE, seedDirectoryUsers } from "../../src/graph/index.js";
import { type GraphHarness, startGraph } from "./harness.js";

let g: GraphHarness;
beforeAll(async () => {
  g = await startGraph();
});
afterAll(() => g.close());

type Page = { "@odata.context": string; "@odata.nextLink"?: string; value: Partial<DirectoryUser>[] };
const users = seedDirectoryUsers();

async function page(path: string, headers?: Record<string, string>): Promise<Page> {
  const res = await g.get(path, headers);
  expect(res.status, await res.clone().text()).toBe(200);
  return (await res.json()) as Page;
}

async function error(res: Response) {
  return (
    (await res.json()) as { error: { code: string; message: string; innerError: Record<string, string> } }
  ).error;
}

describe("Graph /users", () => {
  it("lists users with Graph's default properties", async () => {
    const body = await page("users");
    expect(body["@odata.context"]).toBe(`${g.running.url}/v1.0/$metadata#users`);
    expect(body.value).toHaveLength(users.length);
    expect(Object.keys(body.value[0]!).sort()).toEqual(
      [
        "businessPhones",
        "displayName",
        "givenName",
        "jobTitle",
        "mail",
        "mobilePhone",
        "officeLocation",
        "preferredLanguage",
        "surname",
        "userPrincipalName",
        "id",
      ].sort(),
    );
  });

  it("filters by mail, userPrincipalName and id with eq (case-insensitive), or, startswith, in", async () => {
    const avery = users[0]!;
    const select = "$select=id,displayName,mail,userPrincipalName";
    expect((await page(`users?$filter=mail eq '${avery.mail!.toUpperCase()}'&${select}`)).value).toEqual([
      {
        id: avery.id,
        displayName: avery.displayName,
        mail: avery.mail,
        userPrincipalName: avery.userPrincipalName,
      },
    ]);
    expect(
      (await page(`users?$filter=userPrincipalName eq '${avery.userPrincipalName}'&${select}`)).value.map(
        (u) => u.id,
      ),
    ).toEqual([avery.id]);
    expect((await page(`users?$filter=id eq '${avery.id}'&${select}`)).value.map((u) => u.id)).toEqual([
      avery.id,
    ]);
    const two = await page(
      `users?$filter=mail eq '${users[1]!.mail}' or mail eq '${users[2]!.mail}'&$select=id`,
    );
    expect(two["@odata.context"]).toBe(`${g.running.url}/v1.0/$metadata#users(id)`);
    expect(two.value.map((u) => u.id).sort()).toEqual([users[1]!.id, users[2]!.id].sort());
    expect(
      (await page("users?$filter=startswith(displayName,'s')&$select=displayName")).value.map(
        (u) => u.displayName,
      ),
    ).toEqual(users.filter((u) => u.displayName.toLowerCase().startsWith("s")).map((u) => u.displayName));
    const inList = await page(`users?$filter=id in ('${users[3]!.id}','${users[4]!.id}')&$select=id`);
    expect(inList.value).toHaveLength(2);
    expect((await page("users?$filter=mail eq 'nobody@contoso.com'")).value).toEqual([]);
  });

  it("pages with $top and an absolute @odata.nextLink", async () => {
    const seen: string[] = [];
    let next: string | undefined = "users?$top=3&$select=id";
    let pages = 0;
    while (next) {
      const body: Page = await page(next);
      expect(body.value.length).toBeLessThanOrEqual(3);
      seen.push(...body.value.map((u) => u.id!));
      next = body["@odata.nextLink"];
      if (next)
        expect(next.startsWith(`${g.running.url}/v1.0/users?$top=3&$select=id&$skiptoken=`)).toBe(true);
      pages++;
    }
    expect(pages).toBe(Math.ceil(users.length / 3));
    expect(seen).toEqual(users.map((u) => u.id));
  });

  it("gets one user by id or userPrincipalName, and 404s with Graph's error shape", async () => {
    const u = users[5]!;
    const byId = await g.get(`users/${u.id}?$select=displayName,mail`);
    expect(await byId.json()).toEqual({
      "@odata.context": `${g.running.url}/v1.0/$metadata#users(displayName,mail)/$entity`,
      displayName: u.displayName,
      mail: u.mail,
    });
    const byUpn = (await (
      await g.get(`users/${encodeURIComponent(u.userPrincipalName)}`)
    ).json()) as DirectoryUser;
    expect(byUpn.id).toBe(u.id);
    const missing = await g.get("users/00000000-0000-0000-0000-000000000000");
    expect(missing.status).toBe(404);
    const err = await error(missing);
    expect(err.code).toBe("Request_ResourceNotFound");
    expect(err.message).toBe(
      "Resource '00000000-0000-0000-0000-000000000000' does not exist or one of its queried reference-property objects are not present.",
    );
    expect(Object.keys(err.innerError).sort()).toEqual(["client-request-id", "date", "request-id"]);
  });

  it("refuses what Graph refuses: big pages, advanced filters without ConsistencyLevel, unknown properties", async () => {
    const big = await g.get("users?$top=1000");
    expect(big.status).toBe(400);
    expect((await error(big)).message).toBe(
      "Invalid page size specified: '1000'. Must be between 1 and 999 inclusive.",
    );
    const ne = await g.get("users?$filter=mail ne 'x@contoso.com'");
    expect(ne.status).toBe(400);
    expect(await error(ne)).toMatchObject({
      code: "Request_UnsupportedQuery",
      message: "Unsupported or invalid query filter clause specified for property 'mail' of resource 'User'.",
    });
    const advanced = await page("users?$filter=mail ne 'x@contoso.com'&$count=true&$select=id", {
      ConsistencyLevel: "eventual",
    });
    expect(advanced.value).toHaveLength(users.length);
    expect((advanced as unknown as { "@odata.count": number })["@odata.count"]).toBe(users.length);
    const unknown = await g.get("users?$select=shoeSize");
    expect(unknown.status).toBe(400);
    expect((await g.get("users?$filter=mail eq")).status).toBe(400);
  });

  it("answers 401 InvalidAuthenticationToken for missing and expired tokens", async () => {
    const none = await g.get("users", {}, null);
    expect(none.status).toBe(401);
    expect(await error(none)).toMatchObject({
      code: "InvalidAuthenticationToken",
      message: "Access token is empty.",
    });
    const short = g.tokens.issue({
      clientId: "x",
      audience: SANDBOX_GRAPH_RESOURCE,
      scopes: [],
      ttlSeconds: 10,
    }).token;
    g.clock.advance(11_000);
    const expired = await g.get("users", {}, short);
    expect(expired.status).toBe(401);
    expect(await error(expired)).toMatchObject({
      code: "InvalidAuthenticationToken",
      message: "Access token has expired or is not yet valid.",
    });
  });

  it("answers 429 with Retry-After from the fault injector and from its own counter", async () => {
    g.faults.script({ server: "graph", fault: { kind: "throttle", retryAfterSeconds: 3 } });
    const injected = await g.get("users");
    expect(injected.status).toBe(429);
    expect(injected.headers.get("Retry-After")).toBe("3");
    expect(await error(injected)).toMatchObject({
      code: "TooManyRequests",
      message: "Please retry again later.",
      innerError: { status: "429" },
    });

    g.server.control.setThrottle({ limit: 1, windowSeconds: 10 });
    try {
      expect((await g.get("users?$top=1")).status).toBe(200);
      const counted = await g.get("users?$top=1");
      expect(counted.status).toBe(429);
      expect(counted.headers.get("Retry-After")).toBe("10");
    } finally {
      g.server.control.setThrottle(null);
    }
  });

  it("control adds, updates and removes directory users", async () => {
    const added = g.server.control.add({
      displayName: "New Hire",
      userPrincipalName: "new.hire@contoso.com",
      mail: "new.hire@contoso.com",
    });
    expect((await page("users?$filter=mail eq 'new.hire@contoso.com'&$select=id")).value).toEqual([
      { id: added.id },
    ]);
    g.server.control.update(added.id, { mail: "renamed@contoso.com" });
    expect((await page("users?$filter=mail eq 'renamed@contoso.com'&$select=id")).value).toHaveLength(1);
    g.server.control.remove(added.id);
    expect((await g.get(`users/${added.id}`)).status).toBe(404);
    expect(() =>
      g.server.control.add({ displayName: "Dup", userPrincipalName: users[0]!.userPrincipalName }),
    ).toThrow(/already exists/);
  });
});
