import nock from "nock";
import { afterEach, describe, expect, it } from "vitest";
import type { ListOption, Referral } from "../../src/index.js";
import { API, api, makeClient, mockToken, REFERRALS, referral } from "./helpers.js";

/**
 * Filters Microsoft documents no example of (`updatedDateTime ge`, `externalReferenceId eq`) and
 * `$skip` may be refused with 400: the listing falls back once to doing them client-side, and
 * remembers it. Next links on the API's host are followed over https whatever their scheme or path.
 */

afterEach(() => {
  nock.cleanAll();
});

const at = (i: number) => `2026-02-${String(10 + i).padStart(2, "0")}T10:00:00Z`;
const refs = (n: number) =>
  Array.from({ length: n }, (_, i) => referral({ id: `r${i}`, updatedDateTime: at(i) }));
const rejected = { error: { code: "invalidRequest", message: "The filter is not supported." } };

/** Every GET of the list: its query, parsed. */
function listCalls() {
  const calls: URLSearchParams[] = [];
  return {
    calls,
    record: (uri: string) => {
      const q = new URL(uri, API).searchParams;
      calls.push(q);
      return q;
    },
  };
}

async function all(it: AsyncIterable<Referral[]>): Promise<string[]> {
  const out: string[] = [];
  for await (const page of it) out.push(...page.map((r) => r.id));
  return out;
}

describe("updatedDateTime ge refused → $orderby=updatedDateTime desc with a client-side cut-off", () => {
  it("falls back once, reads newest first until older than the cut-off, yields oldest first, and remembers", async () => {
    mockToken();
    const data = refs(6); // r0 … r5, r5 newest
    const { calls, record } = listCalls();
    api()
      .get(REFERRALS)
      .query(true)
      .times(4)
      .reply((uri) => {
        const q = record(uri);
        if (q.get("$filter")?.includes("updatedDateTime")) return [400, rejected];
        // Newest first, two per page; the link is the docs' shape: http and another path.
        const desc = [...data].reverse();
        const start = Number(q.get("$skiptoken") ?? 0);
        const page = desc.slice(start, start + 2);
        const more = start + 2 < desc.length;
        return [
          200,
          {
            value: page,
            ...(more
              ? {
                  "@odata.nextLink": `http://api.partner.microsoft.com/v1.0/referrals?$skiptoken=${start + 2}`,
                }
              : {}),
          },
        ];
      })
      .get("/v1.0/referrals")
      .query(true)
      .times(4)
      .reply((uri) => {
        const q = record(uri);
        const desc = [...data].reverse();
        const start = Number(q.get("$skiptoken"));
        const more = start + 2 < desc.length;
        return [
          200,
          {
            value: desc.slice(start, start + 2),
            ...(more
              ? {
                  "@odata.nextLink": `http://api.partner.microsoft.com/v1.0/referrals?$skiptoken=${start + 2}`,
                }
              : {}),
          },
        ];
      });
    const learned: ListOption[] = [];
    const { client } = makeClient({}, { onListOptionUnsupported: (o) => learned.push(o) });
    const since = new Date(at(3)); // r3, r4, r5 are at or after it
    expect(await all(client.listReferrals({ updatedSince: since }))).toEqual(["r3", "r4", "r5"]);
    expect(learned).toEqual(["updatedSinceFilter"]);
    expect(client.unsupportedListOptions()).toEqual(["updatedSinceFilter"]);
    // 1: refused; 2: desc page r5,r4; 3: r3,r2 (r2 is older: no further page is read).
    expect(calls.map((q) => q.get("$orderby") ?? `token ${q.get("$skiptoken")}`)).toEqual([
      "updatedDateTime asc",
      "updatedDateTime desc",
      "token 2",
    ]);
    expect(calls[1]?.get("$filter")).toBeNull();

    // The idle probe (skip = window size − 1) on the remembered fallback: no 400 again, the skip is
    // applied to the ascending result client-side, never sent against the descending order.
    calls.length = 0;
    expect(await all(client.listReferrals({ updatedSince: since, skip: 2 }))).toEqual(["r5"]);
    expect(calls[0]?.get("$orderby")).toBe("updatedDateTime desc");
    expect(calls[0]?.get("$skip")).toBeNull();
    expect(calls.some((q) => q.get("$filter")?.includes("updatedDateTime"))).toBe(false);
  });

  it("an option known unsupported from an earlier process is never sent", async () => {
    mockToken();
    const { calls, record } = listCalls();
    api()
      .get(REFERRALS)
      .query(true)
      .reply((uri) => {
        record(uri);
        return [200, { value: [...refs(3)].reverse() }];
      });
    const { client } = makeClient({}, { unsupportedListOptions: ["updatedSinceFilter"] });
    expect(await all(client.listReferrals({ updatedSince: new Date(at(1)) }))).toEqual(["r1", "r2"]);
    expect(calls).toHaveLength(1);
    expect(calls[0]?.get("$orderby")).toBe("updatedDateTime desc");
  });

  it("a 400 that persists without the optional filters is the caller's to see, and nothing is remembered", async () => {
    mockToken();
    api().get(REFERRALS).query(true).times(2).reply(400, rejected);
    const { client } = makeClient();
    await expect(all(client.listReferrals({ updatedSince: new Date(at(0)) }))).rejects.toMatchObject({
      status: 400,
    });
    expect(client.unsupportedListOptions()).toEqual([]);
  });

  it("a 400 on a documented filter alone is not retried", async () => {
    mockToken();
    const scope = api().get(REFERRALS).query(true).reply(400, rejected);
    const { client } = makeClient();
    await expect(all(client.listReferrals({ status: "New" }))).rejects.toMatchObject({ status: 400 });
    expect(scope.isDone()).toBe(true);
    expect(client.unsupportedListOptions()).toEqual([]);
  });
});

