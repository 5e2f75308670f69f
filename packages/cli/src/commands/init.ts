import { existsSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { ConfigError } from "@cosell/core";
import { type Command, Option } from "commander";
import type { CommandContext } from "../context.js";
import type { CrmKind } from "../crm-modules.js";
import { action, type ExitBox } from "../program.js";
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

/** `cosell init`: writes a commented config file (questions on a terminal, flags otherwise). */
export function registerInit(program: Command, ctx: CommandContext, box: ExitBox): void {
  program
    .command("init")
    .description("write a commented config file for Salesforce or Dynamics 365 (asks on a terminal)")
    .addOption(new Option("--crm <kind>", "which CRM").choices(["salesforce", "dynamics"]))
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
        if (!crm) {
          const c = await ask("CRM (salesforce or dynamics)", undefined, "salesforce");
          if (c !== "salesforce" && c !== "dynamics")
            throw new ConfigError("INIT_BAD_CRM", `--crm: "${c}" — use salesforce or dynamics.`, {
              key: "crm",
            });
          crm = c;
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
