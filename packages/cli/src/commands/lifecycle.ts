import { userInfo } from "node:os";
import { type ActionNote, createPartnerCenterClient, type Referral, referralToDeal } from "@cosell/core";
import type { Command } from "commander";
import { action, type ExitBox } from "../command-action.js";
import type { CommandContext } from "../context.js";

type Act = "accept" | "decline" | "won" | "lost";

const DESCRIPTIONS: Record<Act, string> = {
  accept: "accept an inbound referral (New/Pending → Active/Accepted)",
  decline: "decline an inbound referral (New/Pending → Closed/Declined); --reason required",
  won: "close an accepted deal as won",
  lost: "close an accepted deal as lost; --reason required",
};

/** Who signs a note: `--by`, else the OS user name (a container may have none). */
function signer(by: string | undefined, env: NodeJS.ProcessEnv): string {
  if (by?.trim()) return by.trim();
  try {
    return userInfo().username || env.USER || "unknown user";
  } catch {
    return env.USER || env.USERNAME || "unknown user";
  }
}

/** `cosell accept|decline|won|lost <id>`: Partner Center lifecycle actions for admins. */
export function registerLifecycle(program: Command, ctx: CommandContext, box: ExitBox): void {
  for (const act of ["accept", "decline", "won", "lost"] as const) {
    const cmd = program
      .command(`${act} <referralId>`)
      .description(DESCRIPTIONS[act])
      .option(
        "--notes <text>",
        "a note to add to the referral's notes, dated and signed (the notes already there stay)",
      )
      .option("--by <name>", "who signs the note (default: your user name)");
    if (act === "decline" || act === "lost")
      cmd.requiredOption("--reason <text>", "why (shown to Microsoft)");
    cmd.action(
      action(ctx, box, async (id: string, opts: { reason?: string; notes?: string; by?: string }) => {
        const loaded = ctx.config();
        const pc = createPartnerCenterClient(loaded.config.partnerCenter);
        const note: ActionNote | undefined = opts.notes?.trim()
          ? { text: opts.notes, by: `${signer(opts.by, ctx.io.env)} (cosell ${act})` }
          : undefined;
        let r: Referral;
        if (act === "accept") r = await pc.accept(id, {}, note);
        else if (act === "decline") r = await pc.decline(id, opts.reason!, note);
        else if (act === "won") r = await pc.markWon(id, note);
        else r = await pc.markLost(id, opts.reason!, note);
        const deal = referralToDeal(r);
        ctx.logger().info({ referralId: id, action: act, stage: deal.stage }, "lifecycle action");
        ctx.output(
          { ok: true, referralId: id, stage: deal.stage, referral: r },
          () => `${deal.name}: ${deal.stage}.${note ? " Note added to the referral's notes." : ""}`,
        );
        return 0;
      }),
    );
  }
}
