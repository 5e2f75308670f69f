import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadConfig, parseConfig } from "../../packages/cli/src/config-file.js";
import { type Config, ConfigSchema, change, env, good, refusal, SECRET } from "./configs.fixtures.js";

/**
 * Malformed configs through the CLI's loader (`parseConfig`/`loadConfig`). Every case is refused
 * before anything connects, with a ConfigError whose code is named, whose `details.key` and message
 * name the key, and whose message never shows a secret.
 */
interface ConfigCase {
  name: string;
  raw: () => unknown;
  code: string;
  key: string;
  /** The message also says this (the fix, or the allowed values). */
  says?: RegExp;
}

const CASES: ConfigCase[] = [
  // Missing keys
  {
    name: "no partnerCenter section",
    raw: change((c) => delete c.partnerCenter),
    code: "CONFIG_INVALID",
    key: "partnerCenter",
    says: /required/,
  },
  {
    name: "no tenantId",
    raw: change((c) => delete c.partnerCenter.tenantId),
    code: "CONFIG_INVALID",
    key: "partnerCenter.tenantId",
    says: /required/,
  },
  {
    name: "empty clientId",
    raw: change((c) => {
      c.partnerCenter.clientId = "";
    }),
    code: "CONFIG_INVALID",
    key: "partnerCenter.clientId",
    says: /application \(client\) id/,
  },
  {
    name: "no Partner Center credential at all",
    raw: change((c) => delete c.partnerCenter.auth.clientSecret),
    code: "CONFIG_INVALID",
    key: "partnerCenter.auth.clientSecret",
  },
  {
    name: "app credential where it was before auth.kind (now refused: Microsoft wants a signed-in user)",
    raw: change((c) => {
      c.partnerCenter.clientSecret = "env:PC_SECRET";
    }),
    code: "CONFIG_INVALID",
    key: "partnerCenter.clientSecret",
    says: /cosell login/,
  },
  {
    name: "unknown Partner Center auth kind",
    raw: change((c) => {
      c.partnerCenter.auth = { kind: "password" };
    }),
    code: "CONFIG_INVALID",
    key: "partnerCenter.auth.kind",
  },
  {
    name: "token cache key shorter than 32 characters",
    raw: change((c) => {
      c.partnerCenter.auth = { kind: "user", tokenCacheKey: "env:DV_SECRET" };
    }),
    code: "CONFIG_INVALID",
    key: "partnerCenter.auth.tokenCacheKey",
    says: /at least 32/,
  },
  { name: "no crm section", raw: change((c) => delete c.crm), code: "CONFIG_INVALID", key: "crm" },
  { name: "no CRM kind", raw: change((c) => delete c.crm.kind), code: "CONFIG_INVALID", key: "crm.kind" },
  {
    name: "no Dataverse environment URL",
    raw: change((c) => delete c.crm.environmentUrl),
    code: "CONFIG_INVALID",
    key: "crm.environmentUrl",
    says: /required/,
  },
  // Unknown values and keys
  {
    name: "unknown CRM kind",
    raw: change((c) => {
      c.crm.kind = "hubspot";
    }),
    code: "CONFIG_INVALID",
    key: "crm.kind",
    says: /"hubspot"/,
  },
  {
    name: "unknown conflict policy",
    raw: change((c) => {
      c.sync.conflictPolicy = "last-wins";
    }),
    code: "CONFIG_INVALID",
    key: "sync.conflictPolicy",
    says: /crm-wins, partner-center-wins, newest-wins, manual/,
  },
  {
    name: "misspelt key inside a section",
    raw: change((c) => {
      c.sync.intervalSecs = 50;
    }),
    code: "CONFIG_INVALID",
    key: "sync.intervalSecs",
    says: /sync\.intervalSecs: not a cosell setting — did you mean intervalSeconds\?/,
  },
  // Bad numbers
  {
    name: "interval as words",
    raw: change((c) => {
      c.sync.intervalSeconds = "sixty";
    }),
    code: "CONFIG_INVALID",
    key: "sync.intervalSeconds",
    says: /"sixty"/,
  },
  {
    name: "negative interval",
    raw: change((c) => {
      c.sync.intervalSeconds = -5;
    }),
    code: "CONFIG_INVALID",
    key: "sync.intervalSeconds",
    says: /-5/,
  },
  {
    name: "fractional interval",
    raw: change((c) => {
      c.sync.intervalSeconds = 1.5;
    }),
    code: "CONFIG_INVALID",
    key: "sync.intervalSeconds",
  },
  {
    name: "page size above Partner Center's cap",
    raw: change((c) => {
      c.partnerCenter.pageSize = 1000;
    }),
    code: "CONFIG_INVALID",
    key: "partnerCenter.pageSize",
    says: /1000/,
  },
  {
    name: "zero retry attempts",
    raw: change((c) => {
      c.partnerCenter.retry = { maxAttempts: 0 };
    }),
    code: "CONFIG_INVALID",
    key: "partnerCenter.retry.maxAttempts",
  },
  {
    name: "overlap as a string",
    raw: change((c) => {
      c.sync.overlapMs = "2m";
    }),
    code: "CONFIG_INVALID",
    key: "sync.overlapMs",
    says: /"2m"/,
  },
  // Plain http off loopback
  {
    name: "http API URL to a public host",
    raw: change((c) => {
      c.partnerCenter.apiBaseUrl = "http://api.partner.microsoft.com/v1.0";
    }),
    code: "CONFIG_TLS_REQUIRED",
    key: "partnerCenter.apiBaseUrl",
    says: /https:\/\//,
  },
  {
    name: "http token endpoint on a private address",
    raw: change((c) => {
      c.partnerCenter.tokenEndpoint = "http://10.0.0.5/token";
    }),
    code: "CONFIG_TLS_REQUIRED",
    key: "partnerCenter.tokenEndpoint",
  },
  {
    name: "http authority host",
    raw: change((c) => {
      c.partnerCenter.authorityHost = "http://login.microsoftonline.com";
    }),
    code: "CONFIG_TLS_REQUIRED",
    key: "partnerCenter.authorityHost",
  },
  {
    name: "http host that only starts like loopback",
    raw: change((c) => {
      c.partnerCenter.apiBaseUrl = "http://127.0.0.1.nip.io/v1.0";
    }),
    code: "CONFIG_TLS_REQUIRED",
    key: "partnerCenter.apiBaseUrl",
  },
  {
    name: "http host hiding loopback in userinfo",
    raw: change((c) => {
      c.partnerCenter.apiBaseUrl = "http://localhost@evil.example/v1.0";
    }),
    code: "CONFIG_TLS_REQUIRED",
    key: "partnerCenter.apiBaseUrl",
  },
  {
    name: "http Dataverse URL",
    raw: change((c) => {
      c.crm.environmentUrl = "http://contoso.crm.dynamics.com";
    }),
    code: "CONFIG_TLS_REQUIRED",
    key: "crm.environmentUrl",
  },
  {
    name: "http Salesforce instance URL",
    raw: () => ({
      ...good(),
      crm: {
        kind: "salesforce",
        instanceUrl: "HTTP://contoso.my.salesforce.com",
        clientId: "c",
        username: "u@x",
        privateKey: "env:SF_KEY",
      },
    }),
    code: "CONFIG_TLS_REQUIRED",
    key: "crm.instanceUrl",
  },
  {
    name: "a step deadline of zero",
    raw: change((c) => {
      c.sync = { stepTimeoutMs: 0 };
    }),
    code: "CONFIG_INVALID",
    key: "sync.stepTimeoutMs",
    says: /default is 600000/,
  },
  {
    name: "Partner Center writes in flight: 64",
    raw: change((c) => {
      c.sync = { partnerCenterConcurrency: 64 };
    }),
    code: "CONFIG_INVALID",
    key: "sync.partnerCenterConcurrency",
    says: /at most 16; the default is 4/,
  },
  // Secrets written inline or pointing nowhere
  {
    name: "env: reference in a key that is not a secret",
    raw: change((c) => {
      c.partnerCenter.clientId = "env:PC_SECRET";
    }),
    code: "CONFIG_REF_NOT_SECRET",
    key: "partnerCenter.clientId",
    says: /not a secret key.*Write the value itself/,
  },
  {
    name: "file: reference in a key that is not a secret",
    raw: change((c) => {
      c.state = { path: "file:/etc/passwd" };
    }),
    code: "CONFIG_REF_NOT_SECRET",
    key: "state.path",
  },
  {
    name: "inline Partner Center client secret",
    raw: change((c) => {
      c.partnerCenter.auth.clientSecret = SECRET;
    }),
    code: "CONFIG_SECRET_INLINE",
    key: "partnerCenter.auth.clientSecret",
    says: /env:NAME/,
  },
  {
    name: "inline token cache key",
    raw: change((c) => {
      c.partnerCenter.auth = { kind: "user", tokenCacheKey: `${SECRET}-and-more-to-be-long-enough` };
    }),
    code: "CONFIG_SECRET_INLINE",
    key: "partnerCenter.auth.tokenCacheKey",
  },
  {
    name: "inline Dataverse client secret",
    raw: change((c) => {
      c.crm.clientSecret = SECRET;
    }),
    code: "CONFIG_SECRET_INLINE",
    key: "crm.clientSecret",
  },
  {
    name: "inline Salesforce private key",
    raw: () => ({
      ...good(),
      crm: {
        kind: "salesforce",
        instanceUrl: "https://contoso.my.salesforce.com",
        clientId: "c",
        username: "u@x",
        privateKey: SECRET,
      },
    }),
    code: "CONFIG_SECRET_INLINE",
    key: "crm.privateKey",
  },
  {
    name: "secret from an unset variable",
    raw: change((c) => {
      c.partnerCenter.auth.clientSecret = "env:NOT_SET_ANYWHERE";
    }),
    code: "CONFIG_SECRET_MISSING",
    key: "partnerCenter.auth.clientSecret",
    says: /NOT_SET_ANYWHERE/,
  },
  {
    name: "secret from a missing file",
    raw: change((c) => {
      c.crm.clientSecret = "file:/nonexistent/cosell/secret.txt";
    }),
    code: "CONFIG_SECRET_MISSING",
    key: "crm.clientSecret",
    says: /ENOENT/,
  },
  // Not a config at all
  { name: "a bare string", raw: () => "partnerCenter", code: "CONFIG_INVALID", key: "(root)" },
  { name: "null", raw: () => null, code: "CONFIG_INVALID", key: "(root)" },
];

