import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { CoSellDeal, Stage } from "../domain/deal.js";
import { isMicrosoftInvitation } from "../partner-center/engagement.js";
import { referralToDeal } from "../partner-center/mapping.js";
import type { Referral } from "../partner-center/referral.js";
import type { CrmAdapter } from "../sync/adapter.js";
import { type EngineDeps, runCycle } from "../sync/engine.js";
import type { PartnerCenterPort } from "../sync/ports.js";
import type { StateStore } from "../sync/store.js";
import type {
  CallStats,
  ConflictPolicy,
  CycleSummary,
  SyncField,
  SyncRules,
  SyncStatus,
} from "../sync/types.js";
import { CHECKPOINTS, type CheckpointName, crashAt } from "./crash.js";
import { sampleDeal, sampleInbound } from "./deals.js";

/** A value or a promise of it: in-memory drivers answer at once, HTTP drivers asynchronously. */
export type Awaitable<T> = T | Promise<T>;

/** An opportunity as a seller sees it in the CRM, mapped into canonical terms. */
export interface CrmOpportunity {
  crmId: string;
  /** The opportunity's fields as a canonical deal (as far as the CRM holds them). */
  deal: CoSellDeal;
  /** The co-sell sync flag. */
  optedIn: boolean;
  /** The referral id in the record's status fields, if any. */
  referralId?: string;
  /** The sync status fields cosell wrote back (`undefined` before the first write). */
  status?: Partial<SyncStatus>;
}

/**
 * Acts as a seller in the CRM under test, *around* the adapter (straight into the CRM or its
 * sandbox), so the suite can tell what the adapter wrote from what a person did.
 */
export interface CrmDriver {
  /** Creates an opportunity holding these canonical fields; returns its CRM id. */
  createOpportunity(deal: Partial<CoSellDeal>, options: { optedIn: boolean }): Awaitable<string>;
  /** Edits these fields, as a seller would. */
  update(crmId: string, changes: Partial<CoSellDeal>): Awaitable<void>;
  /** Turns the co-sell sync flag on or off. */
  setOptIn(crmId: string, optedIn: boolean): Awaitable<void>;
  /** Moves the stage; `lost` is the CRM's "closed lost" and carries the reason. */
  setStage(crmId: string, stage: Stage, reason?: string): Awaitable<void>;
  /** Ticks "Would you like Microsoft's help?" with what help is needed. */
  requestMicrosoftHelp(crmId: string, notes: string): Awaitable<void>;
  /** The opportunity as it is now, or `undefined` when it does not exist. */
  get(crmId: string): Awaitable<CrmOpportunity | undefined>;
  /** Every opportunity (to count duplicates). */
  all(): Awaitable<CrmOpportunity[]>;
  /** Makes the next write to `target` (a CRM id, or `"create"` for the next create) fail with `code`. */
  failNextWrite(target: string, code: string): Awaitable<void>;
  /** Deletes the opportunity. */
  delete(crmId: string): Awaitable<void>;
}

/** Acts as Microsoft in Partner Center (the in-memory double or the sandbox emulator). */
export interface MicrosoftDriver {
  /** Microsoft sends the partner a referral; unset fields get plausible values. */
  sendInbound(partial?: Partial<CoSellDeal>): Awaitable<Referral>;
  /** A Microsoft seller engages on the partner's invitation. */
  engage(referralId: string): Awaitable<unknown>;
  /** A Microsoft seller declines the partner's invitation. */
  decline(referralId: string, reason: string): Awaitable<unknown>;
  /** A Microsoft seller edits the referral's notes. */
  editNotes(referralId: string, notes: string): Awaitable<unknown>;
  /**
   * Partner Center or a Microsoft seller sets referral fields the partner's API cannot (deep-merged
   * raw referral fields: `trackingInfo`, `registrationStatus`, `registrations`, `salesStage`,
   * `favorite`…). Optional: the checks that need it are skipped by a driver without it.
   */
  setFields?(referralId: string, changes: Record<string, unknown>): Awaitable<unknown>;
  /** The referral as Partner Center holds it. */
  get(referralId: string): Awaitable<Referral | undefined>;
  /** Every referral. */
  all(): Awaitable<Referral[]>;
}

