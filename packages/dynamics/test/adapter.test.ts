import type { Stage } from "@cosell/core";
import {
  AuthError,
  ConfigError,
  type CrmWrite,
  RemoteApiError,
  type SyncStatus,
  ThrottledError,
} from "@cosell/core";
import { completeDeal, sampleDeal } from "@cosell/core/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  columnsFor,
  createDynamicsAdapter,
  type DynamicsAdapter,
  type DynamicsConfigInput,
} from "../src/index.js";
import { coSellStageValue } from "../src/mapping.js";
import {
  BatchFaults,
  type DynamicsSandbox,
  dataverseDriver,
  sandboxConfig,
  startDynamicsSandbox,
} from "./helpers.js";

const c = columnsFor("cosell");
/** The co-sell stage choice's value of a stage. */
const stageValue = (stage: Stage) => coSellStageValue(stage, 18342);
let sb: DynamicsSandbox;
let adapter: DynamicsAdapter;
const sleeps: number[] = [];

const make = (extra: Partial<DynamicsConfigInput> = {}) =>
  createDynamicsAdapter(sandboxConfig(sb, extra), {
    now: () => sb.clock.now(),
    sleep: async (ms) => {
      sleeps.push(ms);
    },
  });
const driver = () => dataverseDriver(sb, new BatchFaults());
const synced = (over: Partial<SyncStatus> = {}): SyncStatus => ({
  state: "synced",
  lastError: null,
  lastSyncedAt: sb.clock.now().toISOString(),
  ...over,
});

beforeAll(async () => {
  sb = await startDynamicsSandbox();
  adapter = make();
  await adapter.setup();
  sb.dataverse.activateKeys();
});
afterAll(async () => {
  await sb?.stop();
});

describe("config", () => {
  const good = (): DynamicsConfigInput => sandboxConfig(sb);
  it.each([
    [{ clientId: "" }, "crm.clientId"],
    [{ environmentUrl: "http://contoso.crm.dynamics.com" }, "crm.environmentUrl"],
    [{ certificate: { privateKeyPem: "x", thumbprintSha256: "ab".repeat(32) } }, "crm.certificate"],
    [{ clientSecret: undefined }, "crm.clientSecret"],
    [{ publisherPrefix: "Bad-Prefix" }, "crm.publisherPrefix"],
    [{ batchSize: 5000 }, "crm.batchSize"],
    [{ batchSize: 0 }, "crm.batchSize"],
  ])("bad config %j is a ConfigError naming %s", (patch, key) => {
    let err: unknown;
    try {
      createDynamicsAdapter({ ...good(), ...patch } as DynamicsConfigInput);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).message).toContain(key);
    expect((err as ConfigError).message).not.toContain(sb.credentials.dataverse.clientSecret);
  });

  it("batchSize over 1000 names the key, the $batch limit and the fix; 1000 is accepted", () => {
    const err = (() => {
      try {
        createDynamicsAdapter({ ...good(), batchSize: 1001 } as DynamicsConfigInput);
      } catch (e) {
        return e as ConfigError;
      }
    })();
    expect(err?.message).toBe(
      "crm.batchSize: 1001 — a Dataverse $batch holds at most 1,000 operations and each record needs at least one: set crm.batchSize to 1000 or less (default 200).",
    );
    expect(() => createDynamicsAdapter({ ...good(), batchSize: 1000 } as DynamicsConfigInput)).not.toThrow();
  });
});

