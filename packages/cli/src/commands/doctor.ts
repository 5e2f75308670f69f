import {
  CoSellError,
  createPartnerCenterClient,
  createPartnerCenterTokens,
  errorMessage,
  isUserTokenProvider,
  type PartnerCenterClientConfig,
  SignInRequiredError,
} from "@cosell/core";
import type { Command } from "commander";
import { action, type ExitBox } from "../command-action.js";
import type { CommandContext } from "../context.js";
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

/**
 * The Partner Center checks: who is signed in (or that app-only is configured, which Microsoft refuses
 * for referrals), then one referral read with that sign-in.
 */
async function partnerCenterChecks(pcConfig: PartnerCenterClientConfig): Promise<DoctorCheck[]> {
  const checks: DoctorCheck[] = [];
  let tokens: ReturnType<typeof createPartnerCenterTokens>;
  try {
    tokens = createPartnerCenterTokens(pcConfig);
  } catch (e) {
    return [{ name: "Partner Center sign-in", ok: false, detail: errorMessage(e), fix: fixOf(e) }];
  }
  if (isUserTokenProvider(tokens)) {
    const cache = pcConfig.auth.kind === "user" ? pcConfig.auth.tokenCache : "";
    try {
      const account = await tokens.account();
      if (!account) {
        checks.push({
          name: "Partner Center sign-in",
          ok: false,
          detail: `nobody is signed in (token cache ${cache})`,
          fix: "run `cosell login` as the service user and sign in as a Partner Center user with the Referral Admin role.",
        });
        return checks;
      }
      checks.push({
        name: "Partner Center sign-in",
        ok: true,
        detail: `signed in as ${account.username} (tenant ${account.tenantId}); token cache ${cache}`,
      });
    } catch (e) {
      checks.push({ name: "Partner Center sign-in", ok: false, detail: errorMessage(e), fix: fixOf(e) });
      return checks;
    }
  } else
    checks.push({
      name: "Partner Center sign-in",
      ok: true,
      detail:
        "auth.kind app: app-only client credentials. Microsoft documents that the Referrals API accepts only a signed-in user; expect 403 on a real tenant (set auth.kind: user and run `cosell login`).",
    });
  try {
    const pc = createPartnerCenterClient(pcConfig, { tokens });
    let some = false;
    for await (const page of pc.listReferrals({ pageSize: 1 })) {
      some = page.length > 0;
      break;
    }
    checks.push({
      name: "Partner Center credential",
      ok: true,
      detail: `token issued and referrals readable (${some ? "some" : "none yet"})`,
    });
  } catch (e) {
    checks.push({
      name: "Partner Center credential",
      ok: false,
      detail: errorMessage(e),
      fix:
        e instanceof SignInRequiredError
          ? `${e.code}: the sign-in must be repeated — run \`cosell login\` as the service user.`
          : e instanceof CoSellError
            ? `${e.code}: check partnerCenter.tenantId and clientId, the app's Partner Center API permission, and that the signed-in user holds the Referral Admin role (see docs/signin.md).`
            : "Check partnerCenter.apiBaseUrl and that this machine can reach it.",
    });
  }
  return checks;
}

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
  checks.push(...(await partnerCenterChecks(loaded.config.partnerCenter)));
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
