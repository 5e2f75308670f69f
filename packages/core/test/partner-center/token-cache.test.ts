import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { StorageError, TokenCacheFile } from "../../src/index.js";

const KEY = "a-token-cache-key-of-at-least-32-characters";
const CACHE = JSON.stringify({ RefreshToken: { x: { secret: "rt-secret-value" } }, Account: {} });

describe("TokenCacheFile", () => {
  let dir: string;
  let file: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "cosell-cache-"));
    file = join(dir, "cache.json");
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("saves atomically with mode 0600 whatever the umask, and leaves no temp file", () => {
    const old = process.umask(0o000);
    try {
      new TokenCacheFile(file).save(CACHE);
    } finally {
      process.umask(old);
    }
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir)).toEqual(["cache.json"]);
    expect(new TokenCacheFile(file).load()).toBe(CACHE);
  });

  it("tightens a cache file others could read", () => {
    writeFileSync(file, CACHE, { mode: 0o644 });
    new TokenCacheFile(file).load();
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it("encrypts with the key: nothing readable in the file, fresh IV per save, and only the key opens it", () => {
    const c = new TokenCacheFile(file, KEY);
    c.save(CACHE);
    const first = readFileSync(file, "utf8");
    expect(first).not.toContain("rt-secret-value");
    c.save(CACHE);
    expect(readFileSync(file, "utf8")).not.toBe(first);
    expect(new TokenCacheFile(file, KEY).load()).toBe(CACHE);
    expect(() => new TokenCacheFile(file).load()).toThrow(
      expect.objectContaining({ code: "TOKEN_CACHE_KEY_REQUIRED" }),
    );
    expect(() => new TokenCacheFile(file, `${KEY}!`).load()).toThrow(
      expect.objectContaining({ code: "TOKEN_CACHE_KEY_WRONG" }),
    );
  });

  it("a tampered encrypted cache is refused (GCM tag)", () => {
    new TokenCacheFile(file, KEY).save(CACHE);
    const env = JSON.parse(readFileSync(file, "utf8")) as { data: string };
    const bytes = Buffer.from(env.data, "base64");
    bytes[0] = (bytes[0] ?? 0) ^ 1;
    writeFileSync(file, JSON.stringify({ ...env, data: bytes.toString("base64") }));
    expect(() => new TokenCacheFile(file, KEY).load()).toThrow(
      expect.objectContaining({ code: "TOKEN_CACHE_KEY_WRONG" }),
    );
  });

  it("a save that cannot happen is a StorageError naming the file", () => {
    const c = new TokenCacheFile(join(dir, "missing", "cache.json"));
    expect(() => c.save(CACHE)).toThrow(StorageError);
    expect(() => c.save(CACHE)).toThrow(/TOKEN_CACHE|Could not save/);
  });

  it("refuses a key shorter than 32 characters", () => {
    expect(() => new TokenCacheFile(file, "short")).toThrow(/at least 32/);
  });
});
