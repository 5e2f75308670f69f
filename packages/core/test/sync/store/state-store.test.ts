import { MemoryStateStore } from "../../../src/sync/store-memory.js";
import { SqliteStateStore } from "../../../src/sync/store-sqlite.js";
import { runStateStoreConformance } from "../../../src/testing/index.js";

// The one behaviour every store shares: the engine's tests run on memory, production on SQLite (and
// PostgreSQL, whose package runs the same suite).
runStateStoreConformance("MemoryStateStore", { open: () => new MemoryStateStore() });
runStateStoreConformance("SqliteStateStore", { open: () => SqliteStateStore.open(":memory:") });
