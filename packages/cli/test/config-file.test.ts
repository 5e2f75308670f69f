import { chmodSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError } from "@cosell/core";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { assertTls, loadConfig, parseConfig } from "../src/config-file.js";
import { resolveSecrets } from "../src/secrets.js";

const Schema = z
  .object({
    partnerCenter: z
      .object({ clientId: z.string().min(1), clientSecret: z.string().min(1), apiBaseUrl: z.string().url() })
      .strict(),
    sync: z
      .object({ conflictPolicy: z.enum(["crm-wins", "manual"]).default("crm-wins") })
      .strict()
      .default({ conflictPolicy: "crm-wins" }),
  })
  .strict();

const good = {
  partnerCenter: {
    clientId: "app",
    clientSecret: "env:PC_SECRET",
    apiBaseUrl: "https://api.partner.microsoft.com/v1.0",
  },
};

function errorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error("expected a ConfigError");
}

describe("config files", () => {
  it("resolves env: references and reports the secret values for redaction", () => {
    const { config, secrets } = parseConfig(good, Schema, { env: { PC_SECRET: "s3cr3t-value" } });
    expect(config.partnerCenter.clientSecret).toBe("s3cr3t-value");
    expect(config.sync.conflictPolicy).toBe("crm-wins");
    expect(secrets).toEqual(["s3cr3t-value"]);
  });

  it("resolves file: references relative to the config file", () => {
    const dir = mkdtempSync(join(tmpdir(), "cosell-cfg-"));
    writeFileSync(join(dir, "secret.txt"), "from-a-file\n");
    writeFileSync(
      join(dir, "cosell.config.yaml"),
      "partnerCenter:\n  clientId: app\n  clientSecret: file:secret.txt\n  apiBaseUrl: https://api.partner.microsoft.com/v1.0\n",
    );
    const { config } = loadConfig(join(dir, "cosell.config.yaml"), Schema, { env: {} });
    expect(config.partnerCenter.clientSecret).toBe("from-a-file");
  });

  it.each([
    [
      "a secret written inline",
      { partnerCenter: { ...good.partnerCenter, clientSecret: "plain" } },
      "CONFIG_SECRET_INLINE",
      "partnerCenter.clientSecret",
    ],
    ["a missing environment variable", good, "CONFIG_SECRET_MISSING", "PC_SECRET"],
    [
      "plain http to a remote host",
      { partnerCenter: { ...good.partnerCenter, apiBaseUrl: "http://api.example.com/v1.0" } },
      "CONFIG_TLS_REQUIRED",
      "partnerCenter.apiBaseUrl",
    ],
    ["an unknown key", { ...good, sinc: {} }, "CONFIG_INVALID", "sinc"],
    [
      "a bad enum value",
      { ...good, sync: { conflictPolicy: "random" } },
      "CONFIG_INVALID",
      "crm-wins, manual",
    ],
    [
      "a missing required key",
      { partnerCenter: { clientSecret: "env:PC_SECRET", apiBaseUrl: "https://x.test" } },
      "CONFIG_INVALID",
      "partnerCenter.clientId: missing",
    ],
  ])("refuses %s with a message naming the key and the fix", (_name, raw, code, mention) => {
    const env = code === "CONFIG_SECRET_MISSING" ? {} : { PC_SECRET: "x-secret-1" };
    const e = errorOf(() => parseConfig(raw, Schema, { env }));
    expect(e.code).toBe(code);
    expect(e.message).toContain(mention);
  });

  it("allows plain http to loopback only", () => {
    expect(() =>
      assertTls({ apiBaseUrl: "http://127.0.0.1:3000/v1.0", tokenEndpoint: "http://localhost:1/t" }),
    ).not.toThrow();
    expect(() => assertTls({ a: { tokenEndpoint: "http://10.0.0.5/t" } })).toThrow(/a\.tokenEndpoint/);
  });

  it("names a missing or unreadable config file", () => {
    const e = errorOf(() => loadConfig("/nonexistent/cosell.config.yaml", Schema));
    expect(e.code).toBe("CONFIG_NOT_FOUND");
    expect(e.message).toContain("cosell init");
    const dir = mkdtempSync(join(tmpdir(), "cosell-cfg-"));
    writeFileSync(join(dir, "bad.yaml"), "partnerCenter: [unclosed");
    expect(errorOf(() => loadConfig(join(dir, "bad.yaml"), Schema)).code).toBe("CONFIG_UNREADABLE");
  });

  it("leaves non-secret strings alone and never resolves references in non-string values", () => {
    const { value, secrets } = resolveSecrets(
      { a: 1, b: [true, "plain"], name: "env-like but not a ref" },
      { env: {} },
    );
    expect(value).toEqual({ a: 1, b: [true, "plain"], name: "env-like but not a ref" });
    expect(secrets).toEqual([]);
  });

  it("resolves env:/file: references only in secret keys; elsewhere it names the key and the fix", () => {
    const e = errorOf(() =>
      resolveSecrets(
        { partnerCenter: { clientId: "env:PC_ID", clientSecret: "env:PC_SECRET" } },
        {
          env: { PC_ID: "app", PC_SECRET: "s3cr3t" },
        },
      ),
    );
    expect(e.code).toBe("CONFIG_REF_NOT_SECRET");
    expect(e.details.key).toBe("partnerCenter.clientId");
    expect(e.message).toMatch(/partnerCenter\.clientId.*not a secret key.*Write the value itself/);
    const dir = mkdtempSync(join(tmpdir(), "cosell-cfg-"));
    writeFileSync(join(dir, "hosts"), "not a secret");
    expect(errorOf(() => resolveSecrets({ state: { path: "file:./hosts" } }, { baseDir: dir })).code).toBe(
      "CONFIG_REF_NOT_SECRET",
    );
  });

  it("warns (naming the file and chmod 600, never the content) when a secret file is readable by others", () => {
    const dir = mkdtempSync(join(tmpdir(), "cosell-cfg-"));
    const file = join(dir, "pc.secret");
    writeFileSync(file, "very-secret-value\n");
    chmodSync(file, 0o644);
    const open = resolveSecrets({ partnerCenter: { clientSecret: "file:./pc.secret" } }, { baseDir: dir });
    expect(open.value).toEqual({ partnerCenter: { clientSecret: "very-secret-value" } });
    expect(open.warnings).toHaveLength(1);
    expect(open.warnings[0]).toContain(file);
    expect(open.warnings[0]).toContain("chmod 600");
    expect(open.warnings[0]).not.toContain("very-secret-value");
    chmodSync(file, 0o600);
    expect(
      resolveSecrets({ partnerCenter: { clientSecret: "file:./pc.secret" } }, { baseDir: dir }).warnings,
    ).toEqual([]);
  });
});
