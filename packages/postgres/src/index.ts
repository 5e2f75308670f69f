/**
 * `@cosell/postgres`: several workers on several machines sharing one state. The PostgreSQL state
 * store (one schema per tenant, versioned migrations) and the job queue on graphile-worker.
 */
export * from "./blocking-client.js";
export * from "./deal-lock.js";
export * from "./jobs.js";
export * from "./migrations.js";
export * from "./store.js";
export * from "./tenant-lock.js";
export * from "./tenants.js";
