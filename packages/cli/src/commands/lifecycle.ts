import { createPartnerCenterClient, type Referral, referralToDeal } from "@cosell/core";
import type { Command } from "commander";
import type { CommandContext } from "../context.js";
import { action, type ExitBox } from "../program.js";

type Act = "accept" | "decline" | "won" | "lost";

const DESCRIPTIONS: Record<Act, string> = {
  accept: "accept an inbound referral (Received → Accepted)",
  decline: "decline an inbound referral (Received → Declined); --reason required",
  won: "close an accepted deal as won",
  lost: "close an accepted deal as lost; --reason required",
};

/** `cosell accept|decline|won|lost <id>`: Partner Center lifecycle actions for admins. */
export function registerLifecycle(program: Command, ctx: CommandContext, box: ExitBox): void {
  for (const act of ["accept", "decline", "won", "lost"] as const) {
    const cmd = program
      .command(`${act} <referralId>`)
      .description(DESCRIPTIONS[act])
      .option("--notes <text>", "notes to store with the action");
    if (act === "decline" || act === "lost")
      cmd.requiredOption("--reason <text>", "why (shown to Microsoft)");
    cmd.action(
      action(ctx, box, async (id: string, opts: { reason?: string; notes?: string }) => {
        const loaded = ctx.config();
        const pc = createPartnerCenterClient(loaded.config.partnerCenter);
        let r: Referral;
        if (act === "accept") r = await pc.accept(id, opts.notes ? { notes: opts.notes } : undefined);
        else if (act === "decline") r = await pc.decline(id, opts.reason!, opts.notes);
        else if (act === "won") r = await pc.markWon(id);
        else r = await pc.markLost(id, opts.reason!);
        const deal = referralToDeal(r);
        ctx.logger().info({ referralId: id, action: act, stage: deal.stage }, "lifecycle action");
        ctx.output(
          { ok: true, referralId: id, stage: deal.stage, referral: r },
          () => `${deal.name}: ${deal.stage}.`,
        );
        return 0;
      }),
    );
  }
}
