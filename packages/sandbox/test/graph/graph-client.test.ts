import {
  Client,
  type Context,
  GraphError,
  HTTPMessageHandler,
  type Middleware,
  RetryHandler,
  RetryHandlerOptions,
} from "@microsoft/microsoft-graph-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DirectoryUser, seedDirectoryUsers } from "../../src/graph/index.js";
import { type GraphHarness, startGraph } from "./harness.js";

/**
 * What the Dynamics adapter does against the sandbox: graph-client 3.0.7 only attaches (and otherwise
 * strips) the Authorization header for https Graph hosts (dynamics.md §7), so against
 * http://127.0.0.1 the adapter builds its own middleware chain whose first link sets the header.
 */
class BearerTokenMiddleware implements Middleware {
  private next: Middleware | undefined;
  constructor(private readonly getToken: () => Promise<string>) {}

  async execute(context: Context): Promise<void> {
    const token = await this.getToken();
    context.options ??= {};
    const headers = context.options.headers;
    if (headers instanceof Headers) headers.set("Authorization", `Bearer ${token}`);
    else
      context.options.headers = {
        ...(headers as Record<string, string> | undefined),
        Authorization: `Bearer ${token}`,
      };
    await this.next!.execute(context);
  }

  setNext(next: Middleware): void {
    this.next = next;
  }
}

let g: GraphHarness;
let client: Client;
const users = seedDirectoryUsers();

beforeAll(async () => {
  g = await startGraph();
  client = Client.initWithMiddleware({
    baseUrl: g.running.url,
    defaultVersion: "v1.0",
    middleware: [
      new BearerTokenMiddleware(async () => g.token),
      new RetryHandler(new RetryHandlerOptions(0, 2)),
      new HTTPMessageHandler(),
    ],
  });
});
afterAll(() => g.close());

describe("@microsoft/microsoft-graph-client 3.0.7 against the Graph emulator", () => {
  it("looks a user up by mail with filter/select through a custom middleware chain", async () => {
    const target = users[2]!;
    const res = (await client
      .api("/users")
      .filter(`mail eq '${target.mail}'`)
      .select("id,displayName,mail,userPrincipalName")
      .get()) as {
      value: Partial<DirectoryUser>[];
    };
    expect(res.value).toEqual([
      {
        id: target.id,
        displayName: target.displayName,
        mail: target.mail,
        userPrincipalName: target.userPrincipalName,
      },
    ]);
    const one = (await client.api(`/users/${target.id}`).select("displayName").get()) as {
      displayName: string;
    };
    expect(one.displayName).toBe(target.displayName);
  });

  it("follows nextLinks once the http origin is taken off (graph-client only parses https absolute URLs)", async () => {
    const seen: string[] = [];
    let page = (await client.api("/users").top(4).select("id").get()) as {
      value: { id: string }[];
      "@odata.nextLink"?: string;
    };
    seen.push(...page.value.map((u) => u.id));
    while (page["@odata.nextLink"]) {
      const relative = page["@odata.nextLink"].slice(`${g.running.url}/v1.0`.length);
      page = (await client.api(relative).get()) as typeof page;
      seen.push(...page.value.map((u) => u.id));
    }
    expect(seen).toEqual(users.map((u) => u.id));
  });

  it("surfaces Graph errors as GraphError and retries a 429 after Retry-After", async () => {
    try {
      await client.api("/users/00000000-0000-0000-0000-000000000000").get();
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(GraphError);
      expect((e as GraphError).statusCode).toBe(404);
      expect((e as GraphError).code).toBe("Request_ResourceNotFound");
    }
    g.faults.script({ server: "graph", fault: { kind: "throttle", retryAfterSeconds: 1 } });
    const before = g.log.entries.length;
    const res = (await client.api("/users").top(1).select("id").get()) as { value: unknown[] };
    expect(res.value).toHaveLength(1);
    expect(g.log.entries.slice(before).map((e) => e.status)).toEqual([429, 200]);
  });

  it("with the default chain the Authorization header never reaches an http host", async () => {
    const defaultClient = Client.initWithMiddleware({
      baseUrl: g.running.url,
      defaultVersion: "v1.0",
      authProvider: { getAccessToken: async () => g.token },
    });
    try {
      await defaultClient.api("/users").get();
      expect.unreachable();
    } catch (e) {
      expect((e as GraphError).statusCode).toBe(401);
      expect((e as GraphError).message).toBe("Access token is empty.");
    }
  });
});
