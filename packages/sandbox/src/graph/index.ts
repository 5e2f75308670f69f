/**
 * The Microsoft Graph `/users` emulator of the cosell sandbox: the partner tenant's directory, whose
 * users match the Dataverse emulator's systemusers (`id` = `azureactivedirectoryobjectid`).
 */
export {
  type DirectoryUser,
  directoryUserSchema,
  SANDBOX_DIRECTORY_DOMAIN,
  seedCrmDirectoryUsers,
  seedDirectoryUsers,
} from "./directory.js";
export {
  createGraphServer,
  type GraphControl,
  type GraphOptions,
  type GraphServer,
  SANDBOX_GRAPH_RESOURCE,
} from "./server.js";
export { type GraphCredentials, type GraphSnapshot, graphSystem } from "./system.js";
