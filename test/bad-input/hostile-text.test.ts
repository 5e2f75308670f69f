import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SqliteStateStore } from "@cosell/core";
import { afterEach, describe, expect, it } from "vitest";
import {
  clientFor,
  type FakePartnerCenter,
  fakePartnerCenter,
  goodNeighbours,
  referralsFor,
  sampleDeal,
  sampleInbound,
  synced,
  type World,
  world,
  writesSeen,
} from "./fixtures.js";

/**
 * Text that is legal but hostile: emoji, right-to-left text, combining marks, NUL, lone surrogates,
 * markup and script, 10 MB of notes. None of it is an error; all of it must arrive on the other side
 * exactly as written (no escaping, trimming or replacement characters), over real HTTP and through
 * a SQLite state store, and a second cycle must write nothing (the stored copy equals the remote one).
 */

const TEN_MB = "Long notes. ".repeat(Math.ceil((10 * 1024 * 1024) / 12)).slice(0, 10 * 1024 * 1024);

const HOSTILE_TEXT: { name: string; text: string }[] = [
  { name: "emoji and a ZWJ family", text: "Deal 🚀💼 👩‍👩‍👧‍👦 done ✅" },
  { name: "right-to-left Arabic and Hebrew", text: "صفقة مايكروسوفت — עסקה" },
  { name: "RTL override characters", text: "invoice\u202Egpj.exe\u202C" },
  { name: "combining marks (Zalgo)", text: "Z\u0351\u0308\u0324a\u0346\u0301l\u0303\u0317g\u0350o\u0360" },
  { name: "decomposed vs precomposed é", text: "Cafe\u0301 / Caf\u00e9" },
  { name: "NUL and control characters", text: "before\u0000after\u0007\u001b[31m" },
  { name: "lone surrogates", text: "half \ud800 pair \udc00 end" },
  { name: "HTML and script", text: `<script>alert("x")</script><img src=x onerror=alert(1)>` },
  { name: "OData and SQL metacharacters", text: "O'Brien'); DROP TABLE links;-- $filter=1 eq 1 & %27" },
  { name: "10 MB of notes", text: TEN_MB },
];

let dir: string | undefined;
let fake: FakePartnerCenter | undefined;
let store: SqliteStateStore | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
  store?.close();
  store = undefined;
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

/** A world on a SQLite state file, talking to the in-memory Partner Center over loopback HTTP. */
async function httpWorld(): Promise<{ w: World; cycle: () => ReturnType<World["cycle"]> }> {
  dir = mkdtempSync(join(tmpdir(), "cosell-bad-input-"));
  store = SqliteStateStore.open(join(dir, "state.db"));
  const w = world({ store });
  fake = await fakePartnerCenter(w.pc);
  const client = clientFor(fake);
  return { w, cycle: () => w.cycle(client) };
}

describe("bad input: hostile text, CRM → Partner Center", () => {
  it.each(HOSTILE_TEXT.map((c) => [c.name, c.text] as const))("%s", async (_name, text) => {
    const { w, cycle } = await httpWorld();
    const [goodA] = goodNeighbours(w);
    const id = w.crm.createOpportunity(sampleDeal({ name: text.slice(0, 200), notes: text }), {
      optedIn: true,
    });

    const { summary } = await cycle();

    expect(summary.errors).toEqual([]);
    const [referral] = referralsFor(w.pc, id);
    expect(referral?.name === text.slice(0, 200)).toBe(true);
    expect(referral?.details?.notes === text).toBe(true);
    expect(synced(w, id)).toBe(true);
    expect(synced(w, goodA!)).toBe(true);
    // The CRM still holds exactly what the seller wrote.
    expect(w.crm.get(id)!.deal.notes === text).toBe(true);

    const writes = writesSeen(fake!).length;
    const version = w.crm.record(id)!.version;
    await cycle();
    expect(writesSeen(fake!).length).toBe(writes);
    expect(w.crm.record(id)!.version).toBe(version);
  });
});

describe("bad input: hostile text, Partner Center → CRM", () => {
  it.each(HOSTILE_TEXT.map((c) => [c.name, c.text] as const))("%s", async (_name, text) => {
    const { w, cycle } = await httpWorld();
    const [goodA] = goodNeighbours(w);
    const inbound = w.pc.sendInbound(
      sampleInbound({ name: text.slice(0, 200), notes: text, customer: hostileCustomer(text) }),
    );

    const { summary } = await cycle();

    expect(summary.errors).toEqual([]);
    const opp = w.crm.all().find((o) => o.referralId === inbound.id);
    expect(opp?.deal.name === text.slice(0, 200)).toBe(true);
    expect(opp?.deal.notes === text).toBe(true);
    expect(opp?.deal.customer.name === text.slice(0, 200)).toBe(true);
    expect(opp?.status?.state).toBe("synced");
    expect(synced(w, goodA!)).toBe(true);

    const writes = writesSeen(fake!).length;
    const version = w.crm.record(opp!.crmId)!.version;
    await cycle();
    expect(writesSeen(fake!).length).toBe(writes);
    expect(w.crm.record(opp!.crmId)!.version).toBe(version);
  });
});

function hostileCustomer(text: string) {
  return {
    name: text.slice(0, 200),
    address: { city: "Seattle", country: "US" },
    contact: { firstName: "Raj", lastName: "Patel", email: "raj@fabrikam.example", phone: "+1 206 555 0199" },
  };
}