describe("externalReferenceId eq refused → a client-side match", () => {
  it("finds the referral by reading the listing, and remembers", async () => {
    mockToken();
    const { calls, record } = listCalls();
    const data = [
      referral({ id: "a", externalReferenceId: "006X" }),
      referral({ id: "b", externalReferenceId: "006Y", createdDateTime: "2026-01-01T00:00:00Z" }),
      referral({ id: "c", externalReferenceId: null }),
    ];
    api()
      .get(REFERRALS)
      .query(true)
      .times(3)
      .reply((uri) => {
        const q = record(uri);
        if (q.get("$filter")?.includes("externalReferenceId")) return [400, rejected];
        return [200, { value: data }];
      });
    const { client } = makeClient();
    expect((await client.findByExternalReferenceId("006Y"))?.id).toBe("b");
    expect(client.unsupportedListOptions()).toEqual(["externalReferenceIdFilter"]);
    expect(await client.findByExternalReferenceId("006Z")).toBeUndefined();
    // Refused once, then full pages without the clause.
    expect(calls.map((q) => q.get("$filter"))).toEqual(["externalReferenceId eq '006Y'", null, null]);
    expect(calls[1]?.get("$top")).toBe("100");
  });
});

describe("$skip refused → left out client-side", () => {
  it("keeps the server's ascending order and the updatedDateTime filter", async () => {
    mockToken();
    const { calls, record } = listCalls();
    api()
      .get(REFERRALS)
      .query(true)
      .times(2)
      .reply((uri) => {
        const q = record(uri);
        if (q.has("$skip")) return [400, rejected];
        return [200, { value: refs(4) }];
      });
    // Only $skip is risky in this call: refused once, then left out client-side and remembered.
    const { client } = makeClient({}, { unsupportedListOptions: ["updatedSinceFilter"] });
    expect(await all(client.listReferrals({ skip: 3 }))).toEqual(["r3"]);
    expect(client.unsupportedListOptions()).toEqual(["updatedSinceFilter", "skip"]);
    expect(calls.map((q) => q.get("$skip"))).toEqual(["3", null]);
  });
});

describe("@odata.nextLink as Microsoft writes it", () => {
  const page = (next?: string) => ({
    value: [referral({ id: next ? "p1" : "p2" })],
    "@odata.nextLink": next,
  });

  it("follows a link on the API's host over https, even when it says http:// or another path", async () => {
    mockToken();
    api()
      .get(REFERRALS)
      .query(true)
      .reply(200, page("http://api.partner.microsoft.com/v1.0/referrals?$skiptoken=abc"))
      .get("/v1.0/referrals")
      .query({ $skiptoken: "abc" })
      .reply(200, page());
    const { client } = makeClient();
    expect(await all(client.listReferrals())).toEqual(["p1", "p2"]);
  });

  it.each([
    ["another host", "https://evil.example/v1.0/referrals?$skiptoken=abc"],
    ["another port", "https://api.partner.microsoft.com:8443/v1.0/referrals?$skiptoken=abc"],
    ["another scheme", "ftp://api.partner.microsoft.com/v1.0/referrals"],
  ])("refuses a link to %s", async (_what, link) => {
    mockToken();
    api().get(REFERRALS).query(true).reply(200, page(link));
    const { client } = makeClient();
    await expect(all(client.listReferrals())).rejects.toMatchObject({
      code: "REMOTE_BAD_RESPONSE",
      details: expect.objectContaining({ field: "@odata.nextLink" }),
    });
  });
});