describe("auth", () => {
  it("client secret: one token request serves many calls (msal cache)", async () => {
    const a = make();
    const before = sb.log.count({ server: "entra" });
    await a.read([]);
    await a.describe();
    await a.verifySetup();
    const tokenCalls = sb.log.count({ server: "entra" }) - before;
    expect(tokenCalls).toBeGreaterThanOrEqual(1);
    expect(tokenCalls).toBeLessThanOrEqual(2); // Dataverse, and Graph for the verify check
  });

  it("certificate credential signs in", async () => {
    const { clientSecret: _drop, ...rest } = sandboxConfig(sb);
    const a = createDynamicsAdapter({ ...rest, certificate: sb.credentials.dataverse.certificate });
    const report = await a.verifySetup();
    expect(report.checks.find((x) => x.name === "connection")?.ok).toBe(true);
  });

  it("a wrong secret is an AuthError that says what to do", async () => {
    const a = createDynamicsAdapter({ ...sandboxConfig(sb), clientSecret: "wrong-secret" });
    const before = sb.log.count({ server: "entra" });
    await expect(a.describe()).rejects.toBeInstanceOf(AuthError);
    await expect(a.describe()).rejects.toThrow(/secret/i);
    expect(sb.log.count({ server: "entra" }) - before).toBeLessThanOrEqual(2); // no retry storm
  });
});

describe("throttling", () => {
  it("429 with Retry-After: waits exactly that long, then succeeds", async () => {
    const a = make({ changeTracking: "on" });
    sleeps.length = 0;
    sb.faults.script(
      { fault: { kind: "throttle", retryAfterSeconds: 2 }, server: "dataverse" },
      { fault: { kind: "throttle", retryAfterSeconds: 3 }, server: "dataverse" },
    );
    const id = await driver().createOpportunity(sampleDeal(), { optedIn: true });
    const [rec] = await a.read([id]);
    expect(rec?.crmId).toBe(id);
    expect(sleeps.slice(0, 2)).toEqual([2000, 3000]);
    expect(sb.log.filter({ server: "dataverse", status: 429 }).length).toBeGreaterThanOrEqual(2);
  });

  it("a 500 on a read is retried; a 500 on a write is not repeated blindly", async () => {
    const a = make({ changeTracking: "on" });
    const id = await driver().createOpportunity(sampleDeal(), { optedIn: true });
    sb.faults.script({ fault: { kind: "serverError", status: 500 }, server: "dataverse", method: "GET" });
    const [rec] = await a.read([id]);
    expect(rec?.crmId).toBe(id);
    sb.faults.script({ fault: { kind: "serverError", status: 500 }, server: "dataverse", method: "POST" });
    const before = sb.log.filter({ server: "dataverse" }).filter((e) => e.method === "POST").length;
    const results = await a.apply([
      { op: "status", crmId: id, status: { state: "synced", lastError: null } },
    ]);
    const posts = sb.log.filter({ server: "dataverse" }).filter((e) => e.method === "POST").length - before;
    expect(results[0]).toMatchObject({ ok: false });
    expect(posts).toBe(1);
    sb.faults.clear();
  });

  it("gives up as ThrottledError when retries run out", async () => {
    const a = make({ maxRetries: 0, changeTracking: "on" });
    sb.faults.script(
      { fault: { kind: "throttle", retryAfterSeconds: 1 }, server: "dataverse" },
      { fault: { kind: "throttle", retryAfterSeconds: 1 }, server: "dataverse" },
    );
    await expect(a.read(["00000000-0000-0000-0000-000000000001"])).rejects.toBeInstanceOf(ThrottledError);
    sb.faults.clear();
  });
});

