import { RemoteApiError, type SetupValidation } from "@cosell/core";
import type { SalesforceClient } from "./client.js";
import type { SalesforceConfig } from "./config.js";
import type { Row } from "./mapping.js";
import { packageComponents } from "./metadata-package.js";
import { metadataZip } from "./metadata-zip.js";

/** How long `cosell setup --check-only` waits for Salesforce to finish validating. */
const MAX_WAIT_MS = 15 * 60_000;

const asList = (v: unknown): Row[] =>
  (Array.isArray(v) ? v : v ? [v] : []).filter((x): x is Row => !!x && typeof x === "object");

/**
 * A check-only deploy of everything setup puts in the org (developer.salesforce.com/docs/atlas.en-us.
 * api_meta.meta/api_meta/meta_deploy.htm, DeployOptions.checkOnly): Salesforce checks every component
 * and every reference between them and saves nothing. Polls `checkDeployStatus` (0.5 s, then longer,
 * up to 5 s) with a progress line per status, as the Salesforce CLI does.
 */
export async function validateSetup(
  client: SalesforceClient,
  config: SalesforceConfig,
  deps: { sleep(ms: number): Promise<void>; now(): Date; onProgress?: (line: string) => void },
): Promise<SetupValidation> {
  const components = packageComponents(config);
  const id = await client.deployZip(metadataZip(components, config.apiVersion), { checkOnly: true });
  deps.onProgress?.(`Validating ${components.length} components (check-only deploy ${id})`);
  const started = deps.now().getTime();
  let wait = 500;
  let last = "";
  for (;;) {
    const r = await client.checkDeployStatus(id);
    const line = `${String(r.status)}: ${Number(r.numberComponentsDeployed ?? 0)}/${Number(r.numberComponentsTotal ?? components.length)} components checked`;
    if (line !== last) deps.onProgress?.(line);
    last = line;
    if (r.done === true || r.done === "true") {
      const details = (r.details ?? {}) as Row;
      const failures = asList(details.componentFailures).map((f) => ({
        component: `${String(f.componentType ?? "")} ${String(f.fullName ?? f.fileName ?? "")}`.trim(),
        problem: String(f.problem ?? "refused"),
      }));
      if (!failures.length && r.errorMessage)
        failures.push({ component: "deploy", problem: String(r.errorMessage) });
      const ok = (r.success === true || r.success === "true") && failures.length === 0;
      return { ok, components: components.length, failures };
    }
    if (deps.now().getTime() - started > MAX_WAIT_MS)
      throw new RemoteApiError(
        "SALESFORCE_DEPLOY_TIMEOUT",
        `Salesforce had not finished validating after ${MAX_WAIT_MS / 60_000} minutes (deploy ${id}); see Setup → Deployment Status, then run \`cosell setup --check-only\` again.`,
      );
    await deps.sleep(wait);
    wait = Math.min(wait * 2, 5_000);
  }
}
