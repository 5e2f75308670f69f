import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  type CycleSummary,
  createPartnerCenterClient,
  errorMessage,
  isMicrosoftInvitation,
  MemoryStateStore,
  microsoftAnswerOf,
  type Referral,
  referralToDeal,
  runCycle,
  SqliteStateStore,
  type StateStore,
  validateDeal,
} from "@cosell/core";
import { partnerCenterClientConfig, startSandbox } from "@cosell/sandbox";
import type { Logger } from "pino";
import type { CliAdapter, CrmModule } from "../crm-modules.js";
import { type AnySandbox, DEMO_SOLUTION, type DemoCrm } from "./crms.js";
import { writeKeptConfig } from "./kept-config.js";
import type { CrmDemoReport, KeptWaitingReferral } from "./report.js";

const DAY = 24 * 60 * 60 * 1000;

/** Options of one CRM's run. */
export interface ScenarioOptions {
  logger: Logger;
  /** Leave the sandbox running; state and credentials go to `keepDir`. */
  keepDir?: string;
  /** Secret values to mask in logs, reported as soon as the sandbox issues them. */
  onSecrets(values: string[]): void;
}

/** A finished run, and the sandbox when it was kept. */
export interface ScenarioResult {
  report: CrmDemoReport;
  sandbox?: AnySandbox;
  credentialsFile?: string;
  /** A cosell config pointing at the kept sandbox (secrets in files beside it). */
  configFile?: string;
  /** With `keepDir`: the referral left waiting for an answer, to try `accept`/`decline` on. */
  waiting?: KeptWaitingReferral;
}

/**
 * The first `count` of `candidates` that Partner Center would accept once a solution is added (team
 * with phone and email, customer, value…), then others to make up the number.
 */
export async function pickReadyToShare(
  adapter: CliAdapter,
  candidates: readonly string[],
  count: number,
): Promise<string[]> {
  const ready = (await adapter.read(candidates))
    .filter((r) => !r.issues?.length && validateDeal({ ...r.deal, solutions: [DEMO_SOLUTION] }).length === 0)
    .map((r) => r.crmId);
  return [...ready, ...candidates.filter((id) => !ready.includes(id))].slice(0, count);
}

function emptyReport(demo: DemoCrm, mod: CrmModule): CrmDemoReport {
  return {
    crm: demo.kind,
    title: mod.title,
    ran: false,
    setupCreated: 0,
    cycles: 0,
    deals: {
      createdInCrm: 0,
      createdInPartnerCenter: 0,
      accepted: 0,
      won: 0,
      lost: 0,
      declined: 0,
      expired: 0,
      engaged: 0,
    },
    inStep: { agree: 0, total: 0 },
    calls: { partnerCenter: 0, crm: 0, entraId: 0, graph: 0 },
    warnings: [],
    recordErrors: 0,
  };
}

/**
 * One CRM, end to end, on its own sandbox: setup, opt-ins, Microsoft's referrals and answers,
 * the sellers' accept/decline/won/lost, 15 days passing, with a sync cycle after each round.
 */
