export * from "./assertion.js";
export * from "./directory.js";
export * from "./errors.js";
export * from "./msal.js";
export * from "./server.js";
