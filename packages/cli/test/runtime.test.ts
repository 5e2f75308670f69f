import { mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { type LoadedConfig, referencesOf } from "../src/config.js";
import { saveRotatedRefreshToken } from "../src/runtime.js";

function loaded(dir: string, ref: string): LoadedConfig {
  return {
    config: {} as LoadedConfig["config"],
    file: join(dir, "cosell.yaml"),
    secrets: [],
    warnings: [],
    statePath: join(dir, "state.sqlite"),
    references: referencesOf({ crm: { auth: { refreshToken: ref } } }),
  };
}

describe("a rotated Salesforce refresh token", () => {
  it("replaces the file a file: reference points at (mode 0600) and is masked from then on", () => {
    const dir = mkdtempSync(join(tmpdir(), "cosell-rt-"));
    writeFileSync(join(dir, "sf.token"), "old-token\n");
    const l = loaded(dir, "file:./sf.token");
    saveRotatedRefreshToken(l, "new-token-value");
    expect(readFileSync(join(dir, "sf.token"), "utf8")).toBe("new-token-value\n");
    expect(statSync(join(dir, "sf.token")).mode & 0o777).toBe(0o600);
    expect(l.secrets).toContain("new-token-value");
  });

  it("with an env: reference, says to use a file instead", () => {
    const dir = mkdtempSync(join(tmpdir(), "cosell-rt-"));
    const warnings: string[] = [];
    const logger = { info() {}, warn: (_o: object, m: string) => warnings.push(m) };
    saveRotatedRefreshToken(loaded(dir, "env:SF_RT"), "new", logger as never);
    expect(warnings.join()).toMatch(/use file:PATH/);
  });
});