/** Everything one conformance test needs; `setup()` builds a fresh one per test. */
export interface ConformanceFixture {
  /** The adapter under test. */
  adapter: CrmAdapter;
  /** A seller in the same CRM the adapter talks to. */
  crm: CrmDriver;
  /** What the engine calls for Partner Center. */
  partnerCenter: PartnerCenterPort;
  /** Microsoft, in the same Partner Center. */
  microsoft: MicrosoftDriver;
  /** The clock shared by the engine, the CRM and Partner Center. */
  clock: { now(): Date; advance(ms: number): void };
  /** A fresh state store. */
  store: StateStore;
  /**
   * Optional: the checkpoint hook that simulates a crash at `point` (default: {@link crashAt},
   * which throws a {@link SimulatedCrash} the first time `point` is reached).
   */
  crash?(point: CheckpointName): EngineDeps["checkpoint"];
  /** Optional: what a restart after a crash does (reopen the store…); returns the store to resume with. */
  restart?(): Awaitable<StateStore>;
}

/** Options of {@link runAdapterConformance}. */
export interface ConformanceOptions {
  /** Names the `describe` block, e.g. `"salesforce (sandbox)"`. */
  name: string;
  /** Builds a fresh fixture for each test (empty CRM, empty Partner Center, fresh store). */
  setup(): Promise<ConformanceFixture>;
  /** Releases what `setup` started (servers, files). */
  teardown?(fixture: ConformanceFixture): Awaitable<void>;
}

const DAY = 24 * 60 * 60 * 1000;
const CLOSED_LOST: readonly Stage[] = ["lost", "declined"];

/**
 * The shared suite every CRM adapter's tests call (in the style of Auth.js' `runBasicTests`): it runs
 * whole sync cycles through the real engine against the adapter, a seller ({@link CrmDriver}) and
 * Microsoft ({@link MicrosoftDriver}), and checks what both sides end up holding. The in-memory
 * adapter is the reference that must pass it; Salesforce and Dynamics run it against their sandboxes.
 */