describe("bad input: configs", () => {
  it("the unbroken config loads (the cases below each break one thing)", () => {
    const { config, secrets } = parseConfig(good(), ConfigSchema, { env });
    expect((config as Config).crm.kind).toBe("dynamics");
    expect(secrets).toEqual([SECRET, "dv-s3cr3t"]);
  });

  it.each(CASES.map((c) => [c.name, c] as const))("%s", (_name, c) => {
    const err = refusal(() => parseConfig(c.raw(), ConfigSchema, { env }));
    expect(err.code).toBe(c.code);
    if (c.key !== "(root)" || err.details.key !== undefined) expect(err.details.key ?? "(root)").toBe(c.key);
    expect(err.message.startsWith(`${c.key}:`) || err.message.startsWith(`${c.key} `)).toBe(true);
    if (c.says) expect(err.message).toMatch(c.says);
    for (const secret of Object.values(env).concat(SECRET)) {
      expect(err.message).not.toContain(secret);
      expect(JSON.stringify(err.details)).not.toContain(secret);
    }
  });
});

describe("bad input: config files", () => {
  const dir = mkdtempSync(join(tmpdir(), "cosell-bad-config-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, text: string) => {
    const p = join(dir, name);
    writeFileSync(p, text);
    return p;
  };

  it.each([
    ["YAML with a tab indent", "cosell.config.yaml", "partnerCenter:\n\ttenantId: x\n", "CONFIG_UNREADABLE"],
    ["JSON cut off", "cosell.config.json", '{"partnerCenter": {"tenantId": "x"', "CONFIG_UNREADABLE"],
    ["empty YAML file", "empty.yaml", "", "CONFIG_INVALID"],
    ["YAML that is a list", "list.yaml", "- partnerCenter\n- crm\n", "CONFIG_INVALID"],
  ])("%s", (_name, name, text, code) => {
    const err = refusal(() => loadConfig(file(name, text), ConfigSchema, { env }));
    expect(err.code).toBe(code);
  });

  it("a file that is not there", () => {
    const err = refusal(() => loadConfig(join(dir, "missing.yaml"), ConfigSchema, { env }));
    expect(err).toMatchObject({ code: "CONFIG_NOT_FOUND", message: expect.stringContaining("cosell init") });
  });
});
