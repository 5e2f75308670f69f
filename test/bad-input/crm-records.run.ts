import { expect } from "vitest";
import type { CrmCase } from "./crm-records.cases.js";
import { dealWith, goodNeighbours, referralsFor, synced, world } from "./fixtures.js";

/**
 * One malformed CRM opportunity fed to the engine through the in-memory adapter, two good records
 * around it. Checks the named code, the record marked (record error in the state store, error status
 * on the opportunity), nothing else written for it, and the good records still synced.
 */
/** Runs one case (the known-bug file runs the cases the engine still gets wrong). */
export async function runCrmCase(c: CrmCase): Promise<void> {
  const w = world();
  const [goodA, goodB] = goodNeighbours(w);
  const bad = w.crm.createOpportunity(dealWith(c.deal ?? {}), { optedIn: true });
  if (c.patch) w.patches.set(bad, c.patch);
  const before = w.crm.get(bad)!.deal;

  const { summary } = await w.cycle();

  // The named error, in the cycle summary and in the state store.
  expect(summary.errors).toEqual([expect.objectContaining({ key: `crm:${bad}`, code: c.code })]);
  expect(w.store.listRecordErrors()).toEqual([expect.objectContaining({ key: `crm:${bad}`, code: c.code })]);
  // The record is marked: the status written back names the code.
  const marked = w.crm.get(bad)!;
  expect(marked.status).toMatchObject({
    state: "error",
    lastError: expect.stringMatching(new RegExp(`^${c.code}: `)),
  });
  // Nothing else is written for it: no referral, no link to one, its fields untouched.
  expect(referralsFor(w.pc, bad)).toEqual([]);
  expect(w.store.getLinkByCrmId(bad)?.referralId).toBeUndefined();
  expect(marked.deal).toEqual(before);
  // The rest of the run went on.
  expect(synced(w, goodA!)).toBe(true);
  expect(synced(w, goodB!)).toBe(true);
  expect(w.pc.all()).toHaveLength(2);

  // The next cycle writes nothing again for the unchanged bad record (no status churn).
  const version = w.crm.record(bad)!.version;
  const again = await w.cycle();
  expect(again.summary.apiCalls.partnerCenter.writes).toBe(0);
  expect(w.crm.record(bad)!.version).toBe(version);
}