export function runAdapterConformance(options: ConformanceOptions): void {
  describe(`CRM adapter conformance: ${options.name}`, () => {
    let fx: ConformanceFixture;
    beforeEach(async () => {
      fx = await options.setup();
    });
    afterEach(async () => {
      await options.teardown?.(fx);
    });

    it("opt-in create: one referral carrying the CRM id and campaign; the status comes back; the link is synced", async () => {
      const campaignId = "7015g000000Camp1";
      const crmId = await fx.crm.createOpportunity(sampleDeal({ campaignId }), { optedIn: true });
      const privateId = await fx.crm.createOpportunity(sampleDeal({ name: "Not shared" }), {
        optedIn: false,
      });

      const summary = await sync(fx);

      expect(summary.errors).toEqual([]);
      const [referral, ...more] = await referralsFor(fx, crmId);
      expect(more).toHaveLength(0);
      expect(referral?.name).toBe("Contoso supply chain");
      expect(referral?.campaignId).toBe(campaignId);
      expect(await referralsFor(fx, privateId)).toHaveLength(0);
      const opp = await mustGet(fx, crmId);
      expect(opp.referralId).toBe(referral!.id);
      expect(opp.status).toMatchObject({ state: "synced", lastError: null, coSellStage: "accepted" });
      expect(opp.status?.referralId).toBe(referral!.id);
      expect(opp.status?.referralUrl).toContain(referral!.id);
      expect(opp.status?.lastSyncedAt).toBeTruthy();
      expect((await fx.crm.get(privateId))?.status?.state).toBeUndefined();
      expect(fx.store.getLinkByCrmId(crmId)).toMatchObject({ state: "linked", referralId: referral!.id });
      await expectQuiet(fx);
    });

    it("field updates flow both ways: a CRM edit reaches the referral, Microsoft's notes reach the CRM", async () => {
      const { crmId, referralId } = await shareOne(fx);
      await fx.crm.update(crmId, { value: { amount: 75_000, currency: "USD" }, closeDate: "2026-07-31" });
      await sync(fx);
      const referral = await mustReferral(fx, referralId);
      expect(referral.details?.dealValue).toBe(75_000);
      expect(referralToDeal(referral).closeDate).toBe("2026-07-31");

      await fx.microsoft.editNotes(referralId, "Microsoft: the customer wants a demo in May.");
      await sync(fx);
      expect((await mustGet(fx, crmId)).deal.notes).toBe("Microsoft: the customer wants a demo in May.");
      expect((await mustGet(fx, crmId)).status?.state).toBe("synced");
      await expectQuiet(fx);
    });

    it("stage from the CRM: won closes the referral as Won", async () => {
      const { crmId, referralId } = await shareOne(fx);
      await fx.crm.setStage(crmId, "won");
      await sync(fx);
      const referral = await mustReferral(fx, referralId);
      expect({ status: referral.status, substatus: referral.substatus }).toEqual({
        status: "Closed",
        substatus: "Won",
      });
      expect((await mustGet(fx, crmId)).status).toMatchObject({ state: "synced", coSellStage: "won" });
      await expectQuiet(fx);
    });

    it("inviting Microsoft posts a connected referral on the engagement; Microsoft's decline leaves the deal open", async () => {
      const can = await declared(fx);
      const { crmId, referralId } = await shareOne(fx);
      await fx.crm.requestMicrosoftHelp(crmId, "Need an Azure data architect for the workshop.");
      expect((await sync(fx)).errors).toEqual([]);
      const own = await mustReferral(fx, referralId);
      expect(own.type).toBe("Shared");
      const invitations = (await fx.microsoft.all()).filter(
        (r) => r.engagementId === own.engagementId && isMicrosoftInvitation(r),
      );
      expect(invitations).toHaveLength(1);
      expect(invitations[0]?.target).toEqual([{ type: "BusinessProfileLocation", id: "msft" }]);
      expect(invitations[0]?.inviteContext?.notes).toBe("Need an Azure data architect for the workshop.");
      if (can("microsoftAnswer", "toCrm"))
        expect((await mustGet(fx, crmId)).deal.microsoftAnswer).toBe("pending");
      await expectQuiet(fx);

      await fx.microsoft.decline(referralId, "No Microsoft seller available in this region.");
      expect((await sync(fx)).errors).toEqual([]);
      const opp = await mustGet(fx, crmId);
      expect(opp.deal.stage).toBe("accepted");
      expect(opp.status).toMatchObject({ state: "synced", coSellStage: "accepted" });
      if (can("microsoftAnswer", "toCrm")) expect(opp.deal.microsoftAnswer).toBe("declined");
      const after = await mustReferral(fx, referralId);
      expect({ status: after.status, substatus: after.substatus }).toEqual({
        status: "Active",
        substatus: "Accepted",
      });
      await expectQuiet(fx);
    });

    it("Microsoft's acceptance of the invitation reaches the CRM; nothing else is for the seller to do", async () => {
      const can = await declared(fx);
      const { crmId, referralId } = await shareOne(fx);
      await fx.crm.requestMicrosoftHelp(crmId, "Need an Azure data architect.");
      await sync(fx);
      await fx.microsoft.engage(referralId);
      const summary = await sync(fx);
      expect(summary.errors).toEqual([]);
      const opp = await mustGet(fx, crmId);
      expect(opp.status).toMatchObject({ state: "synced", coSellStage: "accepted" });
      if (can("microsoftAnswer", "toCrm")) expect(opp.deal.microsoftAnswer).toBe("accepted");
      // Still one invitation: a second cycle must not invite again.
      const own = await mustReferral(fx, referralId);
      const invitations = (await fx.microsoft.all()).filter(
        (r) => r.engagementId === own.engagementId && isMicrosoftInvitation(r),
      );
      expect(invitations).toHaveLength(1);
      await expectQuiet(fx);
    });

    it("inbound: a referral from Microsoft becomes one CRM opportunity", async () => {
      const referral = await fx.microsoft.sendInbound({ name: "Fabrikam data platform" });
      const summary = await sync(fx);
      expect(summary.errors).toEqual([]);
      const opps = await oppsFor(fx, referral.id);
      expect(opps).toHaveLength(1);
      expect(opps[0]!.deal.name).toBe("Fabrikam data platform");
      expect(opps[0]!.status).toMatchObject({ referralId: referral.id, coSellStage: "received" });
      expect(fx.store.getLinkByReferralId(referral.id)?.crmId).toBe(opps[0]!.crmId);
      await expectQuiet(fx);
      expect(await oppsFor(fx, referral.id)).toHaveLength(1);
    });

    it("accept from the CRM: the referral is accepted and carries the CRM id", async () => {
      const { crmId, referralId } = await receiveOne(fx);
      await fx.crm.setStage(crmId, "accepted");
      const summary = await sync(fx);
      expect(summary.errors).toEqual([]);
      const referral = await mustReferral(fx, referralId);
      expect(referralToDeal(referral).stage).toBe("accepted");
      expect(referral.externalReferenceId).toBe(crmId);
      expect((await mustGet(fx, crmId)).status).toMatchObject({ state: "synced", coSellStage: "accepted" });
      await expectQuiet(fx);
    });

    it("decline from the CRM: closed lost with a reason declines the referral", async () => {
      const { crmId, referralId } = await receiveOne(fx);
      await fx.crm.setStage(crmId, "lost", "Outside our region.");
      await sync(fx);
      const referral = await mustReferral(fx, referralId);
      expect({ status: referral.status, substatus: referral.substatus }).toEqual({
        status: "Closed",
        substatus: "Declined",
      });
      expect(referral.statusReason).toBe("Outside our region.");
      const opp = await mustGet(fx, crmId);
      expect(CLOSED_LOST).toContain(opp.deal.stage);
      expect(opp.status).toMatchObject({ state: "synced", coSellStage: "declined", lastError: null });
      await expectQuiet(fx);
    });

    it("expiry: 14 days without an answer expire the referral and close the CRM opportunity", async () => {
      const { crmId, referralId } = await receiveOne(fx);
      fx.clock.advance(14 * DAY + 60 * 60 * 1000);
      await sync(fx);
      expect((await mustReferral(fx, referralId)).substatus).toBe("Expired");
      const opp = await mustGet(fx, crmId);
      expect(opp.deal.stage).toBe("expired");
      expect(opp.status).toMatchObject({ state: "synced", coSellStage: "expired", lastError: null });
      await expectQuiet(fx);
    });

    it("echo suppression: after a sync, the next two cycles write nothing on either side", async () => {
      const ids: string[] = [];
      for (const name of ["Alpha", "Beta", "Gamma"])
        ids.push(await fx.crm.createOpportunity(sampleDeal({ name }), { optedIn: true }));
      await fx.microsoft.sendInbound({ name: "Delta from Microsoft" });
      await sync(fx);
      await fx.crm.update(ids[0]!, { notes: "Edited after the first sync." });
      const edited = await sync(fx);
      expect(edited.apiCalls.partnerCenter.writes).toBeGreaterThan(0);

      for (let i = 0; i < 2; i++) {
        const crmBefore = fx.adapter.stats();
        const pcBefore = fx.partnerCenter.stats();
        const summary = await sync(fx);
        expect(summary.apiCalls.crm.writes, `CRM writes in quiet cycle ${i + 1}`).toBe(0);
        expect(summary.apiCalls.partnerCenter.writes, `Partner Center writes in quiet cycle ${i + 1}`).toBe(
          0,
        );
        expect(delta(fx.adapter.stats(), crmBefore)).toEqual(summary.apiCalls.crm);
        expect(delta(fx.partnerCenter.stats(), pcBefore)).toEqual(summary.apiCalls.partnerCenter);
      }
    });

    const policies: { policy: ConflictPolicy; last: "crm" | "microsoft"; winner: "crm" | "microsoft" }[] = [
      { policy: "crm-wins", last: "microsoft", winner: "crm" },
      { policy: "partner-center-wins", last: "crm", winner: "microsoft" },
      { policy: "newest-wins", last: "microsoft", winner: "microsoft" },
      { policy: "newest-wins", last: "crm", winner: "crm" },
    ];
    it.each(policies)("conflict under $policy ($last edited last): $winner wins on both sides", async (c) => {
      const rules = { conflictPolicy: c.policy };
      const { crmId, referralId } = await shareOne(fx, rules);
      const edits = {
        crm: () => fx.crm.update(crmId, { notes: "Seller: call back on Monday." }),
        microsoft: () => fx.microsoft.editNotes(referralId, "Microsoft: customer prefers Tuesday."),
      };
      const first = c.last === "crm" ? edits.microsoft : edits.crm;
      const second = c.last === "crm" ? edits.crm : edits.microsoft;
      await first();
      fx.clock.advance(60_000);
      await second();
      await sync(fx, { rules });
      const want =
        c.winner === "crm" ? "Seller: call back on Monday." : "Microsoft: customer prefers Tuesday.";
      expect((await mustGet(fx, crmId)).deal.notes).toBe(want);
      expect(referralToDeal(await mustReferral(fx, referralId)).notes).toBe(want);
      expect((await mustGet(fx, crmId)).status?.state).toBe("synced");
      await expectQuiet(fx, rules);
    });

    it("conflict under manual: the pair is parked, nothing is overwritten, the CRM shows conflict", async () => {
      const rules = { conflictPolicy: "manual" as const };
      const { crmId, referralId } = await shareOne(fx, rules);
      await fx.crm.update(crmId, { notes: "Seller's version." });
      fx.clock.advance(60_000);
      await fx.microsoft.editNotes(referralId, "Microsoft's version.");
      const summary = await sync(fx, { rules });
      expect(summary.steps.conflict).toBe(1);
      const opp = await mustGet(fx, crmId);
      expect(opp.deal.notes).toBe("Seller's version.");
      expect(referralToDeal(await mustReferral(fx, referralId)).notes).toBe("Microsoft's version.");
      expect(opp.status?.state).toBe("conflict");
      const link = fx.store.getLinkByCrmId(crmId)!;
      expect(fx.store.getParked(link.linkId)?.fields).toEqual(["notes"]);
      await expectQuiet(fx, rules);
      expect((await mustGet(fx, crmId)).deal.notes).toBe("Seller's version.");
      expect((await mustGet(fx, crmId)).status?.state, "still in conflict until resolved").toBe("conflict");
    });

    it("batch partial failure: the failing record is marked with the reason, the others sync, the next cycle retries it", async () => {
      const ids: string[] = [];
      for (const name of ["One", "Two", "Three", "Four"])
        ids.push(await fx.crm.createOpportunity(sampleDeal({ name }), { optedIn: true }));
      const inbound = await fx.microsoft.sendInbound({ name: "Inbound that fails once" });
      await fx.crm.failNextWrite(ids[2]!, "FIELD_CUSTOM_VALIDATION_EXCEPTION");
      await fx.crm.failNextWrite("create", "DUPLICATES_DETECTED");

      const first = await sync(fx);
      expect(first.errors.map((e) => [e.key, e.code]).sort()).toEqual(
        [
          [`crm:${ids[2]}`, "FIELD_CUSTOM_VALIDATION_EXCEPTION"],
          [`referral:${inbound.id}`, "DUPLICATES_DETECTED"],
        ].sort(),
      );
      const errors = fx.store.listRecordErrors();
      expect(errors.find((e) => e.key === `crm:${ids[2]}`)?.code).toBe("FIELD_CUSTOM_VALIDATION_EXCEPTION");
      for (const id of [ids[0]!, ids[1]!, ids[3]!])
        expect((await mustGet(fx, id)).status?.state, id).toBe("synced");
      expect(await oppsFor(fx, inbound.id)).toHaveLength(0);

      const second = await sync(fx);
      expect(second.errors).toEqual([]);
      expect(fx.store.listRecordErrors()).toEqual([]);
      for (const id of ids) {
        expect(await referralsFor(fx, id), id).toHaveLength(1);
        expect((await mustGet(fx, id)).status?.state, id).toBe("synced");
      }
      expect(await oppsFor(fx, inbound.id)).toHaveLength(1);
      await expectQuiet(fx);
    });

    it.each(CHECKPOINTS)(
      "crash at %s, then resume: exactly one referral per opted-in record, no duplicate opportunity",
      async (point) => {
        const ids: string[] = [];
        for (const name of ["Crash A", "Crash B", "Crash C"])
          ids.push(await fx.crm.createOpportunity(sampleDeal({ name }), { optedIn: true }));
        const inbound = await fx.microsoft.sendInbound({ name: "Crash inbound" });

        const checkpoint = fx.crash?.(point) ?? crashAt(point);
        await expect(runCycle(deps(fx, { checkpoint }))).rejects.toThrow();
        fx.clock.advance(1000);
        const store = (await fx.restart?.()) ?? fx.store;
        fx.store = store;
        const resumed = await sync(fx);
        expect(resumed.errors).toEqual([]);

        for (const id of ids) {
          const refs = await referralsFor(fx, id);
          expect(refs, `referrals for ${id}`).toHaveLength(1);
          const opp = await mustGet(fx, id);
          expect(opp.referralId).toBe(refs[0]!.id);
          expect(opp.status?.state).toBe("synced");
          expect(fx.store.getLinkByCrmId(id)).toMatchObject({ state: "linked", referralId: refs[0]!.id });
        }
        expect(await oppsFor(fx, inbound.id)).toHaveLength(1);
        expect(await fx.microsoft.all()).toHaveLength(ids.length + 1);
        await expectQuiet(fx);
      },
    );

    it("status write-back never touches the opportunity name", async () => {
      const okId = await fx.crm.createOpportunity(sampleDeal({ name: "Northwind renewal" }), {
        optedIn: true,
      });
      const badId = await fx.crm.createOpportunity(sampleDeal({ name: "Northwind add-on", team: [] }), {
        optedIn: true,
      });
      await sync(fx);
      await fx.crm.setStage(okId, "won");
      await sync(fx);
      expect((await mustGet(fx, okId)).deal.name).toBe("Northwind renewal");
      expect((await mustGet(fx, badId)).deal.name).toBe("Northwind add-on");
      expect((await mustGet(fx, okId)).status?.state).toBe("synced");
      expect((await mustGet(fx, badId)).status?.state).toBe("error");
      const [referral] = await referralsFor(fx, okId);
      expect(referral?.name).toBe("Northwind renewal");
    });

    it("a record that cannot be validated is marked with the rule's code, and the run goes on", async () => {
      const badId = await fx.crm.createOpportunity(sampleDeal({ name: "No team", team: [] }), {
        optedIn: true,
      });
      const goodId = await fx.crm.createOpportunity(sampleDeal({ name: "Has a team" }), { optedIn: true });
      const summary = await sync(fx);
      expect(summary.errors).toEqual([
        expect.objectContaining({ key: `crm:${badId}`, code: "TEAM_REQUIRED" }),
      ]);
      const bad = await mustGet(fx, badId);
      expect(bad.status?.state).toBe("error");
      expect(bad.status?.lastError).toContain("TEAM_REQUIRED");
      expect(await referralsFor(fx, badId)).toHaveLength(0);
      expect((await mustGet(fx, goodId)).status?.state).toBe("synced");
      expect(await referralsFor(fx, goodId)).toHaveLength(1);
      await expectQuiet(fx, undefined, [`crm:${badId}`]);
      expect((await mustGet(fx, badId)).status?.state).toBe("error");

      // The seller fixes the record: it is shared on the next cycle.
      await fx.crm.update(badId, { team: sampleDeal().team! });
      const fixed = await sync(fx);
      expect(fixed.errors).toEqual([]);
      expect(await referralsFor(fx, badId)).toHaveLength(1);
      expect((await mustGet(fx, badId)).status).toMatchObject({ state: "synced", lastError: null });
    });

    it("a deleted opportunity leaves its referral alone, and nothing is written to the deleted record", async () => {
      const { crmId, referralId } = await shareOne(fx);
      const before = await mustReferral(fx, referralId);
      await fx.crm.delete(crmId);
      // A CRM whose change feed cannot report deletes (polling) learns of them in a reconcile cycle.
      const { capabilities } = await fx.adapter.describe();
      const summary = await sync(fx, capabilities.reportsDeletes ? {} : { mode: "reconcile" });
      expect(summary.errors).toEqual([]);
      expect(summary.apiCalls.partnerCenter.writes).toBe(0);
      expect(summary.apiCalls.crm.writes).toBe(0);
      expect(await mustReferral(fx, referralId)).toEqual(before);
      expect(fx.store.getLinkByCrmId(crmId)?.state).toBe("crmDeleted");
      await expectQuiet(fx);
      const reconcile = await sync(fx, { mode: "reconcile" });
      expect(reconcile.errors).toEqual([]);
      expect(reconcile.apiCalls.crm.writes + reconcile.apiCalls.partnerCenter.writes).toBe(0);
    });

    it("a reconcile cycle (everything re-read) after a sync writes nothing", async () => {
      await shareOne(fx);
      await receiveOne(fx);
      const s = await sync(fx, { mode: "reconcile" });
      expect(s.errors).toEqual([]);
      expect({ crm: s.apiCalls.crm.writes, partnerCenter: s.apiCalls.partnerCenter.writes }).toEqual({
        crm: 0,
        partnerCenter: 0,
      });
    });

    // Partner Center's fields beside the lifecycle (issue 12 items 5 and 6). Each check covers the
    // fields the adapter declares in `describe().capabilities.fieldDirections`: a CRM that does not
    // hold a field ("none") is not asked to carry it.

    it("a seller's star, sales stage and consent to be contacted reach Partner Center", async () => {
      const can = await declared(fx);
      const edits: Partial<CoSellDeal> = {};
      if (can("favorite", "toPartnerCenter")) edits.favorite = true;
      if (can("salesStage", "toPartnerCenter")) edits.salesStage = "propose";
      if (can("consentToContact", "toPartnerCenter")) edits.consentToContact = true;
      if (!Object.keys(edits).length) return;
      const { crmId, referralId } = await shareOne(fx);
      await fx.crm.update(crmId, edits);
      const summary = await sync(fx);
      expect(summary.errors).toEqual([]);
      const referral = await mustReferral(fx, referralId);
      if (edits.favorite) expect(referral.favorite).toBe(true);
      if (edits.salesStage) expect(referral.salesStage).toBe("Propose");
      if (edits.consentToContact) expect(referral.consent?.consentToContact).toBe(true);
      expect((await mustGet(fx, crmId)).status?.state).toBe("synced");
      await expectQuiet(fx);
    });

    it("a seller's help type goes to Partner Center with the invitation of Microsoft", async () => {
      const { crmId, referralId } = await shareOne(fx);
      await fx.crm.requestMicrosoftHelp(crmId, "Need a proof of concept on Azure.");
      const asked = await mustGet(fx, crmId);
      await fx.crm.update(crmId, {
        invitation: { ...asked.deal.invitation, helpType: "ProofOfConceptOrDemo" },
      });
      // A CRM without a help-type field does not hold it: nothing to carry.
      if ((await mustGet(fx, crmId)).deal.invitation.helpType !== "ProofOfConceptOrDemo") return;
      const summary = await sync(fx);
      expect(summary.errors).toEqual([]);
      const own = await mustReferral(fx, referralId);
      // On the deal's own referral or on the one that invites Microsoft to its engagement.
      const engagement = (await fx.microsoft.all()).filter(
        (r) => r.id === referralId || (!!own.engagementId && r.engagementId === own.engagementId),
      );
      expect(engagement.map((r) => r.inviteContext?.assistanceRequestCode)).toContain("ProofOfConceptOrDemo");
      await expectQuiet(fx);
    });

    it("Microsoft's star and sales stage reach the CRM", async () => {
      const can = await declared(fx);
      const setFields = fx.microsoft.setFields?.bind(fx.microsoft);
      const star = can("favorite", "toCrm");
      const stage = can("salesStage", "toCrm");
      if (!setFields || (!star && !stage)) return;
      const { crmId, referralId } = await shareOne(fx);
      await setFields(referralId, { favorite: true, salesStage: "Develop" });
      const summary = await sync(fx);
      expect(summary.errors).toEqual([]);
      const opp = await mustGet(fx, crmId);
      if (star) expect(opp.deal.favorite).toBe(true);
      if (stage) expect(opp.deal.salesStage).toBe("develop");
      await expectQuiet(fx);
    });

    it("Partner Center's own fields reach the CRM; a seller's edit of one does not reach Partner Center", async () => {
      const can = await declared(fx);
      const { crmId, referralId } = await receiveOne(fx);
      const sent = await mustReferral(fx, referralId);
      let opp = await mustGet(fx, crmId);
      // To the second: Dataverse keeps date-times without milliseconds.
      if (can("expiresAt", "toCrm"))
        expect(Math.floor(Date.parse(opp.deal.expiresAt ?? "") / 1000)).toBe(
          Math.floor(Date.parse(sent.expirationDateTime ?? "") / 1000),
        );
      if (can("sentBy", "toCrm"))
        expect(opp.deal.sentBy).toBe(sent.inviteContext?.invitedBy?.organizationName);

      // Accepted: the respond-by date is gone, in the same cycle (no write left for a quiet one).
      await fx.crm.setStage(crmId, "accepted");
      expect((await sync(fx)).errors).toEqual([]);
      opp = await mustGet(fx, crmId);
      if (can("expiresAt", "toCrm")) expect(opp.deal.expiresAt).toBeUndefined();
      await expectQuiet(fx);

      const setFields = fx.microsoft.setFields?.bind(fx.microsoft);
      if (setFields && can("microsoftOpportunityId", "toCrm")) {
        await setFields(referralId, { trackingInfo: { microsoftMsxId: "7-CONFORM01" } });
        await sync(fx);
        expect((await mustGet(fx, crmId)).deal.microsoftOpportunityId).toBe("7-CONFORM01");
        await fx.crm.update(crmId, { microsoftOpportunityId: "7-TYPED-BY-A-SELLER" });
        const edited = await sync(fx);
        expect(edited.errors).toEqual([]);
        expect(edited.apiCalls.partnerCenter.writes).toBe(0);
        expect((await mustReferral(fx, referralId)).trackingInfo?.microsoftMsxId).toBe("7-CONFORM01");
        await expectQuiet(fx);
      }

      // Won: Partner Center puts the deal in registration review; the CRM shows it in the same cycle.
      await fx.crm.setStage(crmId, "won");
      expect((await sync(fx)).errors).toEqual([]);
      const won = await mustReferral(fx, referralId);
      expect(won.substatus).toBe("Won");
      if (can("registration", "toCrm") && won.registrationStatus)
        expect((await mustGet(fx, crmId)).deal.registrationStatus).toBe(won.registrationStatus);
      await expectQuiet(fx);
    });

    it("a numeric sales stage from Partner Center fails nothing and is kept", async () => {
      const setFields = fx.microsoft.setFields?.bind(fx.microsoft);
      if (!setFields) return;
      const { crmId, referralId } = await shareOne(fx);
      await setFields(referralId, { salesStage: "100" });
      await fx.microsoft.editNotes(referralId, "Microsoft: budget confirmed.");
      const summary = await sync(fx);
      expect(summary.errors).toEqual([]);
      const opp = await mustGet(fx, crmId);
      expect(opp.deal.notes).toBe("Microsoft: budget confirmed.");
      expect(opp.status?.state).toBe("synced");
      await fx.crm.update(crmId, { closeDate: "2026-11-30" });
      expect((await sync(fx)).errors).toEqual([]);
      const referral = await mustReferral(fx, referralId);
      expect(referralToDeal(referral).closeDate).toBe("2026-11-30");
      expect(referral.salesStage).toBe("100");
      await expectQuiet(fx);
    });

    it("opting out pauses the record; opting in again resumes it", async () => {
      const { crmId, referralId } = await shareOne(fx);
      await fx.crm.setOptIn(crmId, false);
      await sync(fx);
      expect((await mustGet(fx, crmId)).status?.state).toBe("paused");
      await fx.crm.update(crmId, { closeDate: "2026-12-31" });
      const paused = await sync(fx);
      expect(paused.apiCalls.partnerCenter.writes).toBe(0);
      expect(referralToDeal(await mustReferral(fx, referralId)).closeDate).not.toBe("2026-12-31");
      await expectQuiet(fx);
      await fx.crm.setOptIn(crmId, true);
      await sync(fx);
      expect(referralToDeal(await mustReferral(fx, referralId)).closeDate).toBe("2026-12-31");
      expect((await mustGet(fx, crmId)).status?.state).toBe("synced");
      expect(await referralsFor(fx, crmId)).toHaveLength(1);
      await expectQuiet(fx);
    });
  });
}

