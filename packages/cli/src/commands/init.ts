import { existsSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { ConfigError } from "@cosell/core";
import { type Command, InvalidArgumentError, Option } from "commander";
import { action, type ExitBox } from "../command-action.js";
import type { CommandContext } from "../context.js";
import type { CrmKind } from "../crm-modules.js";
import { configTemplate, type InitAnswers } from "./init-templates.js";

interface InitOptions {
  crm?: CrmKind;
  tenantId?: string;
  clientId?: string;
  crmUrl?: string;
  crmClientId?: string;
  username?: string;
  force: boolean;
}

const PLACEHOLDER = "00000000-0000-0000-0000-000000000000";

/** What a person may type for each CRM (lower-cased first). */
const CRM_ANSWERS: Readonly<Record<string, "salesforce" | "dynamics">> = {
  salesforce: "salesforce",
  sf: "salesforce",
  sfdc: "salesforce",
  dynamics: "dynamics",
  "dynamics 365": "dynamics",
  dynamics365: "dynamics",
  d365: "dynamics",
  dataverse: "dynamics",
};

/** `--crm`: any case, the usual short names; anything else is refused with the two choices. */
function crmKind(value: string): "salesforce" | "dynamics" {
  const kind = CRM_ANSWERS[value.trim().toLowerCase()];
  if (!kind)
    throw new InvalidArgumentError(`"${value}" is not a CRM cosell knows: use salesforce or dynamics.`);
  return kind;
}

/** `cosell init`: writes a commented config file (questions on a terminal, flags otherwise). */
export function registerInit(program: Command, ctx: CommandContext, box: ExitBox): void {
  program
    .command("init")
    .description("write a commented config file for Salesforce or Dynamics 365 (asks on a terminal)")
    .addOption(new Option("--crm <kind>", "which CRM: salesforce or dynamics (any case)").argParser(crmKind))
    .option("--tenant-id <id>", "Entra ID tenant id")
    .option("--client-id <id>", "Partner Center app (client) id")
    .option("--crm-url <url>", "Salesforce login URL or Dynamics environment URL")
    .option("--crm-client-id <id>", "CRM connected app / app registration id")
    .option("--username <user>", "Salesforce integration user")
    .option("--force", "overwrite an existing file", false)
    .action(
      action(ctx, box, async (opts: InitOptions) => {
        const file = resolve(ctx.io.cwd, ctx.configPath);
        if (existsSync(file) && !opts.force)
          throw new ConfigError("CONFIG_EXISTS", `${file} already exists. Pass --force to overwrite it.`, {
            file,
          });
        const ask = async (q: string, given: string | undefined, fallback: string) => {
          if (given !== undefined) return given;
          if (!ctx.io.interactive || !ctx.io.ask) return fallback;
          return (await ctx.io.ask(`${q} [${fallback}]: `)).trim() || fallback;
        };
        let crm = opts.crm;
        if (!crm && (!ctx.io.interactive || !ctx.io.ask))
          // No terminal to ask on (a pipe, CI, a script): say what is being written instead of
          // silently choosing for the user.
          ctx.io.stderr.write(
            "cosell init: standard input is not a terminal, so nothing is asked: writing a Salesforce config with placeholders. Pass --crm dynamics for Dynamics 365, and the --tenant-id/--client-id/--crm-url flags for real values.\n",
          );
        for (let tries = 0; !crm; tries++) {
          const c = await ask("CRM (salesforce or dynamics)", undefined, "salesforce");
          const kind = CRM_ANSWERS[c.trim().toLowerCase()];
          if (kind) crm = kind;
          else if (tries >= 2)
            throw new ConfigError("INIT_BAD_CRM", `--crm: "${c}" — use salesforce or dynamics.`, {
              key: "crm",
            });
          else ctx.io.stderr.write(`"${c}" is not a CRM cosell knows: answer salesforce or dynamics.\n`);
        }
        const answers: InitAnswers = {
          crm,
          tenantId: await ask("Entra ID tenant id", opts.tenantId, PLACEHOLDER),
          clientId: await ask("Partner Center app (client) id", opts.clientId, PLACEHOLDER),
          crmUrl: await ask(
            crm === "salesforce" ? "Salesforce login URL" : "Dynamics environment URL",
            opts.crmUrl,
            crm === "salesforce" ? "https://login.salesforce.com" : "https://yourorg.crm.dynamics.com",
          ),
          crmClientId: await ask(
            crm === "salesforce" ? "Connected app consumer key" : "Dataverse app (client) id",
            opts.crmClientId,
            crm === "salesforce" ? "your-consumer-key" : PLACEHOLDER,
          ),
          username:
            crm === "salesforce"
              ? await ask("Integration user", opts.username, "cosell-integration@example.com")
              : undefined,
        };
        writeFileSync(file, configTemplate(answers), { mode: 0o600 });
        ctx.output({ ok: true, file, crm }, () =>
          [
            `Wrote ${file} (${crm}).`,
            "Next: set the secrets it references (env:…/file:…), then run `cosell setup " +
              crm +
              "` and `cosell doctor`.",
          ].join("\n"),
        );
        return 0;
      }),
    );
}
