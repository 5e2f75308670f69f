export * from "./partner-center.js";
