import type { Command } from "commander";
import type { CommandContext } from "../context.js";
import { action, type ExitBox } from "../program.js";
import { renderStatus } from "../render/status.js";
import { openStore } from "../runtime.js";

/** `cosell status`: last cycles, link counts, parked conflicts, failing records. Reads only the state store. */
export function registerStatus(program: Command, ctx: CommandContext, box: ExitBox): void {
  program
    .command("status")
    .description("last sync cycles, link counts, parked conflicts and failing records (no remote calls)")
    .option("--cycles <n>", "how many recent cycles to show", "5")
    .action(
      action(ctx, box, (opts: { cycles: string }) => {
        const store = openStore(ctx.config());
        try {
          const links = store.listLinks();
          const byState: Record<string, number> = {};
          for (const l of links) byState[l.state] = (byState[l.state] ?? 0) + 1;
          ctx.output(
            {
              ok: true,
              cycles: store.listCycles(Number(opts.cycles) || 5),
              links: { total: links.length, byState },
              parked: store.listParked(),
              failing: store.listRecordErrors(),
              outbox: store.listOutbox(),
            },
            () => renderStatus(store),
          );
        } finally {
          store.close();
        }
        return 0;
      }),
    );
}
