import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { StateStore } from "../sync/store.js";
import type { Awaitable } from "./conformance.js";
import {
  at,
  auditEntry,
  conflict,
  cycle,
  fullLink,
  ledgerEntry,
  outboxItem,
  pendingLink,
} from "./store-fixtures.js";

/** How the suite gets a store: a fresh, empty one per test, closed (and dropped) afterwards. */
export interface StateStoreHarness {
  /** A new, empty store. Each test gets its own. */
  open(): Awaitable<StateStore>;
  /** Called after each test with the store `open` gave (after `store.close()` was called). */
  cleanUp?(store: StateStore): Awaitable<void>;
}

/**
 * The executable contract of the {@link StateStore} port: every store (memory, SQLite, PostgreSQL)
 * runs this suite, so the engine behaves the same on each. `name` labels the `describe` block.
 */
const byHash = (a: { valueHash: string }, b: { valueHash: string }) => a.valueHash.localeCompare(b.valueHash);

export function runStateStoreConformance(name: string, harness: StateStoreHarness): void {
  describe(`${name} (state-store conformance)`, () => {
    let store: StateStore;
    beforeEach(async () => {
      store = await harness.open();
    });
    afterEach(async () => {
      store.close();
      await harness.cleanUp?.(store);
    });

    /** Everything the store holds, to prove a rolled-back transaction left nothing behind. */
    function everything(): unknown {
      return {
        links: store.listLinks(),
        cursors: [store.getCursor("crm"), store.getCursor("partnerCenter")],
        feeds: store.getFeedPosition("feed-1"),
        ledger: [
          store.listLedger("crm", "crm-1", "notes"),
          store.listLedger("partnerCenter", "ref-1", "stage"),
        ],
        outbox: store.listOutbox(),
        parked: store.listParked(),
        errors: store.listRecordErrors(),
        audit: store.listAudit(100),
        cycles: store.listCycles(100),
      };
    }

    describe("links", () => {
      it("gives back a full link exactly as put, by link id, CRM id and referral id", () => {
        const link = fullLink(1);
        store.putLink(link);
        expect(store.getLink("link-1")).toStrictEqual(link);
        expect(store.getLinkByCrmId("crm-1")).toStrictEqual(link);
        expect(store.getLinkByReferralId("ref-1")).toStrictEqual(link);
        expect(store.getLink("link-1")?.referral).toMatchObject({ someFutureField: { kept: true } });
      });

      it("keeps absent optional fields absent and false booleans false", () => {
        const link = pendingLink(1, { crmOptedIn: false });
        store.putLink(link);
        const back = store.getLink("link-1")!;
        expect(back).toStrictEqual(link);
        expect(Object.keys(back)).not.toContain("referralId");
        expect(Object.keys(back)).not.toContain("baseline");
        expect(back.crmOptedIn).toBe(false);
      });

      it("finds the links of many CRM and referral ids at once, each link once", () => {
        for (const n of [1, 2, 3, 4]) store.putLink(fullLink(n));
        store.putLink(pendingLink(5));
        const found = store.findLinks({
          crmIds: ["crm-1", "crm-2", "crm-9"],
          referralIds: ["ref-2", "ref-3"],
        });
        expect(found.map((l) => l.linkId).sort()).toEqual(["link-1", "link-2", "link-3"]);
        expect(found.find((l) => l.linkId === "link-1")).toStrictEqual(fullLink(1));
        expect(store.findLinks({ crmIds: ["crm-5"] })).toStrictEqual([store.getLinkByCrmId("crm-5")]);
        expect(store.findLinks({ referralIds: ["ref-4"] }).map((l) => l.linkId)).toEqual(["link-4"]);
        expect(store.findLinks({})).toStrictEqual([]);
        expect(store.findLinks({ crmIds: [], referralIds: [] })).toStrictEqual([]);
        // Ids that need quoting are matched as they are.
        store.putLink(fullLink(6, { crmId: 'it\'s "odd"' }));
        expect(store.findLinks({ crmIds: ['it\'s "odd"'] }).map((l) => l.linkId)).toEqual(["link-6"]);
      });

      it("answers undefined for ids it does not know", () => {
        store.putLink(fullLink(1));
        expect(store.getLink("link-2")).toBeUndefined();
        expect(store.getLinkByCrmId("crm-2")).toBeUndefined();
        expect(store.getLinkByReferralId("ref-2")).toBeUndefined();
      });

      it("replaces the link with the same link id, keeping its place in the list", () => {
        store.putLink(pendingLink(1));
        store.putLink(fullLink(2));
        const linked = fullLink(1, { state: "linked", updatedAt: at(9) });
        store.putLink(linked);
        expect(store.listLinks()).toStrictEqual([linked, fullLink(2)]);
        expect(store.getLinkByReferralId("ref-1")).toStrictEqual(linked);
      });

      it("drops a field the replacement no longer has", () => {
        store.putLink(fullLink(1));
        const { statusHash: _statusHash, referral: _referral, ...rest } = fullLink(1);
        store.putLink(rest);
        expect(store.getLink("link-1")).toStrictEqual(rest);
      });

      it("frees the old CRM id when a link changes it", () => {
        store.putLink(fullLink(1));
        store.putLink(fullLink(1, { crmId: "crm-new" }));
        expect(store.getLinkByCrmId("crm-1")).toBeUndefined();
        expect(store.getLinkByCrmId("crm-new")?.linkId).toBe("link-1");
        store.putLink(fullLink(2, { crmId: "crm-1" }));
        expect(store.getLinkByCrmId("crm-1")?.linkId).toBe("link-2");
      });

      it("counts links by state without listing them; a state with none is absent", () => {
        expect(store.countLinks()).toStrictEqual({});
        store.putLink(fullLink(1, { state: "linked" }));
        store.putLink(fullLink(2, { state: "linked" }));
        store.putLink(pendingLink(3));
        store.putLink(fullLink(4, { state: "crmDeleted" }));
        expect(store.countLinks()).toStrictEqual({ linked: 2, pending: 1, crmDeleted: 1 });
        store.putLink(fullLink(2, { state: "referralMissing" }));
        expect(store.countLinks()).toStrictEqual({
          linked: 1,
          pending: 1,
          crmDeleted: 1,
          referralMissing: 1,
        });
      });

      it("lists every link in the order first put", () => {
        const links = [fullLink(3), pendingLink(1), fullLink(2)];
        for (const l of links) store.putLink(l);
        expect(store.listLinks()).toStrictEqual(links);
      });

      it("refuses a second link with the same CRM id, and leaves the first alone", () => {
        store.putLink(fullLink(1));
        expect(() => store.putLink(fullLink(2, { crmId: "crm-1" }))).toThrow(
          expect.objectContaining({
            code: "STATE_LINK_DUPLICATE",
            message: expect.stringContaining("CRM id crm-1"),
          }),
        );
        expect(store.listLinks()).toStrictEqual([fullLink(1)]);
      });

      it("refuses a second link with the same referral id", () => {
        store.putLink(fullLink(1));
        expect(() => store.putLink(fullLink(2, { referralId: "ref-1" }))).toThrow(
          expect.objectContaining({
            code: "STATE_LINK_DUPLICATE",
            message: expect.stringContaining("referral id ref-1"),
          }),
        );
        expect(store.getLink("link-2")).toBeUndefined();
      });

      it("refuses to move a link onto a CRM id another link holds", () => {
        store.putLink(fullLink(1));
        store.putLink(fullLink(2));
        expect(() => store.putLink(fullLink(2, { crmId: "crm-1" }))).toThrow(
          expect.objectContaining({ code: "STATE_LINK_DUPLICATE" }),
        );
        expect(store.getLink("link-2")).toStrictEqual(fullLink(2));
      });

      it("allows many links without a referral id (pending creates)", () => {
        store.putLink(pendingLink(1));
        store.putLink(pendingLink(2));
        expect(store.listLinks().map((l) => l.linkId)).toEqual(["link-1", "link-2"]);
      });

      it("lists only the links in a state when asked, oldest first", () => {
        store.putLink(fullLink(1));
        store.putLink(pendingLink(2));
        store.putLink(fullLink(3, { state: "crmDeleted" }));
        store.putLink(pendingLink(4));
        expect(store.listLinks({ state: "pending" }).map((l) => l.linkId)).toEqual(["link-2", "link-4"]);
        expect(store.listLinks({ state: "crmDeleted" })).toStrictEqual([
          fullLink(3, { state: "crmDeleted" }),
        ]);
        expect(store.listLinks({ state: "referralMissing" })).toEqual([]);
        expect(store.listLinks()).toHaveLength(4);
      });

      it("hands out copies: mutating a returned link changes nothing until putLink", () => {
        const put = fullLink(1);
        store.putLink(put);
        put.state = "crmDeleted";
        const got = store.getLink("link-1")!;
        got.state = "referralMissing";
        got.baseline!.name = "changed";
        store.listLinks()[0]!.crmOptedIn = false;
        expect(store.getLink("link-1")).toStrictEqual(fullLink(1));
      });
    });

    describe("cursors", () => {
      it("are kept per side and overwritten", () => {
        expect(store.getCursor("crm")).toBeUndefined();
        store.setCursor("crm", "c1");
        store.setCursor("partnerCenter", at(5));
        store.setCursor("crm", "c2");
        expect(store.getCursor("crm")).toBe("c2");
        expect(store.getCursor("partnerCenter")).toBe(at(5));
      });
    });

    describe("feed positions", () => {
      it("are kept per feed name and overwritten, apart from the side cursors", () => {
        expect(store.getFeedPosition("salesforce:/data/OpportunityChangeEvent")).toBeUndefined();
        store.setFeedPosition("salesforce:/data/OpportunityChangeEvent", "17");
        store.setFeedPosition("dataverse:webhook", "a-b-c");
        store.setFeedPosition("salesforce:/data/OpportunityChangeEvent", "42");
        expect(store.getFeedPosition("salesforce:/data/OpportunityChangeEvent")).toBe("42");
        expect(store.getFeedPosition("dataverse:webhook")).toBe("a-b-c");
        expect(store.getCursor("crm")).toBeUndefined();
      });
    });

    describe("ledger", () => {
      it("lists entries by side, record and field only", () => {
        const e = ledgerEntry();
        store.addLedger([
          e,
          ledgerEntry({ side: "partnerCenter", recordId: "ref-1", field: "stage", valueHash: "h2" }),
        ]);
        expect(store.listLedger("crm", "crm-1", "notes")).toStrictEqual([e]);
        expect(store.listLedger("partnerCenter", "crm-1", "notes")).toStrictEqual([]);
        expect(store.listLedger("crm", "crm-2", "notes")).toStrictEqual([]);
        expect(store.listLedger("crm", "crm-1", "value")).toStrictEqual([]);
        expect(store.listLedger("partnerCenter", "ref-1", "stage").map((x) => x.valueHash)).toEqual(["h2"]);
      });

      it("lists a record's entries of every field at once, and no other record's", () => {
        store.addLedger([
          ledgerEntry({ valueHash: "n1" }),
          ledgerEntry({ field: "value", valueHash: "v1" }),
          ledgerEntry({ valueHash: "n2" }),
          ledgerEntry({ side: "partnerCenter", valueHash: "other side" }),
          ledgerEntry({ recordId: "crm-2", valueHash: "other record" }),
        ]);
        const all = store.listLedgerOfRecord("crm", "crm-1");
        expect(all.map((e) => `${e.field}:${e.valueHash}`).sort()).toEqual([
          "notes:n1",
          "notes:n2",
          "value:v1",
        ]);
        // Within a field, oldest first, as listLedger.
        expect(all.filter((e) => e.field === "notes").map((e) => e.valueHash)).toEqual(["n1", "n2"]);
        expect(store.listLedgerOfRecord("crm", "crm-3")).toStrictEqual([]);
        store.consumeLedger("crm", "crm-1", "notes");
        expect(store.listLedgerOfRecord("crm", "crm-1").map((e) => e.valueHash)).toEqual(["v1"]);
      });

      it("lists the entries of several records of one side at once", () => {
        store.addLedger([
          ledgerEntry({ valueHash: "a1" }),
          ledgerEntry({ field: "value", valueHash: "a2" }),
          ledgerEntry({ recordId: "crm-2", valueHash: "b1" }),
          ledgerEntry({ recordId: "crm-3", valueHash: "not asked" }),
          ledgerEntry({ side: "partnerCenter", valueHash: "other side" }),
        ]);
        const got = store.listLedgerOfRecords("crm", ["crm-1", "crm-2", "crm-9"]);
        expect(got.map((e) => `${e.recordId}:${e.field}:${e.valueHash}`).sort()).toEqual([
          "crm-1:notes:a1",
          "crm-1:value:a2",
          "crm-2:notes:b1",
        ]);
        // The same entries as asking record by record.
        for (const id of ["crm-1", "crm-2"])
          expect(got.filter((e) => e.recordId === id).sort(byHash)).toStrictEqual(
            store.listLedgerOfRecord("crm", id).sort(byHash),
          );
        expect(store.listLedgerOfRecords("crm", [])).toStrictEqual([]);
        expect(store.listLedgerOfRecords("partnerCenter", ["crm-1"]).map((e) => e.valueHash)).toEqual([
          "other side",
        ]);
        // Ids that need quoting are matched as they are.
        store.addLedger([ledgerEntry({ recordId: 'it\'s "odd"', valueHash: "q" })]);
        expect(store.listLedgerOfRecords("crm", ['it\'s "odd"']).map((e) => e.valueHash)).toEqual(["q"]);
      });

      it("keeps every value written to a field, oldest first; the same value again only refreshes its time", () => {
        store.addLedger([ledgerEntry({ valueHash: "first", writtenAt: at(1) })]);
        store.addLedger([ledgerEntry({ valueHash: "second", writtenAt: at(2) })]);
        store.addLedger([ledgerEntry({ valueHash: "first", writtenAt: at(3) })]);
        expect(store.listLedger("crm", "crm-1", "notes")).toStrictEqual([
          ledgerEntry({ valueHash: "first", writtenAt: at(3) }),
          ledgerEntry({ valueHash: "second", writtenAt: at(2) }),
        ]);
      });

      it("forgets a field's entries once consumed, and consuming twice is harmless", () => {
        store.addLedger([
          ledgerEntry({ valueHash: "a" }),
          ledgerEntry({ valueHash: "b" }),
          ledgerEntry({ field: "value" }),
        ]);
        store.consumeLedger("crm", "crm-1", "notes");
        store.consumeLedger("crm", "crm-1", "notes");
        expect(store.listLedger("crm", "crm-1", "notes")).toStrictEqual([]);
        expect(store.listLedger("crm", "crm-1", "value")).toHaveLength(1);
      });

      it("forgets only one value's entry when given its hash", () => {
        store.addLedger([ledgerEntry({ valueHash: "landed" }), ledgerEntry({ valueHash: "refused" })]);
        store.consumeLedger("crm", "crm-1", "notes", "refused");
        store.consumeLedger("crm", "crm-1", "notes", "never-written");
        expect(store.listLedger("crm", "crm-1", "notes").map((e) => e.valueHash)).toEqual(["landed"]);
      });

      it("prunes entries written strictly before the cut-off and says how many", () => {
        store.addLedger([
          ledgerEntry({ recordId: "a", writtenAt: at(1) }),
          ledgerEntry({ recordId: "b", writtenAt: at(2) }),
          ledgerEntry({ recordId: "c", writtenAt: at(3) }),
        ]);
        expect(store.pruneLedger(at(2))).toBe(1);
        expect(store.listLedger("crm", "a", "notes")).toStrictEqual([]);
        expect(store.listLedger("crm", "b", "notes")).toHaveLength(1);
        expect(store.pruneLedger(at(10))).toBe(2);
        expect(store.pruneLedger(at(10))).toBe(0);
      });
    });

    describe("outbox", () => {
      it("lists items in enqueue order, all or one link's", () => {
        const a = outboxItem("o1", "link-1");
        const b = outboxItem("o2", "link-2", { side: "crm", fields: ["notes", "value"] });
        const { action: _action, ...noAction } = outboxItem("o3", "link-1", { reason: "no action" });
        store.enqueueOutbox(a);
        store.enqueueOutbox(b);
        store.enqueueOutbox(noAction);
        expect(store.listOutbox()).toStrictEqual([a, b, noAction]);
        expect(store.listOutbox("link-1")).toStrictEqual([a, noAction]);
        expect(store.listOutbox("link-9")).toStrictEqual([]);
      });

      it("replaces an item enqueued again under the same id", () => {
        store.enqueueOutbox(outboxItem("o1", "link-1"));
        store.enqueueOutbox(outboxItem("o2", "link-1"));
        store.enqueueOutbox(outboxItem("o1", "link-1", { reason: "again" }));
        expect(store.listOutbox().map((o) => [o.id, o.reason])).toEqual([
          ["o1", "again"],
          ["o2", outboxItem("o2", "link-1").reason],
        ]);
      });

      it("removes by id", () => {
        store.enqueueOutbox(outboxItem("o1", "link-1"));
        store.enqueueOutbox(outboxItem("o2", "link-1"));
        store.removeOutbox("o1");
        store.removeOutbox("unknown");
        expect(store.listOutbox().map((o) => o.id)).toEqual(["o2"]);
      });

      it("clears every item of one link, and only that link's", () => {
        store.enqueueOutbox(outboxItem("o1", "link-1"));
        store.enqueueOutbox(outboxItem("o2", "link-2"));
        store.enqueueOutbox(outboxItem("o3", "link-1"));
        store.clearOutbox("link-1");
        store.clearOutbox("link-9");
        expect(store.listOutbox().map((o) => o.id)).toEqual(["o2"]);
        expect(store.listOutbox("link-1")).toEqual([]);
      });
    });

    describe("parked conflicts", () => {
      it("parks, reads back, re-parks in place and unparks", () => {
        store.park(conflict("link-1"));
        store.park(conflict("link-2", { fields: ["stage"] }));
        expect(store.getParked("link-1")).toStrictEqual(conflict("link-1"));
        expect(store.getParked("link-3")).toBeUndefined();
        const again = conflict("link-1", { fields: ["notes"], detectedAt: at(7) });
        store.park(again);
        expect(store.listParked()).toStrictEqual([again, conflict("link-2", { fields: ["stage"] })]);
        store.unpark("link-1");
        store.unpark("link-1");
        expect(store.getParked("link-1")).toBeUndefined();
        expect(store.listParked().map((p) => p.linkId)).toEqual(["link-2"]);
      });
    });

    describe("record errors", () => {
      it("counts attempts on repeated sets and keeps the latest code and message", () => {
        store.setRecordError({ key: "crm:1", code: "A", message: "first", at: at(1) });
        store.setRecordError({ key: "referral:9", code: "B", message: "other", at: at(1) });
        store.setRecordError({ key: "crm:1", code: "C", message: "second", at: at(2) });
        store.setRecordError({ key: "crm:1", code: "C", message: "third", at: at(3) });
        expect(store.listRecordErrors()).toStrictEqual([
          { key: "crm:1", code: "C", message: "third", at: at(3), attempts: 3 },
          { key: "referral:9", code: "B", message: "other", at: at(1), attempts: 1 },
        ]);
      });

      it("starts counting again after a clear", () => {
        store.setRecordError({ key: "crm:1", code: "A", message: "m", at: at(1) });
        store.setRecordError({ key: "crm:1", code: "A", message: "m", at: at(2) });
        store.clearRecordError("crm:1");
        store.clearRecordError("crm:unknown");
        expect(store.listRecordErrors()).toEqual([]);
        store.setRecordError({ key: "crm:1", code: "A", message: "m", at: at(3) });
        expect(store.listRecordErrors()[0]?.attempts).toBe(1);
      });
    });

    describe("audit", () => {
      it("returns the most recent entries first, at most `limit`", () => {
        for (const n of [1, 2, 3, 4]) store.appendAudit(auditEntry(n));
        expect(store.listAudit(2)).toStrictEqual([auditEntry(4), auditEntry(3)]);
        expect(store.listAudit(10)).toStrictEqual([4, 3, 2, 1].map((n) => auditEntry(n)));
        expect(store.listAudit(0)).toEqual([]);
        expect(store.listAudit(-1)).toEqual([]);
      });

      it("orders by append, not by timestamp (a manual clock may repeat or go back)", () => {
        store.appendAudit(auditEntry(5));
        store.appendAudit(auditEntry(1, { message: "later but older clock" }));
        expect(store.listAudit(1)[0]?.message).toBe("later but older clock");
      });

      it("keeps optional ids absent", () => {
        const entry = { at: at(1), kind: "error", message: "no link", crmId: "crm-1" };
        store.appendAudit(entry);
        expect(store.listAudit(1)).toStrictEqual([entry]);
      });
    });

    describe("cycles", () => {
      it("returns the most recent summaries first, at most `limit`, exactly as recorded", () => {
        for (const n of [1, 2, 3]) store.recordCycle(cycle(n));
        expect(store.listCycles(2)).toStrictEqual([cycle(3), cycle(2)]);
        expect(store.listCycles(5)).toStrictEqual([cycle(3), cycle(2), cycle(1)]);
        expect(store.listCycles(0)).toEqual([]);
      });

      it("replaces a summary recorded again under the same id", () => {
        store.recordCycle(cycle(1));
        store.recordCycle(cycle(2));
        store.recordCycle(cycle(1, { dryRun: true }));
        expect(store.listCycles(5).map((c) => [c.cycleId, c.dryRun])).toEqual([
          ["cycle-2", false],
          ["cycle-1", true],
        ]);
      });
    });

    describe("transaction", () => {
      /** One write of every kind, so rollback is checked for every table. */
      function writeEverything(): void {
        store.putLink(fullLink(1));
        store.setCursor("crm", "c-new");
        store.setFeedPosition("feed-1", "7");
        store.addLedger([ledgerEntry()]);
        store.enqueueOutbox(outboxItem("o1", "link-1"));
        store.park(conflict("link-1"));
        store.setRecordError({ key: "crm:1", code: "A", message: "m", at: at(1) });
        store.appendAudit(auditEntry(1));
        store.recordCycle(cycle(1));
      }

      it("commits every write and returns fn's value", () => {
        const result = store.transaction(() => {
          writeEverything();
          return 42;
        });
        expect(result).toBe(42);
        expect(store.getLink("link-1")).toStrictEqual(fullLink(1));
        expect(store.listCycles(1)).toStrictEqual([cycle(1)]);
      });

      it("leaves nothing behind when fn throws, and rethrows the error", () => {
        const boom = new Error("crash mid-batch");
        expect(() =>
          store.transaction(() => {
            writeEverything();
            throw boom;
          }),
        ).toThrow(boom);
        expect(everything()).toStrictEqual({
          links: [],
          cursors: [undefined, undefined],
          feeds: undefined,
          ledger: [[], []],
          outbox: [],
          parked: [],
          errors: [],
          audit: [],
          cycles: [],
        });
      });

      it("restores changed and removed rows, not just new ones", () => {
        writeEverything();
        store.setRecordError({ key: "crm:1", code: "A", message: "m", at: at(1) });
        const before = everything();
        expect(() =>
          store.transaction(() => {
            store.putLink(fullLink(1, { state: "crmDeleted" }));
            store.setCursor("crm", "c-later");
            store.setFeedPosition("feed-1", "8");
            store.consumeLedger("crm", "crm-1", "notes");
            store.removeOutbox("o1");
            store.unpark("link-1");
            store.setRecordError({ key: "crm:1", code: "B", message: "again", at: at(2) });
            store.clearRecordError("crm:1");
            store.recordCycle(cycle(1, { dryRun: true }));
            throw new Error("crash");
          }),
        ).toThrow("crash");
        expect(everything()).toStrictEqual(before);
        expect(store.listRecordErrors()[0]?.attempts).toBe(2);
      });

      it("rolls back the whole transaction when a write in it is refused", () => {
        store.putLink(fullLink(1));
        expect(() =>
          store.transaction(() => {
            store.putLink(fullLink(2));
            store.putLink(fullLink(3, { crmId: "crm-1" }));
          }),
        ).toThrow(expect.objectContaining({ code: "STATE_LINK_DUPLICATE" }));
        expect(store.listLinks()).toStrictEqual([fullLink(1)]);
      });

      it("joins nested calls to the outer one: an outer throw undoes the inner writes too", () => {
        expect(() =>
          store.transaction(() => {
            store.transaction(() => store.putLink(fullLink(1)));
            store.appendAudit(auditEntry(1));
            throw new Error("outer");
          }),
        ).toThrow("outer");
        expect(store.listLinks()).toEqual([]);
        expect(store.listAudit(10)).toEqual([]);
      });

      it("undoes only a nested call's own writes when the outer call catches its throw", () => {
        store.transaction(() => {
          store.putLink(fullLink(1));
          try {
            store.transaction(() => {
              store.putLink(fullLink(2));
              store.setCursor("crm", "inner");
              throw new Error("inner");
            });
          } catch {
            // the outer batch carries on without the inner writes
          }
          store.appendAudit(auditEntry(1));
        });
        expect(store.listLinks()).toStrictEqual([fullLink(1)]);
        expect(store.getCursor("crm")).toBeUndefined();
        expect(store.listAudit(10)).toStrictEqual([auditEntry(1)]);
      });

      it("refuses an async body and keeps none of its writes", () => {
        expect(() =>
          store.transaction(() => {
            store.putLink(fullLink(1));
            return Promise.resolve(1);
          }),
        ).toThrow(TypeError);
        expect(store.listLinks()).toEqual([]);
      });

      it("stays usable after a rollback", () => {
        expect(() =>
          store.transaction(() => {
            store.putLink(fullLink(1));
            throw new Error("x");
          }),
        ).toThrow("x");
        store.transaction(() => store.putLink(fullLink(1)));
        expect(store.getLink("link-1")).toStrictEqual(fullLink(1));
      });
    });
  });
}
