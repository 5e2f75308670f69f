export * from "./clock.js";
export * from "./faults.js";
export * from "./http.js";
export * from "./random.js";
export * from "./request-log.js";
export * from "./tokens.js";
