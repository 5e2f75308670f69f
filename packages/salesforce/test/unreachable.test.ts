import { createServer } from "node:net";
import { TransientError } from "@cosell/core";
import { describe, expect, it } from "vitest";
import { createSalesforceAdapter } from "../src/index.js";

/** A loopback port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

const config = (loginUrl: string) => ({
  kind: "salesforce" as const,
  auth: { kind: "clientCredentials" as const, clientId: "3MVG9.key", clientSecret: "s3cret", loginUrl },
});

async function firstPage(adapter: ReturnType<typeof createSalesforceAdapter>) {
  for await (const page of adapter.changes(undefined, { overlapMs: 0 })) return page;
  return undefined;
}

// A login host that does not resolve becomes REMOTE_HOST_NOT_FOUND through core's
// describeNetworkFailure (tested there with node-fetch's error shape, the one jsforce throws): a test
// here would need a DNS answer, and tests do not reach the network.
describe("salesforce: a login URL that cannot be reached", () => {
  it("a refused connection is retried, then named with its cause and crm.auth.loginUrl, never as bad credentials", async () => {
    const port = await closedPort();
    const waits: number[] = [];
    const adapter = createSalesforceAdapter(config(`http://127.0.0.1:${port}`), {
      sleep: async (ms) => void waits.push(ms),
    });
    const err = await firstPage(adapter).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransientError);
    expect(err).toMatchObject({ code: "SALESFORCE_LOGIN_UNAVAILABLE", retryable: true });
    const message = (err as Error).message;
    expect(message).toContain(`127.0.0.1:${port}`);
    expect(message).toContain("connection refused");
    expect(message).toContain("(ECONNREFUSED)");
    expect(message).toContain("crm.auth.loginUrl");
    expect(message).not.toMatch(/credential/i);
    expect(waits.length).toBeGreaterThan(0);
  });
});
