import { randomUUID } from "node:crypto";
import {
  ConfigError,
  type CrmRecord,
  type PartnerCenterPort,
  type Referral,
  referralToDeal,
  resolveRules,
  runCycle,
} from "@cosell/core";
import type { Command } from "commander";
import { type LinkFieldOutcome, type LinkPlan, planLink, WINNER_TEXT } from "../backfill/link-plan.js";
import { findLinkCandidates, type LinkCandidate } from "../backfill/match.js";
import { createProgress } from "../backfill/progress.js";
import { action, type ExitBox } from "../command-action.js";
import type { CommandContext } from "../context.js";
import type { CliAdapter } from "../crm-modules.js";
import { renderSummary } from "../render/plan.js";
import { table } from "../render/table.js";
import { openRuntime } from "../runtime.js";

/** `cosell backfill`: first load with link-before-create, candidate links for approval, progress bar. */
export function registerBackfill(program: Command, ctx: CommandContext, box: ExitBox): void {
  program
    .command("backfill")
    .description(
      "first load: link existing opportunities and referrals (stored ids, CRM id, customer name + postal code), then sync everything",
    )
    .option("-y, --yes", "accept every candidate link without asking", false)
    .option("--dry-run", "show the candidate links and stop", false)
    .action(
      action(ctx, box, async (opts: { yes: boolean; dryRun: boolean }) => {
        const loaded = ctx.config();
        const log = ctx.logger();
        const rt = openRuntime(loaded, log, { command: "cosell backfill" });
        try {
          await rt.checkSignIn();
          const records: CrmRecord[] = [];
          for await (const page of rt.adapter.changes(undefined, { overlapMs: 0 }))
            records.push(...page.records);
          const referrals: Referral[] = [];
          for await (const page of rt.partnerCenter.listReferrals({})) referrals.push(...page);
          // Referrals that name a CRM record the change feed left out (not opted in yet): read those too.
          const seen = new Set(records.map((r) => r.crmId));
          const named = [
            ...new Set(referrals.map((r) => r.externalReferenceId).filter((id): id is string => !!id)),
          ].filter((id) => !seen.has(id));
          if (named.length) records.push(...(await rt.adapter.read(named)));
          const found: LinkCandidate[] = findLinkCandidates(records, referrals, rt.store);
          // Linking follows the conflict policy: per candidate, which side wins each differing field.
          const rules = resolveRules(
            loaded.config.sync,
            (await rt.adapter.describe()).capabilities.fieldDirections,
          );
          const now0 = new Date();
          const baselines = new Map<string, LinkPlan["baseline"]>();
          const candidates = found.map((c) => {
            const plan = planLink(
              records.find((r) => r.crmId === c.crmId)!,
              referrals.find((r) => r.id === c.referralId)!,
              rules,
              now0,
            );
            baselines.set(`${c.crmId} ${c.referralId}`, plan.baseline);
            return { ...c, fields: plan.fields };
          });
          const approved: LinkCandidate[] = [];
          /** Answered "no": different deals, each side gets its own counterpart. */
          const rejected: LinkCandidate[] = [];
          for (const c of candidates) {
            if (!c.needsApproval || opts.yes) approved.push(c);
            else if (ctx.io.interactive && ctx.io.ask && !ctx.json && !opts.dryRun) {
              const differences = c.fields.length
                ? `${fieldTable(c.fields)}\n`
                : "Both sides already agree on every synced field.\n";
              const a = await ctx.io.ask(
                `${differences}Link CRM "${c.crmName}" (${c.crmId}) to referral "${c.referralName}" (${c.customer})? [y/N] `,
              );
              (/^y(es)?$/i.test(a.trim()) ? approved : rejected).push(c);
            }
          }
          /** Not answered: syncing now would create duplicates of these, so nothing is written. */
          const waiting = candidates.filter((c) => !approved.includes(c) && !rejected.includes(c));
          if (!ctx.json && candidates.length)
            ctx.print(
              `Candidate links (${candidates.length}):\n${table(
                ["", "crm id", "opportunity", "referral", "customer", "matched by"],
                candidates.map((c) => [
                  approved.includes(c) ? "link" : rejected.includes(c) ? "no" : "ask",
                  c.crmId,
                  c.crmName,
                  c.referralId,
                  c.customer,
                  c.basis,
                ]),
              )}\n`,
            );
          if (!ctx.json)
            for (const c of candidates.filter((x) => x.fields.length))
              ctx.print(
                `\n${c.crmId} ↔ ${c.referralId}: the sync after linking settles each difference by the conflict policy (sync.conflictPolicy: ${loaded.config.sync.conflictPolicy}):\n${fieldTable(c.fields)}\n`,
              );
          if (opts.dryRun) {
            // Silence would read as "did it even look?": say plainly that nothing matched.
            if (!candidates.length)
              ctx.print("No candidates: no existing opportunity and referral look like the same deal.");
            ctx.printJson({ ok: true, dryRun: true, candidates });
            return 0;
          }
          if (waiting.length)
            throw new ConfigError(
              "BACKFILL_APPROVAL_NEEDED",
              `${waiting.length} candidate link(s) matched only by customer name + postal code wait for approval; nothing was written. Run \`cosell backfill --yes\` to accept them, or run it on a terminal to answer one by one.`,
              { waiting: waiting.map((c) => ({ crmId: c.crmId, referralId: c.referralId })) },
            );
          const now = new Date().toISOString();
          rt.store.transaction(() => {
            for (const c of approved) {
              const r = referrals.find((x) => x.id === c.referralId)!;
              rt.store.putLink({
                linkId: randomUUID(),
                crmId: c.crmId,
                referralId: c.referralId,
                direction: referralToDeal(r).direction,
                state: "linked",
                // Not "the referral is the source": the baseline makes each differing field's winner
                // the one the conflict policy names (see planLink).
                baseline: baselines.get(`${c.crmId} ${c.referralId}`),
                referral: r,
                createdAt: now,
                updatedAt: now,
              });
            }
          });
          log.info({ linked: approved.length, rejected: rejected.length }, "backfill links written");
          const progress = createProgress(ctx.io.stderr, ctx.terminalLines());
          progress.start(records.length + referrals.length);
          let summary: Awaited<ReturnType<typeof runCycle>>["summary"];
          try {
            ({ summary } = await runCycle(
              {
                adapter: counting(rt.adapter, (n) => progress.tick(n)),
                partnerCenter: countingPc(rt.partnerCenter, (n) => progress.tick(n)),
                store: rt.store,
                rules: loaded.config.sync,
              },
              { mode: "reconcile" },
            ));
          } finally {
            progress.stop();
          }
          ctx.output(
            {
              ok: true,
              records: records.length,
              referrals: referrals.length,
              linked: approved,
              rejected,
              summary,
            },
            () =>
              [
                `Read ${records.length} CRM record(s) and ${referrals.length} referral(s); linked ${approved.length} existing pair(s).`,
                rejected.length
                  ? `${rejected.length} candidate(s) declined: each side gets its own counterpart.`
                  : "",
                renderSummary(summary),
              ]
                .filter(Boolean)
                .join("\n"),
          );
          return 0;
        } finally {
          await rt.close();
        }
      }),
    );
}

