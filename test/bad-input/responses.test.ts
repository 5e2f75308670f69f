import { type CoSellError, ResponseValidationError } from "@cosell/core";
import { afterEach, describe, expect, it } from "vitest";
import {
  clientFor,
  type FakePartnerCenter,
  fakePartnerCenter,
  goodNeighbours,
  referralsFor,
  sampleDeal,
  synced,
  world,
} from "./fixtures.js";
import { LIST_CASES, WRITE_CASES } from "./responses.cases.js";

/**
 * Malformed Partner Center answers over real loopback HTTP, read by core's real client. A bad answer
 * to one record's write marks that record with the named code and the rest of the batch syncs; the
 * next cycle finishes the record without duplicating it. A spoilt list page stops the cycle before
 * anything is written (it cannot tell what changed), naming the field.
 */

let fake: FakePartnerCenter | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

/** Writes sent since request `from` whose body names `crmId` (a create) or whose path names `referralId` (an update). */
const writesFor = (f: FakePartnerCenter, crmId: string, from: number, referralId?: string) =>
  f.requests.filter(
    (r, i) =>
      i >= from &&
      !r.startsWith("GET ") &&
      (f.bodies[i]!.includes(JSON.stringify(crmId)) ||
        (referralId !== undefined && r.includes(`/${referralId}`))),
  );

describe("bad input: malformed answers to one record's write", () => {
  it.each(WRITE_CASES.map((c) => [c.name, c] as const))("%s", async (_name, c) => {
    const w = world();
    fake = await fakePartnerCenter(w.pc);
    const client = clientFor(fake);
    const [goodA, goodB] = goodNeighbours(w);
    const bad = w.crm.createOpportunity(sampleDeal({ name: "Bad answer" }), { optedIn: true });
    let referralId: string | undefined;
    if (c.method === "PATCH") {
      // Linked first; then both it and a good neighbour are edited, and its PATCH is answered badly.
      await w.cycle(client);
      w.crm.update(bad, { name: "Bad answer, edited" });
      w.crm.update(goodA!, { name: "Good neighbour A, edited" });
      referralId = referralsFor(w.pc, bad)[0]!.id;
    }
    // A PATCH carries only the changed paths, so it is recognised by the referral id in its URL.
    fake.rules.push({
      method: c.method,
      ...(referralId ? { pathIncludes: `/${referralId}` } : { bodyMentions: bad }),
      reply: c.reply,
    });
    const from = fake.requests.length;

    const { summary } = await w.cycle(client);

    // The named error, with the field when the answer was unusable.
    expect(summary.errors).toEqual([expect.objectContaining({ key: `crm:${bad}`, code: c.code })]);
    const stored = w.store.listRecordErrors().find((e) => e.key === `crm:${bad}`);
    expect(stored?.code).toBe(c.code);
    if (c.field && c.field !== "(body)") expect(stored?.message).toContain(`"${c.field}"`);
    // Marked on the record.
    expect(w.crm.get(bad)?.status).toMatchObject({
      state: "error",
      lastError: expect.stringMatching(new RegExp(`^${c.code}: `)),
    });
    // Nothing else was written for it: only the write that was answered badly (and its retry).
    const writes = writesFor(fake, bad, from, referralId);
    expect(writes.every((r) => r.startsWith(`${c.method} `))).toBe(true);
    expect(writes.length).toBeGreaterThanOrEqual(1);
    expect(writes.length).toBeLessThanOrEqual(2);
    expect(referralsFor(w.pc, bad)).toHaveLength(c.method === "PATCH" || c.landed ? 1 : 0);
    // The rest of the run went on.
    expect(synced(w, goodA!)).toBe(true);
    expect(synced(w, goodB!)).toBe(true);
    if (c.method === "PATCH") expect(referralsFor(w.pc, goodA!)[0]?.name).toBe("Good neighbour A, edited");

    // Partner Center answers properly again: the record is finished, never duplicated.
    fake.rules.length = 0;
    const after = await w.cycle(client);
    expect(after.summary.errors).toEqual([]);
    expect(synced(w, bad)).toBe(true);
    expect(referralsFor(w.pc, bad)).toHaveLength(1);
    if (c.method === "PATCH") expect(referralsFor(w.pc, bad)[0]?.name).toBe("Bad answer, edited");
    expect(w.pc.all()).toHaveLength(3);
  });
});

describe("bad input: malformed referral list pages", () => {
  it.each(LIST_CASES.map((c) => [c.name, c] as const))("%s", async (_name, c) => {
    const w = world();
    fake = await fakePartnerCenter(w.pc);
    const client = clientFor(fake);
    const [goodA] = goodNeighbours(w);
    await w.cycle(client);
    const fresh = w.crm.createOpportunity(sampleDeal({ name: "Arrives during the outage" }), {
      optedIn: true,
    });
    w.crm.update(goodA!, { name: "Edited during the outage" });
    const cursors = { crm: w.store.getCursor("crm"), pc: w.store.getCursor("partnerCenter") };
    const crmSeq = w.crm.sequence;
    // Only the change feed's list (the look-up by CRM id asks for 10 at a time).
    fake.rules.push({ method: "GET", pathIncludes: "$top=100", reply: c.reply });
    const from = fake.requests.length;

    const err = await w.cycle(client).catch((e: unknown) => e);

    expect(err).toBeInstanceOf(ResponseValidationError);
    expect(err).toMatchObject({
      code: "REMOTE_BAD_RESPONSE",
      details: expect.objectContaining({ field: c.field }),
    });
    expect((err as CoSellError).message).toMatch(/report it|will not follow/);
    // Nothing was written anywhere and no cursor moved.
    expect(fake.requests.slice(from).filter((r) => !r.startsWith("GET "))).toEqual([]);
    expect(w.crm.sequence).toBe(crmSeq);
    expect({ crm: w.store.getCursor("crm"), pc: w.store.getCursor("partnerCenter") }).toEqual(cursors);

    // Once the page is readable again, everything that waited syncs.
    fake.rules.length = 0;
    const after = await w.cycle(client);
    expect(after.summary.errors).toEqual([]);
    expect(synced(w, fresh)).toBe(true);
    expect(referralsFor(w.pc, goodA!)[0]?.name).toBe("Edited during the outage");
  });
});
