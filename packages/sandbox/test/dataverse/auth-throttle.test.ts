import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { SANDBOX_DATAVERSE_RESOURCE, SANDBOX_TENANT_ID } from "../../src/dataverse/index.js";
import { SANDBOX_GRAPH_RESOURCE } from "../../src/graph/index.js";
import { CLIENT_ID, type DataverseHarness, startDataverse } from "./harness.js";

let h: DataverseHarness;
beforeEach(async () => {
  h = await startDataverse();
});
afterEach(() => h.close());

const CHALLENGE = `Bearer authorization_uri=https://login.microsoftonline.com/${SANDBOX_TENANT_ID}/oauth2/authorize, resource_id=${SANDBOX_DATAVERSE_RESOURCE}/`;

async function errorOf(res: Response) {
  return ((await res.json()) as { error: { code: string; message: string } }).error;
}

describe("authentication", () => {
  it("answers 401 with code 0x8006088a and a WWW-Authenticate challenge without a token", async () => {
    const res = await h.call("GET", "opportunities", { token: null });
    expect(res.status).toBe(401);
    expect(res.headers.get("WWW-Authenticate")).toBe(CHALLENGE);
    const err = await errorOf(res);
    expect(err.code).toBe("0x8006088a");
    expect(err.message).toContain(`${SANDBOX_DATAVERSE_RESOURCE}/.default`);
  });

  it("answers 401 once the token expires on the sandbox clock, and for tokens meant for another resource", async () => {
    const short = h.tokens.issue({
      clientId: CLIENT_ID,
      audience: SANDBOX_DATAVERSE_RESOURCE,
      scopes: [],
      ttlSeconds: 60,
    }).token;
    expect((await h.call("GET", "WhoAmI", { token: short })).status).toBe(200);
    h.clock.advance(61_000);
    const expired = await h.call("GET", "WhoAmI", { token: short });
    expect(expired.status).toBe(401);
    expect(expired.headers.get("WWW-Authenticate")).toBe(CHALLENGE);
    expect((await errorOf(expired)).code).toBe("0x8006088a");
    const graphToken = h.tokens.issue({
      clientId: CLIENT_ID,
      audience: SANDBOX_GRAPH_RESOURCE,
      scopes: [],
      ttlSeconds: 3600,
    }).token;
    expect((await h.call("GET", "WhoAmI", { token: graphToken })).status).toBe(401);
  });
});

describe("service protection limits", () => {
  it("counts requests per client and answers 429 with Retry-After and the documented body", async () => {
    h.server.control.setThrottle({ limit: 3, windowSeconds: 60 });
    for (let i = 0; i < 3; i++) expect((await h.call("GET", "WhoAmI")).status).toBe(200);
    h.clock.advance(20_000);
    const limited = await h.call("GET", "WhoAmI");
    expect(limited.status).toBe(429);
    expect(limited.headers.get("Retry-After")).toBe("40");
    expect(await limited.json()).toEqual({
      error: {
        code: "0x80072322",
        message: "Number of requests exceeded the limit of 3 over time window of 60 seconds.",
      },
    });
    // Another application has its own budget.
    const other = h.tokens.issue({
      clientId: "another-app",
      audience: SANDBOX_DATAVERSE_RESOURCE,
      scopes: [],
      ttlSeconds: 600,
    }).token;
    expect((await h.call("GET", "WhoAmI", { token: other })).status).toBe(200);
    h.clock.advance(40_000);
    expect((await h.call("GET", "WhoAmI")).status).toBe(200);
    expect(h.log.filter({ server: "dataverse", status: 429 })[0]!.retryAfter).toBe(40);
  });

  it("uses the 6000 requests / 300 seconds limit by default", async () => {
    const res = await h.call("GET", "WhoAmI");
    expect(res.headers.get("x-ms-ratelimit-burst-remaining-xrm-requests")).toBe("5999");
  });

  it("shapes injected faults as Dataverse does: 429 with Retry-After, 5xx, 412 on writes", async () => {
    h.faults.script(
      { server: "dataverse", fault: { kind: "throttle", retryAfterSeconds: 7 } },
      { server: "dataverse", fault: { kind: "serverError", status: 503 } },
      { server: "dataverse", fault: { kind: "preconditionFailed" } },
    );
    const throttled = await h.call("GET", "WhoAmI");
    expect(throttled.status).toBe(429);
    expect(throttled.headers.get("Retry-After")).toBe("7");
    expect(await throttled.json()).toEqual({
      error: {
        code: "0x80072322",
        message: "Number of requests exceeded the limit of 6000 over time window of 300 seconds.",
      },
    });
    const unavailable = await h.call("GET", "WhoAmI");
    expect(unavailable.status).toBe(503);
    expect((await errorOf(unavailable)).code).toBe("0x80040216");
    expect((await h.call("GET", "WhoAmI")).status).toBe(200); // preconditionFailed waits for a write
    const id = h.server.control.all("opportunities")[0]!.opportunityid as string;
    const conflict = await h.call("PATCH", `opportunities(${id})`, { body: { description: "x" } });
    expect(conflict.status).toBe(412);
    expect(await conflict.json()).toEqual({
      error: {
        code: "0x80060882",
        message: "The version of the existing record doesn't match the RowVersion property provided.",
      },
    });
  });
});
