import nock from "nock";
import { afterEach, describe, expect, it } from "vitest";
import { type Referral, ResponseValidationError } from "../../src/index.js";
import { api, makeClient, mockToken, REFERRALS, referral } from "./helpers.js";

afterEach(() => {
  nock.cleanAll();
});

async function failure(p: Promise<unknown>): Promise<ResponseValidationError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(ResponseValidationError);
  return e as ResponseValidationError;
}

async function drain(pages: AsyncIterable<Referral[]>): Promise<void> {
  for await (const _ of pages) {
    // read every page
  }
}

describe("every body is validated: a bad one is a ResponseValidationError naming the field", () => {
  it("truncated JSON", async () => {
    mockToken();
    const full = JSON.stringify(referral());
    api()
      .get(`${REFERRALS}/ref-1`)
      .reply(200, full.slice(0, full.length / 2), { "Content-Type": "application/json" });
    const { client } = makeClient();
    const e = await failure(client.getReferral("ref-1"));
    expect(e).toMatchObject({ code: "REMOTE_BAD_RESPONSE", retryable: false, details: { field: "(body)" } });
    expect(e.message).toMatch(/not valid JSON/);
  });

  it("the wrong content type (an HTML error page with 200)", async () => {
    mockToken();
    api().get(`${REFERRALS}/ref-1`).reply(200, "<html>Sign in</html>", { "Content-Type": "text/html" });
    const { client } = makeClient();
    const e = await failure(client.getReferral("ref-1"));
    expect(e.details).toMatchObject({ field: "(body)", contentType: "text/html" });
  });

  it("a field of the wrong type deep in a list page", async () => {
    mockToken();
    api()
      .get(REFERRALS)
      .query(true)
      .reply(200, { value: [referral(), { ...referral({ id: "b" }), status: 3 }] });
    const { client } = makeClient();
    const e = await failure(drain(client.listReferrals({})));
    expect(e.details).toMatchObject({ field: "value.1.status" });
    expect(e.message).toContain('field "value.1.status"');
  });

  it("a page without `value`", async () => {
    mockToken();
    api().get(REFERRALS).query(true).reply(200, { items: [] });
    const { client } = makeClient();
    const e = await failure(drain(client.listReferrals({})));
    expect(e.details).toMatchObject({ field: "value" });
  });

  it("a write answered without an eTag", async () => {
    mockToken();
    const { eTag: _drop, ...noETag } = referral();
    api().patch(`${REFERRALS}/ref-1`).reply(200, noETag);
    const { client } = makeClient();
    const e = await failure(client.updateReferral("ref-1", referral({ name: "x" }), '"etag-1"', referral()));
    expect(e.details).toMatchObject({ field: "eTag" });
  });

  it("a create answered with a referral missing its id", async () => {
    mockToken();
    const { id: _drop, ...noId } = referral({ externalReferenceId: "006Z" });
    api().get(REFERRALS).query(true).reply(200, { value: [] }).post(REFERRALS).reply(201, noId);
    const { client } = makeClient();
    const e = await failure(client.createReferral({ name: "x" }, { crmId: "006Z" }));
    expect(e.details).toMatchObject({ field: "id" });
  });

  it("an error body that is not the documented shape still gives the status-based error", async () => {
    mockToken();
    api().get(`${REFERRALS}/ref-1`).reply(404, "<html>not here</html>", { "Content-Type": "text/html" });
    const { client } = makeClient();
    await expect(client.getReferral("ref-1")).rejects.toMatchObject({ name: "NotFoundError", status: 404 });
  });
});