describe("change detection", () => {
  it("change tracking: delta links report new rows and deletes; the next delta is empty", async () => {
    const a = make();
    const pages = [];
    for await (const p of a.changes(undefined, { overlapMs: 0 })) pages.push(p);
    const cursor = pages.at(-1)!.cursor;
    expect(cursor).toMatch(/^delta:.*\$deltatoken=/);
    const d = driver();
    const id = await d.createOpportunity(sampleDeal({ name: "Delta one" }), { optedIn: true });
    const notShared = await d.createOpportunity(sampleDeal({ name: "Private" }), { optedIn: false });
    const next = [];
    for await (const p of a.changes(cursor, { overlapMs: 0 })) next.push(p);
    const ids = next.flatMap((p) => p.records.map((r) => r.crmId));
    expect(ids).toContain(id);
    expect(ids).not.toContain(notShared);
    d.delete(id);
    const after = [];
    for await (const p of a.changes(next.at(-1)!.cursor, { overlapMs: 0 })) after.push(p);
    const deleted = after.flatMap((p) => p.records).find((r) => r.crmId === id);
    expect(deleted?.deleted).toBe(true);
    // Only the id comes with a `$deletedEntity`: the engine takes the deal from its link (the adapter
    // no longer keeps every record it ever read to fill it in).
    expect(deleted?.crmId).toBe(id);
    expect((await a.describe()).capabilities).toMatchObject({ changeFeed: "delta", reportsDeletes: true });
  });

  it("change tracking turned off while running (auto): the next read polls instead of failing", async () => {
    const a = make();
    expect((await a.describe()).capabilities.changeFeed).toBe("delta");
    const id = await driver().createOpportunity(sampleDeal({ name: "Switched" }), { optedIn: true });
    sb.dataverse.setChangeTracking("opportunity", false);
    try {
      const pages = [];
      for await (const p of a.changes(undefined, { overlapMs: 0 })) pages.push(p);
      expect(pages.flatMap((p) => p.records.map((r) => r.crmId))).toContain(id);
      expect(pages.at(-1)!.cursor).toMatch(/^poll:/);
      expect((await a.describe()).capabilities.changeFeed).toBe("poll");
    } finally {
      sb.dataverse.setChangeTracking("opportunity", true);
    }
  });

  it("change tracking off: falls back to modifiedon polling and verifySetup says so", async () => {
    sb.dataverse.setChangeTracking("opportunity", false);
    try {
      const a = make();
      expect((await a.describe()).capabilities).toMatchObject({ changeFeed: "poll", reportsDeletes: false });
      const check = (await a.verifySetup()).checks.find((x) => x.name === "change feed")!;
      expect(check.detail).toMatch(/polling modifiedon/);
      expect(check.fix).toMatch(/Track changes/);
      const id = await driver().createOpportunity(sampleDeal({ name: "Polled" }), { optedIn: true });
      const pages = [];
      for await (const p of a.changes(undefined, { overlapMs: 60_000 })) pages.push(p);
      expect(pages.flatMap((p) => p.records.map((r) => r.crmId))).toContain(id);
      expect(pages.at(-1)!.cursor).toMatch(/^poll:/);
      const on = make({ changeTracking: "on" });
      expect((await on.verifySetup()).checks.find((x) => x.name === "change feed")?.ok).toBe(false);
    } finally {
      sb.dataverse.setChangeTracking("opportunity", true);
    }
  });
});

