import { invitationBody, type Referral } from "@cosell/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Sandbox } from "../../src/index.js";
import {
  type Api,
  createReferral,
  newReferralBody,
  patch,
  pcApi,
  pcToken,
  REFERRALS,
  startFrozen,
  T0,
} from "./helpers.js";

type ErrorBody = {
  error: {
    code: string;
    message: string;
    target?: string;
    innerError?: { code?: string; fields?: string[] };
  };
};

let sandbox: Sandbox;
let api: Api;

beforeAll(async () => {
  sandbox = await startFrozen();
  api = pcApi(sandbox, await pcToken(sandbox));
});
afterAll(() => sandbox.stop());

describe("authentication", () => {
  it("401 unauthenticated without a bearer token", async () => {
    const res = await fetch(`${sandbox.urls.partnerCenter}${REFERRALS}`);
    expect(res.status).toBe(401);
    const body = (await res.json()) as ErrorBody;
    expect(body.error.code).toBe("unauthenticated");
    expect(body.error.message).toMatch(/bearer token/i);
  });

  it("401 for an unknown token and for a token issued for another resource", async () => {
    expect((await pcApi(sandbox, "sbx!not-a-token")("GET", REFERRALS)).status).toBe(401);
    const graphToken = sandbox.tokens.issue({
      clientId: "x",
      audience: "https://graph.microsoft.com",
      scopes: [],
      ttlSeconds: 60,
    });
    const res = await pcApi(sandbox, graphToken.token)<ErrorBody>("GET", REFERRALS);
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe("unauthenticated");
  });

  it("401 once the token has expired on the sandbox clock", async () => {
    const token = await pcToken(sandbox);
    const mine = pcApi(sandbox, token);
    expect((await mine("GET", REFERRALS)).status).toBe(200);
    sandbox.clock.advance(3600 * 1000);
    expect((await mine<ErrorBody>("GET", REFERRALS)).body.error.code).toBe("unauthenticated");
    sandbox.clock.set(T0);
  });
});

