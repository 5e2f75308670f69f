import { type SalesforceConfig, SalesforceFieldNamesSchema } from "./config.js";
import { customFieldSpecs } from "./custom-fields.js";
import { globalValueSetMetadata } from "./global-value-sets.js";
import { listViewMetadata } from "./list-views.js";
import type { Row } from "./mapping.js";
import { GLOBAL_VALUE_SETS, type GlobalValueSetSpec } from "./picklist-values.js";
import { quickActionMetadata } from "./quick-actions.js";
import { sellerPermissionSetMetadata } from "./seller-permission-set.js";
import { solutionObjectSpecs } from "./solution-objects.js";
import { type MetadataComponent, type SourceFile, sfdxProject, sourceFile } from "./source-format.js";
import { syncPermissionSetMetadata } from "./sync-permission-set.js";
import { declineRuleSpec } from "./validation-rule.js";

/**
 * Everything cosell puts in a Salesforce org, as Metadata API components for a config: what `cosell
 * setup --check-only` deploys to validate, and what the source-format package in
 * `packages/salesforce/metadata` holds for an admin who deploys with the Salesforce CLI.
 *
 * Page layouts are not in it: a Layout component replaces the whole layout, and the layouts are the
 * org's own (setup adds the Co-sell section to the ones `crm.layouts` names, keeping the rest).
 */
export function packageComponents(config: PackageSettings): MetadataComponent[] {
  const f = config.fields;
  const of = (type: string, rows: Row[]): MetadataComponent[] =>
    rows.map((metadata) => ({ type, fullName: String(metadata.fullName), metadata }));
  const objects = solutionObjectSpecs();
  return [
    ...of(
      "GlobalValueSet",
      (Object.values(GLOBAL_VALUE_SETS) as GlobalValueSetSpec[]).map(globalValueSetMetadata),
    ),
    ...of(
      "CustomObject",
      objects.map((o) => o.metadata),
    ),
    ...of("CustomField", [
      ...customFieldSpecs(f).map((s) => s.metadata),
      ...objects.flatMap((o) => o.fields),
    ]),
    ...of("ValidationRule", [{ ...declineRuleSpec(f) }]),
    ...of("ListView", listViewMetadata(f)),
    ...of("QuickAction", quickActionMetadata(f)),
    ...of("PermissionSet", [syncPermissionSetMetadata(config), sellerPermissionSetMetadata(f)]),
  ];
}

/** What of the config the package depends on. */
export type PackageSettings = Pick<SalesforceConfig, "fields" | "permissionSet" | "apiVersion">;

/** The settings of a config that leaves every name at its default (the package in the repository). */
export function defaultPackageSettings(): PackageSettings {
  return { fields: SalesforceFieldNamesSchema.parse({}), permissionSet: "Cosell_Sync", apiVersion: "62.0" };
}

/** The package directory the source-format package deploys from. */
export const PACKAGE_DIRECTORY = "force-app";

/** The source-format package for a config: `sfdx-project.json` and a file per component. */
export function sourcePackage(config: PackageSettings): SourceFile[] {
  return [
    sfdxProject(PACKAGE_DIRECTORY, config.apiVersion),
    ...packageComponents(config).map((c) => {
      const file = sourceFile(c);
      return { path: `${PACKAGE_DIRECTORY}/${file.path}`, content: file.content };
    }),
  ];
}
