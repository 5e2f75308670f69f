/**
 * `@cosell/salesforce`: the Salesforce CRM adapter of cosell (jsforce 3.10.16).
 *
 * - {@link createSalesforceAdapter}: a `CrmAdapter` for the sync engine.
 * - {@link SalesforceConfigSchema}: the `crm` section of the cosell config (`kind: "salesforce"`).
 * - {@link salesforceSandboxConfig}: a config for the sandbox org of `@cosell/sandbox`.
 */
export { createSalesforceAdapter, type SalesforceAdapter, type SalesforceAdapterDeps } from "./adapter.js";
export {
  type ChangeEventHandlers,
  type ChangeSubscription,
  type ChangeSubscriptionState,
  type FeedPositions,
  OPPORTUNITY_CHANNEL,
  OPPORTUNITY_FEED,
} from "./change-events.js";
export {
  DEFAULT_LAYOUT,
  parseSalesforceConfig,
  type SalesforceAuth,
  type SalesforceConfig,
  type SalesforceConfigInput,
  SalesforceConfigSchema,
  type SalesforceFieldNames,
  type SalesforceSandboxCredentials,
  salesforceSandboxConfig,
} from "./config.js";
export { type CustomFieldSpec, customFieldSpecs } from "./custom-fields.js";
export { type ListViewSpec, listViewSpecs } from "./list-views.js";
export {
  formatSolutions,
  type OrgFacts,
  parseSolutions,
  rowToRecord,
  type StageInfo,
  StageMapping,
} from "./mapping.js";
export {
  defaultPackageSettings,
  PACKAGE_DIRECTORY,
  type PackageSettings,
  packageComponents,
  sourcePackage,
} from "./metadata-package.js";
export { metadataFiles, metadataZip } from "./metadata-zip.js";
export { COSELL_SECTION, type LayoutField, layoutFields } from "./page-layout.js";
export { type QuickActionSpec, quickActionSpecs } from "./quick-actions.js";
export { SELLER_PERMISSION_SET, sellerFieldGrants } from "./seller-permission-set.js";
export { salesforceSolutionCatalog } from "./solution-catalog.js";
export {
  DEAL_SOLUTION_OBJECT,
  SOLUTION_OBJECT,
  solutionObjectSpecs,
  TEAM_MEMBER_OBJECT,
} from "./solution-objects.js";
export { type MetadataComponent, type SourceFile, sourceFile } from "./source-format.js";
export type { SalesforceCallStats } from "./stats.js";
