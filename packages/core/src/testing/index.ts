/**
 * `@cosell/core/testing`: test doubles and the shared adapter conformance suite.
 *
 * - {@link MemoryCrm} + {@link createMemoryAdapter}: the reference CRM and adapter, in memory.
 * - {@link MemoryPartnerCenter}: an in-memory Partner Center for fast tests (the HTTP emulator is
 *   `@cosell/sandbox`).
 * - {@link runAdapterConformance}: the executable adapter contract every adapter's tests run
 *   (imports `vitest`, an optional peer dependency of `@cosell/core`).
 * - {@link runStateStoreConformance}: the executable state-store contract every store runs, with
 *   its row fixtures (`fullLink`, `ledgerEntry`, …).
 */
export * from "./catalog-conformance.js";
export * from "./clock.js";
export * from "./conformance.js";
export * from "./crash.js";
export * from "./deals.js";
export * from "./memory-adapter.js";
export * from "./memory-crm.js";
export * from "./memory-partner-center.js";
export * from "./store-conformance.js";
export * from "./store-fixtures.js";