describe("writes", () => {
  it("$batch: one failing record (deleted, stale etag) does not fail the others", async () => {
    const d = driver();
    const ids = [];
    for (const name of ["A", "B", "C"])
      ids.push(await d.createOpportunity(sampleDeal({ name }), { optedIn: true }));
    const a = make();
    await a.read(ids); // remembers etags
    d.update(ids[1]!, { notes: "Seller edited after the read." });
    d.delete(ids[2]!);
    const before = a.stats().writes;
    const results = await a.apply(
      ids.map((crmId) => ({ op: "status", crmId, status: synced() }) as CrmWrite),
    );
    expect(a.stats().writes - before).toBe(1);
    expect(results[0]).toEqual({ ok: true, crmId: ids[0] });
    expect(results[1]).toMatchObject({ ok: false, error: { code: "0x80060882", retryable: true } });
    expect(results[2]).toMatchObject({ ok: false, error: { code: "NOT_FOUND" } });
    expect(sb.dataverse.get("opportunities", ids[0]!)?.[c.syncStatus]).toBeTypeOf("number");
    expect(sb.dataverse.get("opportunities", ids[1]!)?.[c.syncStatus]).toBeNull();
  });

  it("won → WinOpportunity, lost → LoseOpportunity with the reason, accepted again → reopen by PATCH", async () => {
    const d = driver();
    const id = await d.createOpportunity(sampleDeal({ name: "Closing" }), { optedIn: true });
    const a = make();
    const [rec] = await a.read([id]);
    const deal = rec!.deal;
    expect(
      await a.apply([{ op: "update", crmId: id, deal: { ...deal, stage: "won" }, fields: ["stage"] }]),
    ).toEqual([{ ok: true, crmId: id }]);
    let row = sb.dataverse.get("opportunities", id)!;
    expect([row.statecode, row.statuscode, row[c.coSellStatus]]).toEqual([1, 3, stageValue("won")]);
    expect(sb.dataverse.all("opportunitycloses").some((x) => x._opportunityid_value === id)).toBe(true);

    // A status write to a closed row: reopened, written and closed again in one change set.
    await a.apply([{ op: "status", crmId: id, status: synced({ coSellStage: "won" }) }]);
    row = sb.dataverse.get("opportunities", id)!;
    expect([row.statecode, row.statuscode]).toEqual([1, 3]);
    expect(row.name).toBe("Closing");

    await a.apply([
      {
        op: "update",
        crmId: id,
        deal: { ...deal, stage: "lost", closeReason: "Budget cut." },
        fields: ["stage"],
      },
    ]);
    row = sb.dataverse.get("opportunities", id)!;
    expect([row.statecode, row.statuscode, row[c.closeReason]]).toEqual([2, 4, "Budget cut."]);
    expect((await a.read([id]))[0]?.deal).toMatchObject({ stage: "lost", closeReason: "Budget cut." });

    await a.apply([{ op: "update", crmId: id, deal: { ...deal, stage: "accepted" }, fields: ["stage"] }]);
    row = sb.dataverse.get("opportunities", id)!;
    expect([row.statecode, row.statuscode]).toEqual([0, 1]);
  });

  it("a $batch never holds more than 1,000 operations: writes are split by operation count, not by record count", async () => {
    // 400 closed opportunities: a status write to each is reopen + field PATCH + WinOpportunity, three
    // operations, 1,200 in all — over the limit the emulator enforces (as Dataverse does).
    const ids = sb.dataverse.seedOpportunities(400, { seed: 7 });
    for (const id of ids) if (sb.dataverse.get("opportunities", id)!.statecode === 0) sb.dataverse.win(id);
    const a = make({ batchSize: 400 });
    await a.read(ids);
    sb.log.clear();
    const results = await a.apply(
      ids.map((crmId, i) => ({
        op: "status" as const,
        crmId,
        status: synced({ referralId: `BATCH-${i}`, coSellStage: "won" }),
      })),
    );
    expect(results.filter((r) => !r.ok)).toEqual([]);
    const batches = sb.log.entries.filter((e) => e.server === "dataverse" && e.endpoint.includes("$batch"));
    expect(batches.filter((e) => e.status >= 400)).toEqual([]);
    expect(batches.length).toBe(2);
    expect(sb.dataverse.get("opportunities", ids[399]!)![c.referralId]).toBe("BATCH-399");
  });

  it.each<["refuse" | "allow", string]>([
    ["refuse", "a PATCH that reopens and edits at once is refused (the strict reading)"],
    ["allow", "a PATCH may reopen and edit at once (the lenient reading)"],
  ])(
    "writes to a closed opportunity reopen with a state-only PATCH first (emulator: %s — %s)",
    async (mode) => {
      sb.dataverse.setReopenWithFields(mode);
      try {
        const d = driver();
        const id = await d.createOpportunity(sampleDeal({ name: "Closed then edited" }), { optedIn: true });
        sb.dataverse.win(id);
        const a = make();
        const [rec] = await a.read([id]);
        // Status write-back to a Won row: reopened, written, closed again.
        expect(
          await a.apply([
            { op: "status", crmId: id, status: synced({ referralId: `R-${mode}`, coSellStage: "won" }) },
          ]),
        ).toEqual([{ ok: true, crmId: id }]);
        let row = sb.dataverse.get("opportunities", id)!;
        expect([row.statecode, row.statuscode, row[c.referralId]]).toEqual([1, 3, `R-${mode}`]);
        // Reopened for good, with a field change in the same write.
        expect(
          await a.apply([
            {
              op: "update",
              crmId: id,
              deal: { ...rec!.deal, stage: "accepted", name: "Back in play" },
              fields: ["stage", "name"],
            },
          ]),
        ).toEqual([{ ok: true, crmId: id }]);
        row = sb.dataverse.get("opportunities", id)!;
        expect([row.statecode, row.statuscode, row.name, row[c.coSellStatus]]).toEqual([
          0,
          1,
          "Back in play",
          stageValue("accepted"),
        ]);
      } finally {
        sb.dataverse.setReopenWithFields("refuse");
      }
    },
  );

  it("a seller's Close as Lost reason (the close dialog's description) is read as the close reason", async () => {
    const id = await driver().createOpportunity(sampleDeal({ name: "Lost in the form" }), { optedIn: true });
    sb.dataverse.lose(id, { status: 5, description: "Chose a competitor." });
    const [rec] = await make().read([id]);
    expect(rec?.deal).toMatchObject({ stage: "lost", closeReason: "Chose a competitor." });
  });

  it("inbound creates are upserts on the referral id: a retried create does not duplicate", async () => {
    const a = make();
    const deal = completeDeal(
      sampleDeal({ name: "Inbound twice", direction: "inbound", stage: "received" }),
      sb.clock.now(),
    );
    const write: CrmWrite = {
      op: "create",
      referralId: "ref-upsert-1",
      deal,
      status: synced({ referralId: "ref-upsert-1", coSellStage: "received" }),
    };
    const [first] = await a.apply([write]);
    const [second] = await a.apply([write]);
    expect(first).toMatchObject({ ok: true, created: true });
    expect(second).toMatchObject({ ok: true, crmId: (first as { crmId: string }).crmId, created: false });
    const rows = sb.dataverse.all("opportunities").filter((r) => r[c.referralId] === "ref-upsert-1");
    expect(rows).toHaveLength(1);
    expect(rows[0]?.name).toBe("Inbound twice");
  });
});

