import nock from "nock";
import { afterEach, describe, expect, it } from "vitest";
import {
  ConflictError,
  NotFoundError,
  type Referral,
  RemoteApiError,
  referralFilter,
} from "../../src/index.js";
import { API, api, headerOf, makeClient, mockToken, REFERRALS, referral } from "./helpers.js";

afterEach(() => {
  nock.cleanAll();
});

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

async function collect(pages: AsyncIterable<Referral[]>): Promise<Referral[][]> {
  const out: Referral[][] = [];
  for await (const p of pages) out.push(p);
  return out;
}

describe("listReferrals", () => {
  it("sends $filter, $orderby, $top and the bearer token, and follows @odata.nextLink exactly as given", async () => {
    mockToken("tok-A");
    const next = `${API}${REFERRALS}?$filter=updatedDateTime%20ge%202024-01-01T00:00:00Z&$skiptoken=abc%3D%3D&$top=2`;
    const seen: Record<string, string | string[]>[] = [];
    const pc = api()
      .get(REFERRALS)
      .query({
        $filter: "updatedDateTime ge 2024-01-01T00:00:00Z and status eq 'New' and direction eq 'Incoming'",
        $orderby: "updatedDateTime asc",
        $top: "2",
      })
      .reply(function () {
        seen.push(this.req.headers);
        return [200, { value: [referral({ id: "a" }), referral({ id: "b" })], "@odata.nextLink": next }];
      })
      .get(`${REFERRALS}?$filter=updatedDateTime%20ge%202024-01-01T00:00:00Z&$skiptoken=abc%3D%3D&$top=2`)
      .reply(function () {
        seen.push(this.req.headers);
        return [200, { value: [referral({ id: "c" })] }];
      });
    const { client } = makeClient();

    const pages = await collect(
      client.listReferrals({
        updatedSince: new Date("2024-01-01T00:00:00Z"),
        status: "New",
        direction: "inbound",
        pageSize: 2,
      }),
    );

    expect(pages.map((p) => p.map((r) => r.id))).toEqual([["a", "b"], ["c"]]);
    expect(pc.isDone()).toBe(true);
    for (const h of seen) {
      expect(headerOf(h, "authorization")).toBe("Bearer tok-A");
      expect(headerOf(h, "ms-correlationid")).toMatch(GUID);
      expect(headerOf(h, "accept")).toBe("application/json");
    }
    // One token for both pages: msal's cache served the second.
    expect(client.stats()).toMatchObject({
      total: 2,
      reads: 2,
      writes: 0,
      byMethod: { GET: 2 },
      tokenRequests: 1,
    });
  });

  it("encodes spaces as %20 and doubles quotes in string literals", async () => {
    mockToken();
    let rawPath = "";
    api()
      .get(REFERRALS)
      .query(true)
      .reply((uri) => {
        rawPath = uri;
        return [200, { value: [] }];
      });
    const { client } = makeClient({ pageSize: 50 });
    expect(await collect(client.listReferrals({ externalReferenceId: "O'Brien-006" }))).toEqual([]);
    // (The WHATWG URL parser fetch uses percent-encodes the quotes of a special URL's query.)
    expect(rawPath).toBe(
      `${REFERRALS}?$filter=externalReferenceId%20eq%20%27O%27%27Brien-006%27&$orderby=updatedDateTime%20asc&$top=50`,
    );
  });

  it("builds each documented filter clause", () => {
    expect(
      referralFilter({
        updatedSince: new Date("2026-03-01T12:00:00.250Z"),
        substatus: "Received",
        direction: "outbound",
        externalReferenceId: "006A",
      }),
    ).toBe(
      "updatedDateTime ge 2026-03-01T12:00:00.250Z and substatus eq 'Received' and direction eq 'Outgoing' and externalReferenceId eq '006A'",
    );
    expect(referralFilter({})).toBe("");
  });

  it("refuses a nextLink that leaves the API's origin (the bearer token would go with it)", async () => {
    mockToken();
    api()
      .get(REFERRALS)
      .query(true)
      .reply(200, {
        value: [referral()],
        "@odata.nextLink": "https://evil.example/v1.0/engagements/referrals?page=2",
      });
    const { client } = makeClient();
    const pages = client.listReferrals({})[Symbol.asyncIterator]();
    expect((await pages.next()).value).toHaveLength(1);
    await expect(pages.next()).rejects.toMatchObject({
      name: "ResponseValidationError",
      details: expect.objectContaining({ field: "@odata.nextLink" }),
    });
  });
});