// ── helpers ─────────────────────────────────────────────────────────────────────────────────────

/** Whether the adapter declares `field` flowing `way` (either way for "both"). */
async function declared(
  fx: ConformanceFixture,
): Promise<(field: SyncField, way: "toCrm" | "toPartnerCenter") => boolean> {
  const { capabilities } = await fx.adapter.describe();
  return (field, way) => {
    const d = capabilities.fieldDirections[field] ?? "none";
    return d === "both" || d === way;
  };
}

function deps(fx: ConformanceFixture, extra: Partial<EngineDeps> = {}): EngineDeps {
  return {
    adapter: fx.adapter,
    partnerCenter: fx.partnerCenter,
    store: fx.store,
    now: () => fx.clock.now(),
    ...extra,
  };
}

/** One cycle; then a second passes, so later edits are strictly newer than what the cycle wrote. */
async function sync(
  fx: ConformanceFixture,
  options: { rules?: Partial<SyncRules>; mode?: "incremental" | "reconcile" } = {},
): Promise<CycleSummary> {
  const { summary } = await runCycle(deps(fx, options.rules ? { rules: options.rules } : {}), {
    mode: options.mode ?? "incremental",
  });
  fx.clock.advance(1000);
  return summary;
}

/**
 * Two more cycles write nothing on either side and report no new errors (a record still known to be
 * invalid may be reported again when the CRM re-lists it: pass its key in `knownErrors`).
 */
