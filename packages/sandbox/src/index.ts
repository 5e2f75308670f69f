/**
 * `@cosell/sandbox`: local HTTP emulators of Entra ID and Partner Center (Salesforce, Dataverse and
 * Graph join them), a control API, and `startSandbox()` to run them together. For demos and tests;
 * production code never imports it.
 */
export * from "./control/errors.js";
export { ObservedClock } from "./control/observed-clock.js";
export { coreRoutes } from "./control/routes.js";
export {
  type ControlRequest,
  type ControlRoute,
  parseBody,
  type RunningControlServer,
  startControlServer,
} from "./control/server.js";
export type { SystemContext, SystemDefinition, SystemInstance } from "./control/system.js";
export * from "./dataverse/index.js";
export * from "./entra/index.js";
export * from "./graph/index.js";
export * from "./kit/index.js";
export * from "./partner-center/index.js";
export * from "./salesforce/system.js";
export * from "./sandbox.js";
