export * from "./assertion.js";
export * from "./control.js";
export * from "./directory.js";
export * from "./errors.js";
export * from "./msal.js";
export * from "./server.js";
export * from "./sign-ins.js";
