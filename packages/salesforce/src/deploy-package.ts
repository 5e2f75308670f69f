import { RemoteApiError, type SetupValidation } from "@cosell/core";
import type { SalesforceClient } from "./client.js";
import type { Row } from "./mapping.js";
import { metadataByName } from "./metadata-components.js";
import { type PackageSettings, packageComponents } from "./metadata-package.js";
import { metadataZip } from "./metadata-zip.js";
import type { MetadataComponent } from "./source-format.js";

/** How long a deploy (or a check-only one) is waited for. */
const MAX_WAIT_MS = 15 * 60_000;

/** Metadata API limit: names per readMetadata call. */
const READ_CHUNK = 10;

export interface DeployDeps {
  sleep(ms: number): Promise<void>;
  now(): Date;
  onProgress?: (line: string) => void;
}

/** What a deploy of the package did: SetupValidation's figures, the deploy's id and what it saved. */
export interface PackageDeploy extends SetupValidation {
  id: string;
  /** The components saved (empty for a check-only deploy or a failed one: it is all or nothing). */
  deployed: MetadataComponent[];
}

const asList = (v: unknown): Row[] =>
  (Array.isArray(v) ? v : v ? [v] : []).filter((x): x is Row => !!x && typeof x === "object");
const yes = (v: unknown) => v === true || v === "true";

/**
 * Deploys every component of the package for `settings` in one Metadata API `deploy`
 * (developer.salesforce.com/docs/atlas.en-us.api_meta.meta/api_meta/meta_deploy.htm): all or nothing
 * (`rollbackOnError`), or with `checkOnly` a validation that saves nothing — Salesforce checks every
 * component and every reference between them. Polls `checkDeployStatus` (0.5 s, then longer, up to
 * 5 s) with a progress line per status, as the Salesforce CLI does.
 */
export async function deployPackage(
  client: SalesforceClient,
  settings: PackageSettings,
  options: { checkOnly: boolean },
  deps: DeployDeps,
): Promise<PackageDeploy> {
  const components = packageComponents(settings);
  const id = await client.deployZip(metadataZip(components, settings.apiVersion), options);
  deps.onProgress?.(
    `${options.checkOnly ? "Validating" : "Deploying"} ${components.length} components (${options.checkOnly ? "check-only " : ""}deploy ${id})`,
  );
  const started = deps.now().getTime();
  let wait = 500;
  let last = "";
  for (;;) {
    const r = await client.checkDeployStatus(id);
    const line = `${String(r.status)}: ${Number(r.numberComponentsDeployed ?? 0)}/${Number(r.numberComponentsTotal ?? components.length)} components ${options.checkOnly ? "checked" : "deployed"}`;
    if (line !== last) deps.onProgress?.(line);
    last = line;
    if (yes(r.done)) {
      const details = (r.details ?? {}) as Row;
      const failures = asList(details.componentFailures).map((f) => ({
        component: `${String(f.componentType ?? "")} ${String(f.fullName ?? f.fileName ?? "")}`.trim(),
        problem: String(f.problem ?? "refused"),
      }));
      if (!failures.length && r.errorMessage)
        failures.push({ component: "deploy", problem: String(r.errorMessage) });
      const ok = yes(r.success) && failures.length === 0;
      return {
        ok,
        id,
        components: components.length,
        failures,
        deployed: ok && !options.checkOnly ? components : [],
      };
    }
    if (deps.now().getTime() - started > MAX_WAIT_MS)
      throw new RemoteApiError(
        "SALESFORCE_DEPLOY_TIMEOUT",
        `Salesforce had not finished deploy ${id} after ${MAX_WAIT_MS / 60_000} minutes; see Setup → Deployment Status, then run \`cosell setup\` again.`,
      );
    await deps.sleep(wait);
    wait = Math.min(wait * 2, 5_000);
  }
}

/**
 * Whether the org has none of the package's value sets, objects and fields yet: a first install,
 * which {@link deployIfBare} does in one deploy. An org with any of them was set up before (perhaps by
 * an earlier version) and is upgraded step by step, in place.
 */
export async function isBareOrg(client: SalesforceClient, settings: PackageSettings): Promise<boolean> {
  const byType = new Map<string, string[]>();
  for (const c of packageComponents(settings))
    if (c.type === "GlobalValueSet" || c.type === "CustomObject" || c.type === "CustomField")
      byType.set(c.type, [...(byType.get(c.type) ?? []), c.fullName]);
  for (const [type, names] of byType)
    for (let i = 0; i < names.length; i += READ_CHUNK) {
      const part = names.slice(i, i + READ_CHUNK);
      const read = await client.readMetadata(type, part);
      if (part.some((n) => metadataByName(read, n))) return false;
    }
  return true;
}

/** An admin's words for a deployed component, as the step-by-step setup words what it creates. */
function lineOf(c: MetadataComponent): string {
  const md = c.metadata;
  const quoted = (v: unknown) => (typeof v === "string" ? ` "${v}"` : "");
  switch (c.type) {
    case "CustomField":
      return `Field ${String(md.label ?? c.fullName)} (${c.fullName})`;
    case "GlobalValueSet":
      return `Global value set ${c.fullName}${quoted(md.masterLabel)}`;
    case "CustomObject":
      return `Object ${c.fullName}${quoted(md.label)}`;
    case "ListView":
      return `List view ${c.fullName}${quoted(md.label)}`;
    case "QuickAction":
      return `Quick action ${c.fullName}${quoted(md.label)}`;
    case "ValidationRule":
      return `Validation rule ${c.fullName}`;
    case "PermissionSet":
      return `Permission set ${c.fullName} (${asList(md.fieldPermissions).length} field grants)`;
    default:
      return `${c.type} ${c.fullName}`;
  }
}

/**
 * A first install in one deploy: on a bare org, every component at once (all or nothing), before the
 * step-by-step setup that then finds them in place and adds what a deploy cannot (the layout section,
 * the assignment). Returns the report lines, or undefined when the org is not bare.
 */
export async function deployIfBare(
  client: SalesforceClient,
  settings: PackageSettings,
  deps: DeployDeps,
): Promise<{ created: string[]; names: string[] } | undefined> {
  if (!(await isBareOrg(client, settings))) return undefined;
  const result = await deployPackage(client, settings, { checkOnly: false }, deps);
  if (!result.ok)
    throw new RemoteApiError(
      "SALESFORCE_SETUP_FAILED",
      `The deploy of cosell's ${result.components} components (${result.id}) was refused and nothing was saved: ${result.failures.map((f) => `${f.component}: ${f.problem}`).join("; ")}. Fix what it names (\`cosell setup --check-only\` checks again without saving), then run \`cosell setup\`.`,
    );
  return {
    created: [
      `One Metadata API deploy (${result.id}): ${result.deployed.length} components`,
      ...result.deployed.map(lineOf),
    ],
    names: result.deployed.map((c) => c.fullName),
  };
}

/** `cosell setup --check-only`: the package, validated by Salesforce, nothing saved. */
export async function validateSetup(
  client: SalesforceClient,
  settings: PackageSettings,
  deps: DeployDeps,
): Promise<SetupValidation> {
  const { ok, components, failures } = await deployPackage(client, settings, { checkOnly: true }, deps);
  return { ok, components, failures };
}
