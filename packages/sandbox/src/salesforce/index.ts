/**
 * The Salesforce emulator of the cosell sandbox: a faithful fake org over real HTTP.
 * Serve it with the kit: `listen(createSalesforceServer({ clock, tokens }, options), shared)`.
 */
export { ApiUsage } from "./api-usage.js";
export type { SalesforceControl, SObjectRecord, WriteAs } from "./control.js";
export { RecordError, SalesforceApiError } from "./errors.js";
export { checksumSuffix, toId18 } from "./ids.js";
export { JWT_BEARER_GRANT, LOGIN_AUDIENCES } from "./oauth.js";
export {
  type ConnectedAppConfig,
  DEFAULT_CONNECTED_APP,
  DEFAULT_ORG_ID,
  type SalesforceOrgOptions,
} from "./options.js";
export { DEFAULT_STAGES, type ForecastCategoryName, type StageDefinition } from "./schema/stages.js";
export type { FieldDef, FieldType, Value } from "./schema/types.js";
export type { SeedOpportunitiesOptions } from "./seed.js";
export { createSalesforceServer, type SalesforceServer, type SalesforceServerContext } from "./server.js";
export type { MetadataRecord, MetadataSaveResult } from "./soap/metadata-types.js";
export type { SObjectJson } from "./soql/executor.js";
export { parseSoql } from "./soql/parser.js";
export { type SalesforceState, SalesforceStateError, STATE_FORMAT } from "./state.js";
export type { RecordFault } from "./store/org.js";
