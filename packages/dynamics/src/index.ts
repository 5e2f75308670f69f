/**
 * `@cosell/dynamics`: the Dynamics 365 (Dataverse Web API) adapter for cosell. See docs/dynamics.md.
 */
export {
  createDynamicsAdapter,
  type DynamicsAdapter,
  type DynamicsDeps,
  type DynamicsLogger,
} from "./adapter.js";
export { type CosellColumns, columnsFor } from "./columns.js";
export {
  type DynamicsConfig,
  type DynamicsConfigInput,
  DynamicsConfigSchema,
  type DynamicsSandboxCredentials,
  DynamicsStageMapSchema,
  dynamicsSandboxConfig,
  parseDynamicsConfig,
} from "./config.js";
export { countryCode } from "./countries.js";
export { type SolutionTableNames, solutionTableNames } from "./solution-tables.js";
export {
  filteringAttributes,
  parseWebhookCall,
  WEBHOOK_MESSAGES,
  WEBHOOK_SECRET_HEADER,
} from "./webhook.js";