export async function runScenario(
  demo: DemoCrm,
  mod: CrmModule,
  opts: ScenarioOptions,
): Promise<ScenarioResult> {
  const report = emptyReport(demo, mod);
  const log = opts.logger.child({ crm: demo.kind });
  if (!mod.available || !mod.createAdapter || !mod.sandboxConfig) {
    report.note = `the ${mod.title} adapter (@cosell/${demo.kind}) is not in this build yet`;
    return { report };
  }
  const snapshotFile = opts.keepDir ? join(opts.keepDir, `${demo.kind}-sandbox.json`) : undefined;
  // The story spans 15 days: it starts 15 days ago, so that it ends now and a kept sandbox agrees with
  // the real clock that `cosell` commands (and their token assertions) use afterwards.
  const sandbox = (await startSandbox({
    systems: demo.systems,
    snapshotFile,
    clockStart: new Date(Date.now() - 15 * DAY),
  })) as unknown as AnySandbox;
  opts.onSecrets(sandbox.secrets());
  let adapter: CliAdapter | undefined;
  let store: StateStore | undefined;
  let keep = false;
  try {
    const now = () => sandbox.clock.now();
    const pcSection = partnerCenterClientConfig(sandbox.credentials.partnerCenter);
    const pc = createPartnerCenterClient(pcSection, {
      now,
      sleep: (ms) => new Promise((r) => setTimeout(r, Math.min(ms, 50))),
    });
    const crmSection = mod.sandboxConfig(demo.credentials(sandbox), demo.sandboxOptions?.(sandbox));
    adapter = mod.createAdapter(crmSection, {
      now,
      logger: log,
      // The sandbox asks for retries in seconds; the demo waits at most 50 ms of real time.
      sleep: (ms: number) => new Promise((r) => setTimeout(r, Math.min(ms, 50))),
    });
    store = opts.keepDir
      ? SqliteStateStore.open(join(opts.keepDir, `${demo.kind}-state.sqlite`))
      : new MemoryStateStore();

    const setup = await adapter.setup();
    report.setupCreated = setup.created.length;
    log.info({ created: setup.created.length, unchanged: setup.unchanged.length }, "CRM setup done");
    opts.onSecrets(sandbox.secrets());

    const summaries: CycleSummary[] = [];
    const cycle = async (label: string) => {
      const { summary, plan } = await runCycle(
        { adapter: adapter!, partnerCenter: pc, store: store!, now },
        { mode: "incremental" },
      );
      summaries.push(summary);
      for (const s of plan.steps)
        if (s.kind === "create") {
          if (s.side === "crm") report.deals.createdInCrm++;
          else report.deals.createdInPartnerCenter++;
        }
      log.info({ cycle: label, steps: summary.steps, errors: summary.errors.length }, "sync cycle");
      opts.onSecrets(sandbox.secrets());
      return summary;
    };
    const warn = (what: string, e: unknown) => {
      const message = `${what}: ${errorMessage(e)}`;
      report.warnings.push(message);
      log.warn({ step: what }, message);
    };

    // 1. Sellers opt three open opportunities into co-sell; Microsoft sends five referrals.
    // Sellers pick deals that are ready to share (a team member with phone and email, a customer…).
    const optedIn = await pickReadyToShare(adapter, demo.openOpportunities(sandbox), 3);
    demo.optIn(sandbox, optedIn);
    log.info({ optedIn: optedIn.length }, "sellers opted opportunities in");
    const inbound: Referral[] = [];
    for (let i = 0; i < 5; i++) inbound.push(sandbox.partnerCenter.sendInboundReferral());
    log.info({ referrals: inbound.length }, "Microsoft sent referrals");
    await cycle("first");

    // 2. Sellers answer the referrals; they invite Microsoft on two of their own deals.
    const act = async (what: string, fn: () => Promise<unknown>) => {
      try {
        await fn();
      } catch (e) {
        warn(what, e);
      }
    };
    const [a1, d2, w3, l4] = inbound;
    await act("accept", () => pc.accept(a1!.id));
    await act("decline", () =>
      pc.decline(d2!.id, "Not a fit for our solutions", {
        text: "We do not serve this region.",
        by: "cosell demo",
      }),
    );
    await act("accept", () => pc.accept(w3!.id));
    await act("accept", () => pc.accept(l4!.id));
    const outbound = store
      .listLinks()
      .filter((l) => l.direction === "outbound" && l.referralId)
      .map((l) => l.referralId!);
    const invited: string[] = [];
    for (const id of outbound.slice(0, 2))
      await act("invite Microsoft", async () => {
        const r = await pc.getReferral(id);
        const deal = referralToDeal(r);
        await pc.inviteMicrosoft(id, {
          notes: "Need Microsoft's help with an Azure migration assessment.",
          contact: deal.customer.contact ?? {
            firstName: "Dana",
            lastName: "Ito",
            email: "dana.ito@example.com",
            phone: "+1 425 555 0100",
          },
          consentToShareContact: true,
        });
        invited.push(id);
      });
    await cycle("after answers");

    // 3. Microsoft engages on one invitation and declines the other; sellers win one deal, lose one.
    if (invited[0]) await act("Microsoft engages", async () => sandbox.partnerCenter.engage(invited[0]!));
    if (invited[1])
      await act("Microsoft declines", async () =>
        sandbox.partnerCenter.decline(invited[1]!, "No capacity this quarter"),
      );
    await act("won", () => pc.markWon(w3!.id));
    await act("lost", () => pc.markLost(l4!.id, "Customer chose another vendor"));
    await cycle("after outcomes");

    // 4. Fifteen days pass, with the sync running (a cycle a week in): the referral nobody answered expires.
    sandbox.clock.advance(8 * DAY);
    await cycle("8 days later");
    sandbox.clock.advance(7 * DAY);
    sandbox.partnerCenter.expireDue();
    await cycle("15 days later");
    await cycle("quiet");

    // What both sides hold now.
    const referrals = sandbox.partnerCenter.all();
    for (const r of referrals) {
      // Microsoft's answer to an invitation is the connected referral's: engaged once it accepted.
      if (isMicrosoftInvitation(r)) {
        if (microsoftAnswerOf(r) === "accepted") report.deals.engaged++;
        continue;
      }
      const d = referralToDeal(r);
      if (d.stage === "accepted") report.deals.accepted++;
      else if (d.stage === "won") report.deals.won++;
      else if (d.stage === "lost") report.deals.lost++;
      else if (d.stage === "declined") report.deals.declined++;
      else if (d.stage === "expired") report.deals.expired++;
    }
    const links = store.listLinks().filter((l) => l.crmId && l.referralId);
    const crmRecords = new Map((await adapter.read(links.map((l) => l.crmId!))).map((r) => [r.crmId, r]));
    const byId = new Map(referrals.map((r) => [r.id, r]));
    for (const l of links) {
      const r = byId.get(l.referralId!);
      const rec = crmRecords.get(l.crmId!);
      if (!r || !rec) continue;
      report.inStep.total++;
      if (rec.deal.stage === referralToDeal(r).stage) report.inStep.agree++;
    }
    report.cycles = summaries.length;
    const errors = store.listRecordErrors();
    report.recordErrors = errors.length;
    for (const e of errors.slice(0, 3))
      report.warnings.push(`record ${e.key} not synced: ${e.code}: ${e.message}`);
    const calls = sandbox.log.callsByServer();
    const total = (name: string) => (calls[name]?.reads ?? 0) + (calls[name]?.writes ?? 0);
    report.calls = {
      partnerCenter: total("partner-center"),
      crm: demo.crmServers.reduce((n, s) => n + total(s), 0),
      entraId: total("entra"),
      graph: total("graph"),
    };
    report.ran = true;
    opts.onSecrets(sandbox.secrets());

    if (opts.keepDir) {
      keep = true;
      // Something to try by hand: a fresh referral from Microsoft, synced into the CRM and waiting for
      // a seller's answer (the scripted ones are all answered or expired by now).
      const waiting = sandbox.partnerCenter.sendInboundReferral();
      await cycle("a referral left waiting for --keep");
      report.cycles = summaries.length;
      const waitingLink = store.listLinks().find((l) => l.referralId === waiting.id);
      mkdirSync(opts.keepDir, { recursive: true });
      const credentialsFile = join(opts.keepDir, `${demo.kind}-credentials.json`);
      writeFileSync(
        credentialsFile,
        `${JSON.stringify({ urls: sandbox.urls, credentials: sandbox.credentials }, null, 2)}\n`,
        { mode: 0o600 },
      );
      const configFile = writeKeptConfig(
        opts.keepDir,
        demo.kind,
        { partnerCenter: pcSection, crm: crmSection },
        `${demo.kind}-state.sqlite`,
      );
      return {
        report,
        sandbox,
        credentialsFile,
        configFile,
        waiting: {
          referralId: waiting.id,
          name: waiting.name ?? "",
          crmId: waitingLink?.crmId,
          ...(waitingLink?.crmId ? { sellerEdit: demo.sellerEdit(waitingLink.crmId) } : {}),
        },
      };
    }
    return { report };
  } catch (e) {
    report.note = `failed: ${errorMessage(e)}`;
    report.ran = false;
    report.failed = true;
    log.error({ err: { message: errorMessage(e) } }, "demo run failed");
    return { report };
  } finally {
    store?.close();
    await adapter?.close?.();
    if (!keep) await sandbox.stop();
  }
}
