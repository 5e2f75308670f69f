import { ResponseValidationError } from "@cosell/core";
import { afterEach, describe, expect, it } from "vitest";
import {
  clientFor,
  type FakePartnerCenter,
  fakePartnerCenter,
  goodInbound,
  goodNeighbours,
  sampleInbound,
  synced,
  world,
} from "./fixtures.js";
import { SCHEMA_CASES } from "./referrals.cases.js";

/**
 * Referrals that break the Referral resource's shape, listed by Partner Center next to good ones.
 * A referral whose id is readable is marked under `referral:<id>` with REMOTE_BAD_RESPONSE naming its
 * field, and everything else syncs. One whose id is unreadable cannot be marked: core's client
 * refuses the page naming the index and field, and the cycle stops before writing anything. Either
 * way everything syncs once the referral is fixed.
 */

let fake: FakePartnerCenter | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

const unreadableId = (c: (typeof SCHEMA_CASES)[number]) => c.field === "id" || c.field === "";

/**
 * Two good records (an outbound neighbour, an inbound referral) and a referral Partner Center lists
 * broken by case `c`, second in the page (`value.1`); the well-formed copy stays in Partner Center.
 */
async function listBroken(c: (typeof SCHEMA_CASES)[number]) {
  const w = world();
  const server = await fakePartnerCenter(w.pc);
  fake = server;
  const client = clientFor(server);
  const [goodA] = goodNeighbours(w);
  const inbound = goodInbound(w);
  const template = structuredClone(w.pc.sendInbound(sampleInbound({ name: "Broken" }))) as Record<
    string,
    unknown
  >;
  const brokenId = template.id as string;
  server.rules.push({
    method: "GET",
    pathIncludes: "$top=100",
    reply: (real) => {
      const page = JSON.parse(real.body) as { value: Record<string, unknown>[] };
      const value = page.value.filter((r) => r.id !== brokenId);
      value.splice(1, 0, c.raw(template) as Record<string, unknown>);
      return { ...real, body: JSON.stringify({ value }) };
    },
  });
  return { w, server, client, goodA, inbound, brokenId };
}

describe("bad input: malformed referrals in a list page, id unreadable", () => {
  it.each(SCHEMA_CASES.filter(unreadableId).map((c) => [c.name, c] as const))("%s", async (_name, c) => {
    const { w, server, client, goodA, inbound, brokenId } = await listBroken(c);
    const crmSeq = w.crm.sequence;

    const err = await w.cycle(client).catch((e: unknown) => e);

    const field = ["value", "1", c.field].filter(Boolean).join(".");
    expect(err).toBeInstanceOf(ResponseValidationError);
    expect(err).toMatchObject({ code: "REMOTE_BAD_RESPONSE", details: expect.objectContaining({ field }) });
    expect((err as Error).message).toContain(`"${field}"`);
    // Nothing written on either side, no cursor moved.
    expect(server.requests.filter((r) => !r.startsWith("GET "))).toEqual([]);
    expect(w.crm.sequence).toBe(crmSeq);
    expect(w.store.getCursor("partnerCenter")).toBeUndefined();
    expect(w.store.getCursor("crm")).toBeUndefined();

    // Fixed in Partner Center: everything syncs, the once-broken referral included.
    server.rules.length = 0;
    const after = await w.cycle(client);
    expect(after.summary.errors).toEqual([]);
    expect(synced(w, goodA!)).toBe(true);
    for (const id of [inbound.id, brokenId])
      expect(w.crm.all().filter((o) => o.referralId === id)).toHaveLength(1);
  });
});

describe("bad input: malformed referrals in a list page, id readable", () => {
  it.each(SCHEMA_CASES.filter((c) => !unreadableId(c)).map((c) => [c.name, c] as const))(
    "%s",
    async (_n, c) => {
      const { w, server, client, goodA, inbound, brokenId } = await listBroken(c);

      const { summary } = await w.cycle(client);

      // The broken referral is marked under its id, naming the field; the good records sync.
      expect(summary.errors).toEqual([
        expect.objectContaining({ key: `referral:${brokenId}`, code: "REMOTE_BAD_RESPONSE" }),
      ]);
      expect(summary.errors[0]?.message).toContain(c.field);
      expect(w.store.listRecordErrors()).toEqual([
        expect.objectContaining({ key: `referral:${brokenId}`, code: "REMOTE_BAD_RESPONSE" }),
      ]);
      expect(w.crm.all().filter((o) => o.referralId === brokenId)).toEqual([]);
      expect(w.crm.all().filter((o) => o.referralId === inbound.id)).toHaveLength(1);
      expect(synced(w, goodA!)).toBe(true);

      // Fixed in Partner Center (a later edit re-lists it): it syncs and its error is cleared.
      server.rules.length = 0;
      w.clock.advance(60_000);
      w.pc.editNotes(brokenId, "Fixed");
      const after = await w.cycle(client);
      expect(after.summary.errors).toEqual([]);
      expect(w.crm.all().filter((o) => o.referralId === brokenId)).toHaveLength(1);
      expect(w.store.listRecordErrors()).toEqual([]);
    },
  );
});

describe("bad input: a status/substatus pair cosell does not know", () => {
  it.each<[string, string]>([
    ["Closed", "Pending"],
    ["New", "Won"],
    ["Closed", "None"],
  ])(
    "%s/%s marks that referral with REFERRAL_STATUS_UNKNOWN and the cycle goes on",
    async (status, substatus) => {
      const { w, server, client, goodA, inbound, brokenId } = await listBroken({
        name: `${status}/${substatus}`,
        raw: (ok) => ({ ...ok, status, substatus }),
        field: "substatus",
      });

      const { summary } = await w.cycle(client);

      expect(summary.errors).toEqual([
        expect.objectContaining({ key: `referral:${brokenId}`, code: "REFERRAL_STATUS_UNKNOWN" }),
      ]);
      expect(summary.errors[0]?.message).toContain(`${status}/${substatus}`);
      // Nothing guessed: no CRM record for it; the others sync.
      expect(w.crm.all().filter((o) => o.referralId === brokenId)).toEqual([]);
      expect(w.crm.all().filter((o) => o.referralId === inbound.id)).toHaveLength(1);
      expect(synced(w, goodA!)).toBe(true);

      // Partner Center moves it to a known pair: it syncs and the mark is cleared.
      server.rules.length = 0;
      w.clock.advance(60_000);
      w.pc.editNotes(brokenId, "Known again");
      const after = await w.cycle(client);
      expect(after.summary.errors).toEqual([]);
      expect(w.crm.all().filter((o) => o.referralId === brokenId)).toHaveLength(1);
    },
  );
});