/** One line per differing field: both values and who wins. */
function fieldTable(fields: readonly LinkFieldOutcome[]): string {
  return table(
    ["field", "CRM", "Partner Center", "after linking"],
    fields.map((f) => [f.field, f.crm, f.partnerCenter, WINNER_TEXT[f.winner]]),
    40,
  );
}

/** The adapter, reporting how many records each change page carried. */
function counting(adapter: CliAdapter, tick: (n: number) => void): CliAdapter {
  return {
    describe: () => adapter.describe(),
    async *changes(cursor, options) {
      for await (const page of adapter.changes(cursor, options)) {
        yield page;
        tick(page.records.length);
      }
    },
    read: (ids) => adapter.read(ids),
    apply: (w) => adapter.apply(w),
    setup: () => adapter.setup(),
    verifySetup: () => adapter.verifySetup(),
    stats: () => adapter.stats(),
  };
}

function countingPc(pc: PartnerCenterPort, tick: (n: number) => void): PartnerCenterPort {
  return {
    async *listReferrals(filter) {
      for await (const page of pc.listReferrals(filter)) {
        yield page;
        tick(page.length);
      }
    },
    getReferral: (id) => pc.getReferral(id),
    createReferral: (b, o) => pc.createReferral(b, o),
    updateReferral: (id, r, e, base) => pc.updateReferral(id, r, e, base),
    listRelatedReferrals: (engagementId) => pc.listRelatedReferrals(engagementId),
    createInvitation: (main, request) => pc.createInvitation(main, request),
    stats: () => pc.stats(),
  };
}
