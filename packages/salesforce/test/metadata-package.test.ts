import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { type Sandbox, startSandbox } from "@cosell/sandbox";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  createSalesforceAdapter,
  defaultPackageSettings,
  metadataFiles,
  metadataZip,
  packageComponents,
  sourcePackage,
} from "../src/index.js";
import { adminOf, sandboxAdapter, sandboxConfig } from "./harness.js";

/**
 * The metadata package: the source-format files in the repository are what the adapter would put in
 * an org; a check-only deploy of it validates and saves nothing; deployed for real, it leaves setup
 * nothing to create but what a package cannot carry (the layout section, the assignment).
 */

const root = fileURLToPath(new URL("../metadata/", import.meta.url));

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [relative(root, path)];
  });
}

describe("the source-format package in packages/salesforce/metadata", () => {
  it("holds exactly the components the adapter defines (run `pnpm -F @cosell/salesforce metadata` after a change)", () => {
    const want = sourcePackage(defaultPackageSettings());
    const have = filesUnder(root).filter((p) => p !== "README.md");
    expect(have.sort()).toEqual(want.map((f) => f.path).sort());
    for (const f of want) expect(readFileSync(join(root, f.path), "utf8"), f.path).toBe(f.content);
  });

  it("is a Salesforce DX project whose package directory is force-app", () => {
    const project = JSON.parse(readFileSync(join(root, "sfdx-project.json"), "utf8"));
    expect(project.packageDirectories).toEqual([{ path: "force-app", default: true }]);
    expect(project.sourceApiVersion).toMatch(/^\d{2}\.0$/);
  });

  it("puts an object's fields and views in its folder and names each file after its component", () => {
    const paths = sourcePackage(defaultPackageSettings()).map((f) => f.path);
    expect(paths).toContain(
      "force-app/main/default/objects/Opportunity/fields/Cosell_Sync__c.field-meta.xml",
    );
    expect(paths).toContain(
      "force-app/main/default/objects/Opportunity/listViews/Cosell_Needs_Response.listView-meta.xml",
    );
    expect(paths).toContain("force-app/main/default/permissionsets/Cosell_Seller.permissionset-meta.xml");
    expect(
      paths.some((p) => /objects\/Cosell_Solution__c\/Cosell_Solution__c\.object-meta\.xml$/.test(p)),
    ).toBe(true);
    expect(new Set(paths).size).toBe(paths.length);
  });

  it("the metadata-format zip names every component in package.xml, fields inside their object's file", () => {
    const settings = defaultPackageSettings();
    const components = packageComponents(settings);
    const files = metadataFiles(components, settings.apiVersion);
    const manifest = files.get("package.xml")!;
    for (const c of components) expect(manifest, c.fullName).toContain(`<members>${c.fullName}</members>`);
    expect(files.get("objects/Opportunity.object")).toContain("<fullName>Cosell_Sync__c</fullName>");
    expect([...files.keys()].some((p) => p.startsWith("objects/Opportunity/"))).toBe(false);
  });
});

