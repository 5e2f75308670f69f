import { runStateStoreConformance } from "@cosell/core/testing";
import { PostgresStateStore } from "../src/index.js";
import { databaseUrl, dropSchema, uniqueSchema } from "./database.js";

// The same contract the memory and SQLite stores pass, against the real server: one fresh schema
// per test, dropped afterwards.
runStateStoreConformance("PostgresStateStore", {
  open: () => PostgresStateStore.open({ url: databaseUrl(), schema: uniqueSchema("conf") }),
  cleanUp: (store) => dropSchema((store as PostgresStateStore).schema),
});