describe("POST /v1.0/engagements/referrals", () => {
  it("creates the partner's referral Active/Accepted with server-assigned fields and links", async () => {
    type Link = { uri: string; method: string };
    const res = await api<Referral & { links: { self: Link; relatedReferrals: Link } }>(
      "POST",
      REFERRALS,
      newReferralBody({ id: "client-chosen", eTag: "x", createdDateTime: "2001-01-01T00:00:00Z" }),
    );
    expect(res.status).toBe(201);
    const r = res.body;
    expect(r.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(r.engagementId).toMatch(/^[0-9a-f-]{36}$/);
    expect(r.eTag).toMatch(/^"[0-9a-f-]{36}"$/);
    expect(r.createdDateTime).toBe(T0.toISOString());
    expect(r.updatedDateTime).toBe(T0.toISOString());
    expect(r.acceptedDateTime).toBe(T0.toISOString());
    expect([r.status, r.substatus, r.direction, r.type]).toEqual([
      "Active",
      "Accepted",
      "Outgoing",
      "Independent",
    ]);
    expect(r.externalReferenceId).toBe("006-crm-1");
    expect(r.links.self).toEqual({ uri: `${sandbox.urls.partnerCenter}${REFERRALS}/${r.id}`, method: "GET" });
    expect(r.links.relatedReferrals.uri).toBe(
      `${sandbox.urls.partnerCenter}${REFERRALS}?$filter=engagementId eq '${r.engagementId}'`,
    );
    expect(res.headers.get("location")).toBe(r.links.self.uri);
  });

  it("400 invalidRequest naming the field for a body that fails validation", async () => {
    const wrongType = await api<ErrorBody>(
      "POST",
      REFERRALS,
      newReferralBody({ details: { dealValue: "lots" } }),
    );
    expect(wrongType.status).toBe(400);
    expect(wrongType.body.error).toMatchObject({ code: "invalidRequest", target: "referral" });
    expect(wrongType.body.error.message).toContain("details.dealValue");

    const noCustomer = await api<ErrorBody>(
      "POST",
      REFERRALS,
      newReferralBody({ customerProfile: { address: {} } }),
    );
    expect(noCustomer.status).toBe(400);
    expect(noCustomer.body.error.message).toContain("customerProfile.name");

    const negative = await api<ErrorBody>(
      "POST",
      REFERRALS,
      newReferralBody({ details: { dealValue: -5, currency: "USD" } }),
    );
    expect(negative.body.error.message).toContain("details.dealValue");

    const notJson = await api<ErrorBody>("POST", REFERRALS, "{not json");
    expect(notJson.status).toBe(400);
    expect(notJson.body.error.code).toBe("invalidRequest");

    const array = await api<ErrorBody>("POST", REFERRALS, [1, 2]);
    expect(array.status).toBe(400);
  });

  it("409 for a new referral that does not start accepted (create, then close)", async () => {
    const res = await api<ErrorBody>(
      "POST",
      REFERRALS,
      newReferralBody({ status: "Closed", substatus: "Won" }),
    );
    expect(res.status).toBe(409);
    expect(res.body.error.innerError?.code).toBe("TRANSITION_NOT_ALLOWED");
    expect(res.body.error.message).toContain("Active/Accepted");
  });

  it("a Shared referral is a co-sell deal: created Active/Accepted, no invitation and no expiry until Microsoft is invited", async () => {
    const shared = await createReferral(api, {
      type: "Shared",
      inviteContext: { notes: "Need Azure architects." },
    });
    expect([shared.status, shared.substatus, shared.type]).toEqual(["Active", "Accepted", "Shared"]);
    expect(shared.inviteContext).not.toHaveProperty("invitedDateTime");
    expect(shared.expirationDateTime ?? undefined).toBeUndefined();

    // Inviting Microsoft onto it needs a complete customer contact.
    const body = newReferralBody({ type: "Shared" });
    (body.customerProfile as Record<string, unknown>).team = [];
    const noContact = (await api<Referral>("POST", REFERRALS, body)).body;
    const invite = await api<ErrorBody>("POST", REFERRALS, invitationBody(noContact, { notes: "Help" }));
    expect(invite.status).toBe(409);
    expect(invite.body.error.innerError?.code).toBe("INVITE_CONTACT_REQUIRED");
  });
});

describe("GET /v1.0/engagements/referrals/{id}", () => {
  it("returns the referral, or 404 itemNotFound", async () => {
    const created = await createReferral(api);
    const got = await api<Referral>("GET", `${REFERRALS}/${created.id}`);
    expect(got.status).toBe(200);
    expect(got.body).toEqual(created);

    const missing = await api<ErrorBody>("GET", `${REFERRALS}/00000000-0000-0000-0000-000000000000`);
    expect(missing.status).toBe(404);
    expect(missing.body.error).toMatchObject({ code: "itemNotFound", target: "referral" });
  });

  it("answers 405 for an unsupported method and 404 for an unknown path", async () => {
    const created = await createReferral(api);
    expect((await api("DELETE", `${REFERRALS}/${created.id}`)).status).toBe(405);
    expect((await api<ErrorBody>("GET", "/v1.0/engagements/other")).body.error.code).toBe("itemNotFound");
  });
});

describe("PATCH /v1.0/engagements/referrals/{id} with If-Match", () => {
  it("every write gets a new eTag and bumps updatedDateTime on the sandbox clock", async () => {
    const created = await createReferral(api);
    sandbox.clock.advance(1000);
    const first = await patch(api, created, { details: { ...created.details, notes: "first" } });
    expect(first.status).toBe(200);
    expect(first.body.details?.notes).toBe("first");
    expect(first.body.eTag).not.toBe(created.eTag);
    expect(first.body.updatedDateTime).toBe(new Date(T0.getTime() + 1000).toISOString());
    expect(first.body.createdDateTime).toBe(created.createdDateTime);

    sandbox.clock.advance(1000);
    const second = await patch(api, first.body, { name: "Renamed" });
    expect(second.body.eTag).not.toBe(first.body.eTag);
    expect(second.body.updatedDateTime).toBe(new Date(T0.getTime() + 2000).toISOString());
    sandbox.clock.set(T0);
  });

  it("412 preconditionFailed for a stale eTag, and nothing changes", async () => {
    const created = await createReferral(api);
    const updated = await patch(api, created, { name: "v2" });
    const stale = await patch(api, created, { name: "v3" }, created.eTag ?? "");
    expect(stale.status).toBe(412);
    expect(stale.body.error?.code).toBe("preconditionFailed");
    expect(stale.body.error?.message).toContain(updated.body.eTag ?? "?");
    expect((await api<Referral>("GET", `${REFERRALS}/${created.id}`)).body.name).toBe("v2");
  });

  it("PUT is obsolete: 405 naming PATCH, nothing changes", async () => {
    const created = await createReferral(api);
    const res = await api<ErrorBody>(
      "PUT",
      `${REFERRALS}/${created.id}`,
      { ...created, name: "x" },
      {
        "if-match": created.eTag ?? "",
      },
    );
    expect(res.status).toBe(405);
    expect(res.body.error.message).toContain("PATCH");
    expect((await api<Referral>("GET", `${REFERRALS}/${created.id}`)).body.name).toBe(created.name);
  });

  it("If-Match is optional: a PATCH without it applies", async () => {
    const created = await createReferral(api);
    const res = await api<Referral>("PATCH", `${REFERRALS}/${created.id}`, [
      { op: "replace", path: "/name", value: "No If-Match" },
    ]);
    expect(res.status).toBe(204);
    expect((await api<Referral>("GET", `${REFERRALS}/${created.id}`)).body.name).toBe("No If-Match");
  });

  it("refuses server-owned paths (id, createdDateTime, direction) with 400", async () => {
    const created = await createReferral(api);
    for (const path of ["/id", "/createdDateTime", "/direction"]) {
      const res = await api<ErrorBody>(
        "PATCH",
        `${REFERRALS}/${created.id}`,
        [{ op: "replace", path, value: "x" }],
        { "if-match": created.eTag ?? "" },
      );
      expect(res.status, path).toBe(400);
      expect(res.body.error.message).toContain(path);
    }
  });

  it("accepts the weak and unquoted spellings of the current eTag", async () => {
    const created = await createReferral(api);
    const bare = (created.eTag ?? "").replace(/"/g, "");
    expect((await patch(api, created, { name: "a" }, bare)).status).toBe(200);
    const current = (await api<Referral>("GET", `${REFERRALS}/${created.id}`)).body;
    expect((await patch(api, current, { name: "b" }, `W/${current.eTag}`)).status).toBe(200);
    expect((await patch(api, current, { name: "c" }, `W/${current.eTag}`)).status).toBe(412);
  });
});

describe("PATCH /v1.0/engagements/referrals/{id}", () => {
  it("applies JSON-Patch operations through the same checks; the referral comes back only with Prefer", async () => {
    const created = await createReferral(api);
    const ops = [
      { op: "replace", path: "/details/notes", value: "patched" },
      { op: "add", path: "/details/campaignId", value: "cmp-7" },
    ];
    const res = await api<Referral>("PATCH", `${REFERRALS}/${created.id}`, ops, {
      "if-match": created.eTag ?? "",
      prefer: "return=representation",
    });
    expect(res.status).toBe(200);
    expect(res.body.details).toMatchObject({ notes: "patched", campaignId: "cmp-7" });
    expect(res.body.eTag).not.toBe(created.eTag);

    const quiet = await api(
      "PATCH",
      `${REFERRALS}/${created.id}`,
      [{ op: "replace", path: "/name", value: "Quiet" }],
      { "if-match": res.body.eTag ?? "" },
    );
    expect(quiet.status).toBe(204);
    expect(quiet.body).toBeUndefined();
  });

  it("refuses remove and unknown paths with 400, naming them", async () => {
    const created = await createReferral(api);
    const remove = await api<ErrorBody>("PATCH", `${REFERRALS}/${created.id}`, [
      { op: "remove", path: "/details/notes" },
    ]);
    expect(remove.status).toBe(400);
    expect(remove.body.error.message).toContain("replace or add");
    const unknown = await api<ErrorBody>("PATCH", `${REFERRALS}/${created.id}`, [
      { op: "replace", path: "/madeUp/field", value: 1 },
    ]);
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.message).toContain("/madeUp/field");
    expect((await api<Referral>("GET", `${REFERRALS}/${created.id}`)).body.details?.notes).toBe(
      created.details?.notes,
    );
  });

  it("refuses server-owned paths (400), stale eTags (412) and lifecycle violations (409)", async () => {
    const created = await createReferral(api);
    const owned = await api<ErrorBody>("PATCH", `${REFERRALS}/${created.id}`, [
      { op: "replace", path: "/eTag", value: "x" },
    ]);
    expect(owned.status).toBe(400);
    const stale = await api<ErrorBody>(
      "PATCH",
      `${REFERRALS}/${created.id}`,
      [{ op: "replace", path: "/name", value: "x" }],
      { "if-match": '"stale"' },
    );
    expect(stale.status).toBe(412);
    const engaged = await api<ErrorBody>("PATCH", `${REFERRALS}/${created.id}`, [
      { op: "replace", path: "/substatus", value: "Engaged" },
    ]);
    expect(engaged.status).toBe(409);
    const notArray = await api<ErrorBody>("PATCH", `${REFERRALS}/${created.id}`, { op: "replace" });
    expect(notArray.status).toBe(400);
  });
});
