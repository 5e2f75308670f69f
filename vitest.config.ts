import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

const src = (p: string) => fileURLToPath(new URL(`./packages/${p}`, import.meta.url));

// Tests run against the TypeScript sources, so `pnpm test` needs no build step.
export default defineConfig({
  resolve: {
    alias: [
      { find: /^@cosell\/core\/testing$/, replacement: src("core/src/testing/index.ts") },
      { find: /^@cosell\/core$/, replacement: src("core/src/index.ts") },
      { find: /^@cosell\/salesforce$/, replacement: src("salesforce/src/index.ts") },
      { find: /^@cosell\/dynamics$/, replacement: src("dynamics/src/index.ts") },
      { find: /^@cosell\/sandbox\/conformance$/, replacement: src("sandbox/src/conformance/index.ts") },
      { find: /^@cosell\/sandbox$/, replacement: src("sandbox/src/index.ts") },
      { find: /^@cosell\/cli$/, replacement: src("cli/src/index.ts") },
      { find: /^@cosell\/postgres$/, replacement: src("postgres/src/index.ts") },
    ],
  },
  test: {
    include: ["packages/*/test/**/*.test.ts", "test/**/*.test.ts"],
    exclude: ["**/node_modules/**", "**/dist/**"],
    // Finds (or starts) the PostgreSQL server the PostgreSQL tests use; see the file.
    globalSetup: [fileURLToPath(new URL("./test/setup/postgres.ts", import.meta.url))],
    setupFiles: [fileURLToPath(new URL("./test/setup/no-network.ts", import.meta.url))],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: "forks",
  },
});