describe("getReferral / findByExternalReferenceId", () => {
  it("GETs /{id} (id URL-encoded) and returns the parsed referral", async () => {
    mockToken();
    api()
      .get(`${REFERRALS}/ref%2F1`)
      .reply(200, referral({ id: "ref/1" }));
    const { client } = makeClient();
    expect((await client.getReferral("ref/1")).id).toBe("ref/1");
  });

  it("turns 404 into NotFoundError carrying the server's code and message", async () => {
    mockToken();
    api()
      .get(`${REFERRALS}/missing`)
      .reply(404, { error: { code: "notFound", message: "Referral missing was not found." } });
    const { client } = makeClient();
    const err = await client.getReferral("missing").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotFoundError);
    expect(err).toMatchObject({
      code: "REMOTE_NOT_FOUND",
      status: 404,
      details: expect.objectContaining({
        serverCode: "notFound",
        serverMessage: "Referral missing was not found.",
      }),
    });
  });

  it("looks a CRM id up with an externalReferenceId filter; the oldest wins when several carry it", async () => {
    mockToken();
    api()
      .get(REFERRALS)
      .query({ $filter: "externalReferenceId eq '006X'", $orderby: "updatedDateTime asc", $top: "10" })
      .reply(200, {
        value: [
          referral({ id: "newer", externalReferenceId: "006X", createdDateTime: "2026-02-02T00:00:00Z" }),
          referral({ id: "older", externalReferenceId: "006X", createdDateTime: "2026-02-01T00:00:00Z" }),
        ],
      })
      .get(REFERRALS)
      .query(true)
      .reply(200, { value: [] });
    const { client } = makeClient();
    expect((await client.findByExternalReferenceId("006X"))?.id).toBe("older");
    expect(await client.findByExternalReferenceId("006Y")).toBeUndefined();
  });

  it("other 4xx answers are RemoteApiError with the server's code and message", async () => {
    mockToken();
    api()
      .get(REFERRALS)
      .query(true)
      .reply(400, {
        error: { code: "invalidFilter", message: "Unknown property 'foo'.", target: "$filter" },
      });
    const { client } = makeClient();
    const err = await collect(client.listReferrals({})).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RemoteApiError);
    expect(err).toMatchObject({
      code: "REMOTE_REJECTED",
      status: 400,
      retryable: false,
      details: expect.objectContaining({ serverCode: "invalidFilter", target: "$filter" }),
    });
    expect((err as Error).message).toContain("Unknown property 'foo'.");
  });
});

describe("createReferral", () => {
  const body = (() => {
    const {
      id: _id,
      eTag: _e,
      createdDateTime: _c,
      updatedDateTime: _u,
      status: _s,
      substatus: _ss,
      ...rest
    } = referral();
    return { ...rest, externalReferenceId: undefined };
  })();

  it("looks the CRM id up first and POSTs the referral with externalReferenceId = crmId", async () => {
    mockToken();
    let posted: unknown;
    let contentType: string | undefined;
    const pc = api()
      .get(REFERRALS)
      .query({ $filter: "externalReferenceId eq '006NEW'", $orderby: "updatedDateTime asc", $top: "10" })
      .reply(200, { value: [] })
      .post(REFERRALS)
      .reply(function (_uri, reqBody) {
        posted = reqBody;
        contentType = headerOf(this.req.headers, "content-type");
        return [201, referral({ id: "created", externalReferenceId: "006NEW", eTag: '"e1"' })];
      });
    const { client } = makeClient();

    const created = await client.createReferral(body, { crmId: "006NEW" });

    expect(created).toMatchObject({ id: "created", eTag: '"e1"' });
    expect(posted).toEqual({ ...JSON.parse(JSON.stringify(body)), externalReferenceId: "006NEW" });
    expect(contentType).toBe("application/json");
    expect(pc.isDone()).toBe(true);
    expect(client.stats()).toMatchObject({ total: 2, reads: 1, writes: 1, byMethod: { GET: 1, POST: 1 } });
  });

  it("returns the existing referral without POSTing when the CRM id is already there", async () => {
    mockToken();
    api()
      .get(REFERRALS)
      .query(true)
      .reply(200, { value: [referral({ id: "existing", externalReferenceId: "006OLD" })] });
    const { client } = makeClient();
    expect((await client.createReferral(body, { crmId: "006OLD" })).id).toBe("existing");
    expect(client.stats().byMethod.POST).toBeUndefined();
  });

  it("refuses a body whose externalReferenceId is another CRM record", async () => {
    const { client } = makeClient();
    await expect(
      client.createReferral({ ...body, externalReferenceId: "006A" }, { crmId: "006B" }),
    ).rejects.toMatchObject({ code: "CREATE_CRM_ID_MISMATCH" });
    expect(client.stats().total).toBe(0);
  });
});

