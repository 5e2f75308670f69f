import { type DealView, dealsInView } from "@cosell/core";
import { Argument, type Command } from "commander";
import { action, type ExitBox } from "../command-action.js";
import type { CommandContext } from "../context.js";
import { knownDeals, renderDeals } from "../render/status.js";
import { openStore } from "../runtime.js";

/** `cosell deals inbound|outbound|favorites`: the seed's three views, from the state store. */
export function registerDeals(program: Command, ctx: CommandContext, box: ExitBox): void {
  program
    .command("deals")
    .description("list co-sell deals cosell knows: inbound, outbound or favorites (no remote calls)")
    .addArgument(new Argument("<view>", "which view").choices(["inbound", "outbound", "favorites"]))
    .action(
      action(ctx, box, (view: DealView) => {
        const store = openStore(ctx.config());
        try {
          ctx.output({ ok: true, view, deals: dealsInView(knownDeals(store), view) }, () =>
            renderDeals(store, view),
          );
        } finally {
          store.close();
        }
        return 0;
      }),
    );
}
