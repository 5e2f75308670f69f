/**
 * The Dataverse (Dynamics 365) Web API emulator of the cosell sandbox. Serve it with the kit's
 * `listen(createDataverseServer(ctx), shared)`; drive it in-process through `server.control`.
 */
export type { ApplicationUserSpec } from "./application-users.js";
export { applicationIdFor } from "./application-users.js";
export type { BulkSeedOptions } from "./bulk-seed.js";
export type { CloseOptions, DataverseControl, DataverseRecord, DataverseState } from "./control.js";
export {
  COSELL_OPPORTUNITY_ATTRIBUTES,
  COSELL_PUBLISHER,
  COSELL_REFERRAL_KEY,
  COSELL_SOLUTION,
  COSELL_SYNC_STATUS,
} from "./cosell-setup.js";
export { DataverseError } from "./errors.js";
export { stableGuid } from "./ids.js";
export { roleId, SEED_IDS, SEED_ROLES, systemUserIdFor } from "./seed.js";
export { OPPORTUNITY_MAIN_FORM_ID } from "./seed-forms.js";
export {
  createDataverseServer,
  DATAVERSE_DEFAULT_THROTTLE,
  type DataverseOptions,
  type DataverseServer,
  SANDBOX_DATAVERSE_RESOURCE,
  SANDBOX_TENANT_ID,
} from "./server.js";
export { type DataverseCredentials, type DataverseSnapshot, dataverseSystem } from "./system.js";
export type { ThrottleLimits } from "./throttle.js";