describe("team members from Entra ID", () => {
  it("an owner without phone in Dataverse is completed from Microsoft Graph", async () => {
    const users = sb.dataverse
      .all("systemusers")
      .filter((u) => u.azureactivedirectoryobjectid && u.internalemailaddress && !u.applicationid);
    const owner = users[0]!;
    const graphUser = sb.graph.get(String(owner.azureactivedirectoryobjectid))!;
    sb.dataverse.update("systemusers", String(owner.systemuserid), {
      address1_telephone1: null,
      mobilephone: null,
    });
    const row = sb.dataverse.insert(
      "opportunities",
      {
        name: "Owned by a seller",
        [c.syncFlag]: true,
        "ownerid@odata.bind": `/systemusers(${owner.systemuserid})`,
      },
      { asUserId: String(owner.systemuserid) },
    );
    const before = sb.log.count({ server: "graph" });
    const [rec] = await make().read([String(row.opportunityid)]);
    expect(rec?.deal.team[0]).toMatchObject({
      email: owner.internalemailaddress,
      phone: graphUser.businessPhones[0] ?? graphUser.mobilePhone,
    });
    expect(sb.log.count({ server: "graph" }) - before).toBe(1);
  });
});

describe("setup and verifySetup", () => {
  it("setup is idempotent: a second run creates nothing", async () => {
    const again = await adapter.setup();
    expect(again.created).toEqual([]);
    expect(again.unchanged.some((x) => x.includes(c.referralId))).toBe(true);
  });

  it("setup waits for the alternate key's index: Pending, InProgress, then Active, with a progress line per poll", async () => {
    sb.dataverse.setKeyActivation({ pendingMs: 20_000, buildMs: 30_000 });
    try {
      const lines: string[] = [];
      const quiet = () => {};
      const waiting = createDynamicsAdapter(
        sandboxConfig(sb, {
          publisherPrefix: "waitkey",
          optionValuePrefix: 44444,
          solutionUniqueName: "waitkey",
        }),
        {
          now: () => sb.clock.now(),
          sleep: async (ms) => {
            sb.clock.advance(ms);
          },
          logger: { info: (_o, msg) => lines.push(msg), warn: quiet, debug: quiet },
        },
      );
      const report = await waiting.setup();
      const progress = lines.filter((l) => l.startsWith("Waiting for Dataverse to build the index"));
      expect(progress.some((l) => l.includes(": Pending ("))).toBe(true);
      expect(progress.some((l) => l.includes(": InProgress ("))).toBe(true);
      expect(report.created).toContain(
        "Alternate key waitkey_ReferralIdKey on waitkey_referralid (index Active after 50 s)",
      );
      // The key is usable now: an inbound create upserts by it.
      const [created] = await waiting.apply([
        {
          op: "create",
          referralId: "WAIT-KEY-1",
          deal: completeDeal(
            sampleDeal({ name: "By key", direction: "inbound", stage: "received" }),
            sb.clock.now(),
          ),
          status: synced({ referralId: "WAIT-KEY-1", coSellStage: "received" }),
        },
      ]);
      expect(created).toMatchObject({ ok: true, created: true });
    } finally {
      sb.dataverse.setKeyActivation("nextRequest");
    }
  });

  it("setup names a Failed alternate key index with the fix", async () => {
    sb.dataverse.setKeyActivation("manual");
    try {
      const failing = make({
        publisherPrefix: "failkey",
        optionValuePrefix: 33333,
        solutionUniqueName: "failkey",
      });
      // The first run stops waiting (the key is still Pending when the wait ends)…
      const first = await createDynamicsAdapter(
        sandboxConfig(sb, {
          publisherPrefix: "failkey",
          optionValuePrefix: 33333,
          solutionUniqueName: "failkey",
          keyIndexTimeoutMs: 10_000,
        }),
        { now: () => sb.clock.now(), sleep: async (ms) => void sb.clock.advance(ms) },
      )
        .setup()
        .catch((e: unknown) => e as RemoteApiError);
      expect(first).toBeInstanceOf(RemoteApiError);
      expect((first as RemoteApiError).code).toBe("DATAVERSE_KEY_INDEX_PENDING");
      expect((first as RemoteApiError).message).toMatch(/Run `cosell setup` again later/);
      // …then Dataverse reports the build Failed: the next run says why and what to do.
      sb.dataverse.failKey("opportunity", "failkey_ReferralIdKey");
      const err = await failing.setup().catch((e: unknown) => e as RemoteApiError);
      expect(err).toBeInstanceOf(RemoteApiError);
      expect((err as RemoteApiError).code).toBe("DATAVERSE_KEY_INDEX_FAILED");
      expect((err as RemoteApiError).message).toMatch(/EntityKeyIndexStatus Failed/);
      expect((err as RemoteApiError).message).toMatch(/reactivate the key/);
    } finally {
      sb.dataverse.setKeyActivation("nextRequest");
    }
  });

  it("a configurable publisher prefix gets its own publisher and columns", async () => {
    const other = make({
      publisherPrefix: "contoso",
      optionValuePrefix: 55555,
      solutionUniqueName: "contosocosell",
    });
    const report = await other.setup();
    expect(report.created).toContain('Publisher with prefix "contoso"');
    expect(report.created.some((x) => x.includes("contoso_referralid"))).toBe(true);
  });

  it("reports an application user without a security role, with a fix", async () => {
    const appUser = sb.dataverse.applicationUserId(sb.credentials.dataverse.clientId)!;
    const roles = sb.dataverse.userRoles(appUser);
    sb.dataverse.setUserRoles(appUser, []);
    try {
      const report = await make().verifySetup();
      expect(report.ok).toBe(false);
      const check = report.checks.find((x) => x.name === "security role")!;
      expect(check.ok).toBe(false);
      expect(check.fix).toMatch(/security role/);
    } finally {
      sb.dataverse.setUserRoles(appUser, roles);
    }
    expect((await make().verifySetup()).ok).toBe(true);
  });

  it("reports a missing alternate key and missing columns on a bare environment's other prefix", async () => {
    const report = await make({ publisherPrefix: "nosetup" }).verifySetup();
    expect(report.ok).toBe(false);
    expect(report.checks.find((x) => x.name === "custom columns")?.detail).toContain("nosetup_referralid");
    expect(report.checks.find((x) => x.name === "alternate key")?.fix).toContain("cosell setup");
  });
});
