/**
 * The sandbox of the workers bench, in a process of its own (so the workers' figures never include
 * the emulators' work, and the emulators get their own event loop). Starts one sandbox per tenant
 * (its own Entra ID, Partner Center account and CRM, as each real partner has), runs the adapter's
 * setup, seeds `deals` opted-in opportunities in bulk and writes the tenant's cosell config with its
 * secrets as `env:` references. Prints one JSON line — the tenants and the environment the cosell
 * processes need — then runs until SIGTERM.
 *
 * With `latencyMs`, every answer of the tenants' Partner Center and CRM waits that long first, set
 * after seeding (as a remote service's round trip would; the fault kit leaves Entra ID out).
 *
 * argv[2]: JSON { dir, kinds: ("dynamics"|"salesforce")[], deals, names?: string[], latencyMs?: number }.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CRM_MODULES, SECRET_KEYS } from "@cosell/cli";
import { startSandbox } from "@cosell/sandbox";
import { partnerCenterSection, secretsByReference } from "../../packages/cli/test/helpers/serve-rig.mjs";
import { TARGETS } from "./targets.mjs";

/** The CRM section the CLI reads, for the same adapter settings the bench's targets use. */
function crmSection(kind, sb) {
  return kind === "salesforce"
    ? CRM_MODULES.salesforce.sandboxConfig?.(sb.credentials.salesforce, { teamIncludesOwner: true })
    : CRM_MODULES.dynamics.sandboxConfig?.(sb.credentials.dataverse, { graphUrl: sb.urls.graph });
}

async function main() {
  const { dir, kinds, deals, names, latencyMs } = JSON.parse(process.argv[2] ?? "{}");
  /** @type {Record<string, string>} */
  const env = {};
  const tenants = [];
  const sandboxes = [];
  const loaded = {};
  for (const [i, kind] of kinds.entries()) {
    const target = TARGETS[kind];
    loaded[kind] ??= await target.load();
    if (!loaded[kind].ok) throw new Error(loaded[kind].reason);
    const mod = loaded[kind].mod;
    const name = names?.[i] ?? `t${String(i).padStart(3, "0")}`;
    const sb = /** @type {any} */ (await startSandbox({ systems: target.systems, seed: i + 1 }));
    sandboxes.push(sb);
    await target.adapter(mod, sb).setup();
    sb.dataverse?.activateKeys?.();
    target.seed(mod, sb, deals);
    if (latencyMs > 0) sb.faults.setRates({ latencyMs });
    const crm = crmSection(kind, sb);
    const config = {
      partnerCenter: secretsByReference(await partnerCenterSection(sb), env, `${name}_pc`, SECRET_KEYS),
      crm: secretsByReference(crm, env, `${name}_crm`, SECRET_KEYS),
      state: { path: "state.sqlite" },
      log: { level: "warn" },
    };
    const tenantDir = join(dir, name);
    mkdirSync(tenantDir, { recursive: true });
    const configPath = join(tenantDir, "cosell.json");
    writeFileSync(configPath, JSON.stringify(config, null, 2));
    // The raw settings too: the store comparison builds the engine in the bench process itself.
    tenants.push({ name, kind, configPath, partnerCenter: sb.credentials.partnerCenter, crm });
  }
  process.stdout.write(`${JSON.stringify({ tenants, env })}\n`);
  const stop = async () => {
    for (const sb of sandboxes) await sb.stop().catch(() => undefined);
    process.exit(0);
  };
  process.on("SIGTERM", () => void stop());
  process.on("SIGINT", () => void stop());
}

main().catch((e) => {
  process.stderr.write(`${e?.stack ?? e}\n`);
  process.exit(1);
});
