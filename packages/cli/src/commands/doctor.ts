import { CoSellError, createPartnerCenterClient, errorMessage } from "@cosell/core";
import type { Command } from "commander";
import type { CommandContext } from "../context.js";
import { action, type ExitBox } from "../program.js";
import { table } from "../render/table.js";
import { createAdapter } from "../runtime.js";

/** One doctor check. */
export interface DoctorCheck {
  name: string;
  ok: boolean;
  detail: string;
  /** One line telling how to fix a failure. */
  fix?: string;
}

const fixOf = (e: unknown) =>
  e instanceof CoSellError
    ? `${e.code}: ${e.message}`
    : `Check the setting and the network: ${errorMessage(e)}`;

/** Runs every check; never throws. */
export async function runDoctor(ctx: CommandContext): Promise<DoctorCheck[]> {
  const checks: DoctorCheck[] = [];
  let loaded: ReturnType<CommandContext["config"]>;
  try {
    loaded = ctx.config();
    checks.push({
      name: "config",
      ok: true,
      detail: `${loaded.file} is valid (crm: ${loaded.config.crm.kind})`,
    });
  } catch (e) {
    checks.push({ name: "config", ok: false, detail: errorMessage(e), fix: fixOf(e) });
    return checks;
  }
  try {
    const pc = createPartnerCenterClient(loaded.config.partnerCenter);
    for await (const page of pc.listReferrals({ pageSize: 1 })) {
      checks.push({
        name: "Partner Center credential",
        ok: true,
        detail: `token issued and referrals readable (${page.length ? "some" : "none yet"})`,
      });
      break;
    }
    if (!checks.some((c) => c.name === "Partner Center credential"))
      checks.push({
        name: "Partner Center credential",
        ok: true,
        detail: "token issued and referrals readable (none yet)",
      });
  } catch (e) {
    checks.push({
      name: "Partner Center credential",
      ok: false,
      detail: errorMessage(e),
      fix:
        e instanceof CoSellError
          ? `${e.code}: check partnerCenter.tenantId, clientId and the secret or certificate; the app needs the Partner Center API permission (see docs/config.md).`
          : "Check partnerCenter.apiBaseUrl and that this machine can reach it.",
    });
  }
  try {
    const adapter = createAdapter(loaded, ctx.logger());
    try {
      const d = await adapter.describe();
      checks.push({
        name: "CRM credential",
        ok: true,
        detail: `${d.kind} at ${d.instance} (change feed: ${d.capabilities.changeFeed}, batch ${d.capabilities.batchSize})`,
      });
      const report = await adapter.verifySetup();
      for (const c of report.checks) checks.push({ name: c.name, ok: c.ok, detail: c.detail, fix: c.fix });
    } finally {
      await adapter.close?.();
    }
  } catch (e) {
    checks.push({ name: "CRM credential", ok: false, detail: errorMessage(e), fix: fixOf(e) });
  }
  return checks;
}

/** `cosell doctor`: config, credentials, permissions, custom fields, change tracking, API limits. */
export function registerDoctor(program: Command, ctx: CommandContext, box: ExitBox): void {
  program
    .command("doctor")
    .description(
      "check the config, every credential, permissions, custom fields, change tracking and API limits",
    )
    .action(
      action(ctx, box, async () => {
        const checks = await runDoctor(ctx);
        const ok = checks.every((c) => c.ok);
        ctx.output({ ok, checks }, () =>
          [
            table(
              ["", "check", "detail"],
              checks.map((c) => [c.ok ? "ok" : "FAIL", c.name, c.detail]),
              90,
            ),
            ...checks.filter((c) => !c.ok && c.fix).map((c) => `fix ${c.name}: ${c.fix}`),
            ok ? "\nAll checks passed." : `\n${checks.filter((c) => !c.ok).length} check(s) failed.`,
          ].join("\n"),
        );
        return ok ? 0 : 1;
      }),
    );
}
