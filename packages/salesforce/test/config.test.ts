import { ConfigError } from "@cosell/core";
import { describe, expect, it } from "vitest";
import { createSalesforceAdapter, parseSalesforceConfig, SalesforceConfigSchema } from "../src/index.js";

const PEM =
  "-----BEGIN PRIVATE KEY-----\nMIIBVQIBADANBgkqhkiG9w0BAQEFAASCAT8wggE7AgEAAkEA\n-----END PRIVATE KEY-----";

function configError(input: unknown): ConfigError {
  try {
    createSalesforceAdapter(input as never);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error("expected a ConfigError");
}

describe("SalesforceConfigSchema", () => {
  it("fills in defaults: production login, API 62.0, batches of 200, default field names", () => {
    const c = parseSalesforceConfig({
      kind: "salesforce",
      auth: { kind: "jwt", clientId: "3MVG9x", username: "int@acme.com", privateKey: PEM },
    });
    expect(c.auth).toMatchObject({ loginUrl: "https://login.salesforce.com" });
    expect(c).toMatchObject({ apiVersion: "62.0", batchSize: 200, pageSize: 2000, defaultCurrency: "USD" });
    expect(c.fields).toMatchObject({
      optIn: "Cosell_Sync__c",
      referralId: "Cosell_Referral_Id__c",
      campaign: "CampaignId",
    });
  });

  it.each([
    "https://test.salesforce.com",
    "https://acme.my.salesforce.com/",
    "https://acme--uat.sandbox.my.salesforce.com",
    "http://127.0.0.1:4003",
  ])("accepts the login URL %s", (loginUrl) => {
    const c = parseSalesforceConfig({
      kind: "salesforce",
      auth: { kind: "clientCredentials", clientId: "id", clientSecret: "s", loginUrl },
    });
    expect(c.auth.loginUrl).toBe(loginUrl.replace(/\/$/, ""));
  });

  it("accepts the refresh token flow without a client secret", () => {
    const c = SalesforceConfigSchema.parse({
      kind: "salesforce",
      auth: { kind: "refreshToken", clientId: "id", refreshToken: "5Aep861abc" },
    });
    expect(c.auth.kind).toBe("refreshToken");
  });

  it.each<[string, unknown, string]>([
    ["plain http to a remote host", { loginUrl: "http://login.salesforce.com" }, "crm.auth.loginUrl"],
    ["a Lightning host", { loginUrl: "https://acme.lightning.force.com" }, "crm.auth.loginUrl"],
    ["no client secret", { clientSecret: undefined }, "crm.auth.clientSecret"],
  ])("rejects %s naming the key", (_label, override, key) => {
    const e = configError({
      kind: "salesforce",
      auth: {
        kind: "clientCredentials",
        clientId: "id",
        clientSecret: "s",
        loginUrl: "https://acme.my.salesforce.com",
        ...(override as object),
      },
    });
    expect(e.code).toBe("CONFIG_SALESFORCE_INVALID");
    expect(e.message.startsWith(`${key}:`)).toBe(true);
    expect(e.details.key).toBe(key);
  });

  it("rejects a batch size above Salesforce's 200, a non-PEM key, an unknown auth kind and a bad field name", () => {
    const base = {
      kind: "salesforce",
      auth: { kind: "jwt", clientId: "id", username: "u@x", privateKey: PEM },
    };
    expect(configError({ ...base, batchSize: 201 }).details.key).toBe("crm.batchSize");
    expect(configError({ ...base, batchSize: 201 }).message).toBe(
      "crm.batchSize: a Salesforce collection request holds at most 200 records: set crm.batchSize to 200 or less (default 200).",
    );
    expect(configError({ ...base, batchSize: 0 }).message).toBe(
      "crm.batchSize: set crm.batchSize to at least 1 (default 200).",
    );
    expect(configError({ ...base, auth: { ...base.auth, privateKey: "secret" } }).details.key).toBe(
      "crm.auth.privateKey",
    );
    expect(configError({ ...base, auth: { kind: "password" } }).details.key).toBe("crm.auth.kind");
    expect(configError({ ...base, fields: { optIn: "Sync" } }).details.key).toBe("crm.fields.optIn");
    expect(configError({ ...base, stages: { toDeal: { Won: "done" } } }).details.key).toBe(
      "crm.stages.toDeal.Won",
    );
    // The sellers' permission set cannot double as the integration user's.
    const clash = configError({ ...base, permissionSet: "Cosell_Seller" });
    expect(clash.details.key).toBe("crm.permissionSet");
    expect(clash.message).toContain("choose another name");
  });

  it("crm.layouts: the standard Opportunity layout by default; a name that is not an Opportunity layout's full name is refused", () => {
    const base = {
      kind: "salesforce",
      auth: { kind: "jwt", clientId: "id", username: "u@x", privateKey: PEM },
    };
    expect(parseSalesforceConfig(base).layouts).toEqual(["Opportunity-Opportunity Layout"]);
    expect(parseSalesforceConfig({ ...base, layouts: [" Opportunity-Sales Layout "] }).layouts).toEqual([
      "Opportunity-Sales Layout",
    ]);
    const bare = configError({ ...base, layouts: ["Sales Layout"] });
    expect(bare.details.key).toBe("crm.layouts.0");
    expect(bare.message).toBe(
      'crm.layouts.0: must be an Opportunity page layout\'s full name: "Opportunity-" followed by the layout\'s name, such as "Opportunity-Opportunity Layout".',
    );
    expect(configError({ ...base, layouts: [] }).message).toContain("name at least one page layout");
    expect(configError({ ...base, layouts: "Opportunity-Opportunity Layout" }).message).toContain(
      "set crm.layouts to a list",
    );
    expect(configError({ ...base, layouts: ["Opportunity-A", "Opportunity-a"] }).message).toContain(
      "names a page layout twice",
    );
  });

  it("never echoes a secret in the error", () => {
    const e = configError({
      kind: "salesforce",
      auth: { kind: "clientCredentials", clientId: "id", clientSecret: "super-secret", loginUrl: "ftp://x" },
    });
    expect(JSON.stringify(e.toJSON())).not.toContain("super-secret");
  });
});