describe("deploying the package to the sandbox org", () => {
  let sb: Sandbox<"salesforce">;
  beforeEach(async () => {
    sb = await startSandbox({ systems: ["salesforce"] });
  });
  afterEach(() => sb.stop());

  const opportunityFields = () =>
    (sb.salesforce.exportState().customFields.Opportunity ?? []).map((f) => f.name);

  it("check-only: every component validates on a bare org and nothing is saved", async () => {
    const adapter = sandboxAdapter(sb);
    const progress: string[] = [];
    const result = await adapter.validateSetup!((line) => progress.push(line));
    expect(result.failures).toEqual([]);
    expect(result.ok).toBe(true);
    expect(result.components).toBe(packageComponents(defaultPackageSettings()).length);
    expect(progress[0]).toMatch(/^Validating \d+ components/);
    expect(progress.at(-1)).toMatch(/^Succeeded/);
    expect(opportunityFields()).not.toContain("Cosell_Sync__c");
  });

  it("check-only names the component the org would refuse", async () => {
    // An org with the co-sell stage as text and a rule of the admin's comparing it as text: Salesforce
    // refuses to make it a picklist under that rule (a picklist is usable only in ISPICKVAL, TEXT, CASE).
    sb.salesforce.upsertMetadata("CustomField", [
      { fullName: "Opportunity.Cosell_Stage__c", label: "Co-sell Stage", type: "Text", length: 40 },
    ]);
    sb.salesforce.upsertMetadata("ValidationRule", [
      {
        fullName: "Opportunity.Admins_Own_Rule",
        active: true,
        errorConditionFormula: 'Cosell_Stage__c = "frozen"',
        errorMessage: "Frozen deals stay as they are.",
      },
    ]);
    const result = await sandboxAdapter(sb).validateSetup!();
    expect(result.ok).toBe(false);
    const refused = result.failures.find((f) => f.component === "CustomField Opportunity.Cosell_Stage__c");
    expect(refused?.problem).toMatch(/Admins_Own_Rule/);
    expect(opportunityFields()).not.toContain("Cosell_Sync__c");
  });

  it("check-only on an org missing a field the package references fails, naming the component and the field", async () => {
    // crm.fields.accountDuns names the admin's own Account field: the package does not create it, but
    // its Cosell_Sync permission set grants on it. This org does not have it.
    const adapter = sandboxAdapter(sb, { fields: { accountDuns: "DUNS__c" } });
    const result = await adapter.validateSetup!();
    expect(result.ok).toBe(false);
    expect(result.failures).toEqual([
      {
        component: "PermissionSet Cosell_Sync",
        problem: "In field: field - no CustomField named Account.DUNS__c found",
      },
    ]);
    // All or nothing: not even the components Salesforce accepted were saved.
    expect(opportunityFields()).not.toContain("Cosell_Sync__c");

    // Once the admin has made the field, the same check passes.
    sb.salesforce.upsertMetadata("CustomField", [
      { fullName: "Account.DUNS__c", label: "DUNS", type: "Text", length: 9 },
    ]);
    const again = await adapter.validateSetup!();
    expect(again.failures).toEqual([]);
    expect(again.ok).toBe(true);
  });

  it("setup on a bare org logs a progress line per deploy status, from the deploy's id to Succeeded", async () => {
    const progress: string[] = [];
    const logger = {
      info: (obj: object) => {
        const line = (obj as { deploy?: string }).deploy;
        if (line) progress.push(line);
      },
      warn: () => {},
      debug: () => {},
    };
    const adapter = createSalesforceAdapter(sandboxConfig(sb), { now: () => sb.clock.now(), logger });
    await adapter.setup();
    const total = packageComponents(defaultPackageSettings()).length;
    expect(progress[0]).toMatch(new RegExp(`^Deploying ${total} components \\(deploy 0Af\\w+\\)$`));
    // The sandbox answers InProgress first: the loop polled more than once, each status on its line.
    expect(progress.slice(1, -1).some((l) => /^InProgress: /.test(l))).toBe(true);
    expect(progress.at(-1)).toBe(`Succeeded: ${total}/${total} components deployed`);
    expect(new Set(progress).size).toBe(progress.length);
  });

  it("deployed for real, it leaves setup only what a package cannot carry", async () => {
    const admin = await adminOf(sb);
    const settings = defaultPackageSettings();
    const { id } = (await admin.metadata.deploy(
      metadataZip(packageComponents(settings), settings.apiVersion),
      {
        rollbackOnError: true,
        singlePackage: true,
      },
    )) as unknown as { id: string };
    let result: Record<string, unknown> = {};
    for (let i = 0; i < 5 && String(result.done) !== "true"; i++)
      result = (await admin.metadata.checkDeployStatus(id, true)) as unknown as Record<string, unknown>;
    expect(result.status).toBe("Succeeded");
    expect(opportunityFields()).toContain("Cosell_Sync__c");

    const report = await sandboxAdapter(sb).setup();
    // Not in the package: the layout section (layouts are the org's own), the assignment to the
    // integration user, and Change Data Capture (it depends on crm.changeFeed and the org's entitlement).
    const created = report.created.filter(
      (line) => !/^Layout |assigned to the integration user|^Change Data Capture/.test(line),
    );
    expect(created).toEqual([]);
  });
});
