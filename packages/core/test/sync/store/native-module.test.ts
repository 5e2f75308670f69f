import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { nativeModuleProblem } from "../../../src/sync/store-sqlite-schema.js";

describe("better-sqlite3 built for another Node.js is named as such, not as a bad state file", () => {
  it("Node's NODE_MODULE_VERSION refusal → STATE_STORE_NATIVE_MODULE with both versions and `pnpm rebuild`", () => {
    // Node's own wording when an addon was compiled for another ABI (src/node_binding.cc).
    const err = Object.assign(
      new Error(
        "The module '/x/node_modules/better-sqlite3/build/Release/better_sqlite3.node'\n" +
          "was compiled against a different Node.js version using\nNODE_MODULE_VERSION 115. This version of Node.js requires\n" +
          "NODE_MODULE_VERSION 137. Please try re-compiling or re-installing\nthe module (for instance, using `npm rebuild` or `npm install`).",
      ),
      { code: "ERR_DLOPEN_FAILED" },
    );
    const problem = nativeModuleProblem(err);
    expect(problem?.code).toBe("STATE_STORE_NATIVE_MODULE");
    expect(problem?.message).toContain("NODE_MODULE_VERSION 115");
    expect(problem?.message).toContain(process.version);
    expect(problem?.message).toContain("pnpm rebuild better-sqlite3");
    expect(problem?.message).toContain("the state file is fine");
    expect(problem?.details).toMatchObject({ builtFor: "115", abi: process.versions.modules });
  });

  it("an addon the loader cannot load at all (the real dlopen error) gets the same code", () => {
    const dir = mkdtempSync(join(tmpdir(), "cosell-native-"));
    const fake = join(dir, "better_sqlite3.node");
    writeFileSync(fake, "not a shared object");
    let thrown: unknown;
    try {
      new Database(":memory:", { nativeBinding: fake });
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeDefined();
    expect(nativeModuleProblem(thrown)?.code).toBe("STATE_STORE_NATIVE_MODULE");
  });

  it("other open failures are left to the state-file checks", () => {
    expect(nativeModuleProblem(new Error("file is not a database"))).toBeUndefined();
    expect(
      nativeModuleProblem(Object.assign(new Error("unable to open"), { code: "SQLITE_CANTOPEN" })),
    ).toBeUndefined();
  });
});