async function expectQuiet(
  fx: ConformanceFixture,
  rules?: Partial<SyncRules>,
  knownErrors: readonly string[] = [],
): Promise<void> {
  for (let i = 1; i <= 2; i++) {
    const s = await sync(fx, { rules });
    expect(
      {
        crm: s.apiCalls.crm.writes,
        partnerCenter: s.apiCalls.partnerCenter.writes,
        errors: s.errors.filter((e) => !knownErrors.includes(e.key)),
      },
      `writes in quiet cycle ${i} (steps: ${JSON.stringify(s.steps)})`,
    ).toEqual({ crm: 0, partnerCenter: 0, errors: [] });
  }
}

/** An opted-in opportunity, shared and synced. */
async function shareOne(
  fx: ConformanceFixture,
  rules?: Partial<SyncRules>,
): Promise<{ crmId: string; referralId: string }> {
  const crmId = await fx.crm.createOpportunity(sampleDeal(), { optedIn: true });
  await sync(fx, { rules });
  const [referral] = await referralsFor(fx, crmId);
  if (!referral) throw new Error(`Fixture: opportunity ${crmId} was not shared with Partner Center.`);
  return { crmId, referralId: referral.id };
}

/** An inbound referral, synced into a CRM opportunity. */
async function receiveOne(fx: ConformanceFixture): Promise<{ crmId: string; referralId: string }> {
  const referral = await fx.microsoft.sendInbound(sampleInbound());
  await sync(fx);
  const [opp] = await oppsFor(fx, referral.id);
  if (!opp) throw new Error(`Fixture: referral ${referral.id} did not reach the CRM.`);
  return { crmId: opp.crmId, referralId: referral.id };
}

async function referralsFor(fx: ConformanceFixture, crmId: string): Promise<Referral[]> {
  return (await fx.microsoft.all()).filter((r) => r.externalReferenceId === crmId);
}

async function oppsFor(fx: ConformanceFixture, referralId: string): Promise<CrmOpportunity[]> {
  return (await fx.crm.all()).filter((o) => o.referralId === referralId);
}

async function mustGet(fx: ConformanceFixture, crmId: string): Promise<CrmOpportunity> {
  const o = await fx.crm.get(crmId);
  if (!o) throw new Error(`Opportunity ${crmId} does not exist.`);
  return o;
}

async function mustReferral(fx: ConformanceFixture, id: string): Promise<Referral> {
  const r = await fx.microsoft.get(id);
  if (!r) throw new Error(`Referral ${id} does not exist.`);
  return r;
}

function delta(after: CallStats, before: CallStats): CallStats {
  return {
    total: after.total - before.total,
    reads: after.reads - before.reads,
    writes: after.writes - before.writes,
  };
}
