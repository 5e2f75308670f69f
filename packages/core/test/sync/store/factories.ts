// The fixtures live in `@cosell/core/testing` so every store's tests share them.
export * from "../../../src/testing/store-fixtures.js";