describe("updateReferral", () => {
  it("PATCHes only the changed paths (JSON Patch replace/add) with If-Match and Prefer: return=representation", async () => {
    mockToken();
    const base = referral();
    const r = referral({ name: "Renamed", details: { ...base.details, notes: "New notes" } });
    let sent: unknown;
    let ifMatch: string | undefined;
    let prefer: string | undefined;
    api()
      .patch(`${REFERRALS}/ref-1`)
      .reply(function (_uri, reqBody) {
        sent = reqBody;
        ifMatch = headerOf(this.req.headers, "if-match");
        prefer = headerOf(this.req.headers, "prefer");
        return [200, { ...r, eTag: '"etag-2"' }];
      });
    const { client } = makeClient();
    const updated = await client.updateReferral("ref-1", r, '"etag-1"', base);
    expect(ifMatch).toBe('"etag-1"');
    expect(prefer).toBe("return=representation");
    expect(sent).toEqual(
      expect.arrayContaining([
        { op: "replace", path: "/name", value: "Renamed" },
        { op: "replace", path: "/details/notes", value: "New notes" },
      ]),
    );
    expect((sent as unknown[]).length).toBe(2);
    expect(updated.eTag).toBe('"etag-2"');
  });

  it("never sends PUT, remove, or a server-owned path; a property the base lacks is added", async () => {
    mockToken();
    const base = referral();
    const r = { ...referral({ eTag: '"other"', updatedDateTime: "2030-01-01T00:00:00Z" }), favorite: true };
    let sent: { op: string; path: string }[] = [];
    api()
      .patch(`${REFERRALS}/ref-1`)
      .reply((_uri, reqBody) => {
        sent = reqBody as typeof sent;
        return [200, { ...r, eTag: '"etag-2"' }];
      });
    const { client } = makeClient();
    await client.updateReferral("ref-1", r, '"etag-1"', base);
    expect(sent).toEqual([{ op: "add", path: "/favorite", value: true }]);
  });

  it("a 204 answer (no representation) is followed by a read of the referral", async () => {
    mockToken();
    const base = referral();
    const fresh = referral({ name: "Renamed", eTag: '"etag-2"' });
    const pc = api().patch(`${REFERRALS}/ref-1`).reply(204).get(`${REFERRALS}/ref-1`).reply(200, fresh);
    const { client } = makeClient();
    expect(await client.updateReferral("ref-1", referral({ name: "Renamed" }), '"etag-1"', base)).toEqual(
      fresh,
    );
    expect(pc.isDone()).toBe(true);
  });

  it("without a base the current copy is read first; nothing changed means nothing is sent", async () => {
    mockToken();
    const pc = api().get(`${REFERRALS}/ref-1`).reply(200, referral());
    const { client } = makeClient();
    const same = await client.updateReferral("ref-1", referral(), '"etag-1"');
    expect(same).toEqual(referral());
    expect(pc.isDone()).toBe(true);
    expect(client.stats().byMethod.PATCH ?? 0).toBe(0);
  });

  it("412 → ConflictError whose `current` is the server's copy, fetched after the 412", async () => {
    mockToken();
    const current = referral({ name: "Changed by a seller", eTag: '"etag-9"' });
    const pc = api()
      .patch(`${REFERRALS}/ref-1`)
      .matchHeader("if-match", '"etag-1"')
      .reply(412, { error: { code: "preconditionFailed", message: "The eTag does not match." } })
      .get(`${REFERRALS}/ref-1`)
      .reply(200, current);
    const { client } = makeClient();
    const err = await client
      .updateReferral("ref-1", referral({ name: "Mine" }), '"etag-1"', referral())
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConflictError);
    expect((err as ConflictError).current).toEqual(current);
    expect(err).toMatchObject({
      code: "REMOTE_CONFLICT",
      status: 412,
      details: expect.objectContaining({ serverCode: "preconditionFailed", currentETag: '"etag-9"' }),
    });
    expect(pc.isDone()).toBe(true);
  });
});
