/**
 * Partner Center webhooks for referrals: registration, verification of delivered events and a
 * `node:http` handler. See docs/partner-center.md ("Webhooks").
 */
export * from "./webhook-certificates.js";
export * from "./webhook-handler.js";
export * from "./webhook-receiver.js";
export * from "./webhook-registration.js";
