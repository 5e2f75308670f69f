import { describe, expect, it } from "vitest";
import {
  ConfigError,
  DEAL_PATHS,
  directionsOf,
  parseFieldMap,
  readThroughMap,
  syncFieldOf,
  writeThroughMap,
} from "../../src/index.js";
import { agreedOutbound } from "./fixtures.js";

/** Runs `fn` and returns the ConfigError it throws (fails the test when it does not throw one). */
function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error("expected a ConfigError");
}

const STAGES = {
  toDeal: { Prospecting: "accepted", "Closed Won": "won", "Closed Lost": "lost" },
};

describe("parseFieldMap: errors name the key", () => {
  it("accepts a valid map and fills defaults", () => {
    const map = parseFieldMap({
      fields: [
        { crm: "Amount", deal: "value.amount" },
        { crm: "StageName", deal: "stage", valueMap: "stage" },
      ],
      valueMaps: { stage: STAGES },
    });
    expect(map.fields[0]!.direction).toBe("both");
    expect(map.valueMaps.stage?.toDeal["Closed Won"]).toBe("won");
  });

  it("an unknown canonical path names fields.<i>.deal and lists the valid paths", () => {
    const e = configError(() =>
      parseFieldMap({
        fields: [
          { crm: "Amount", deal: "value.amount" },
          { crm: "X", deal: "value.total" },
        ],
      }),
    );
    expect(e.code).toBe("CONFIG_MAPPING_INVALID");
    expect(e.details.key).toBe("mapping.fields.1.deal");
    expect(e.message).toMatch(/^mapping\.fields\.1\.deal: /);
    for (const p of DEAL_PATHS) expect(e.message).toContain(p);
  });

  it("a bad direction names the key and says which directions exist", () => {
    const e = configError(() =>
      parseFieldMap(
        { fields: [{ crm: "Description", deal: "notes", direction: "upstream" }] },
        "salesforce.mapping",
      ),
    );
    expect(e.code).toBe("CONFIG_MAPPING_INVALID");
    expect(e.details.key).toBe("salesforce.mapping.fields.0.direction");
    expect(e.message).toContain("Use both, toCrm, toPartnerCenter or none.");
  });

  it("a value map that is referenced but not defined names fields.<i>.valueMap", () => {
    const e = configError(() =>
      parseFieldMap({ fields: [{ crm: "StageName", deal: "stage", valueMap: "stages" }] }),
    );
    expect(e.code).toBe("CONFIG_MAPPING_INVALID");
    expect(e.details.key).toBe("mapping.fields.0.valueMap");
    expect(e.message).toContain('value map "stages" is not defined');
  });

  it("an unknown key in a mapping is refused (typos do not pass silently)", () => {
    const e = configError(() =>
      parseFieldMap({ fields: [{ crm: "Amount", deal: "value.amount", dirction: "both" }] }),
    );
    expect(e.code).toBe("CONFIG_MAPPING_INVALID");
    expect(String(e.details.key)).toMatch(/^mapping\.fields\.0/);
  });

  it("an empty CRM field name names fields.<i>.crm", () => {
    const e = configError(() => parseFieldMap({ fields: [{ crm: "", deal: "name" }] }));
    expect(e.details.key).toBe("mapping.fields.0.crm");
  });

  it("lists every issue, not only the first", () => {
    const e = configError(() => parseFieldMap({ fields: [{ crm: "", deal: "nope" }] }));
    const issues = e.details.issues as { path: string }[];
    expect(issues.map((i) => i.path).sort()).toEqual(["mapping.fields.0.crm", "mapping.fields.0.deal"]);
  });
});

describe("field map as data", () => {
  it("closeReason belongs to the stage field; nested paths to their head", () => {
    expect(syncFieldOf("closeReason")).toBe("stage");
    expect(syncFieldOf("customer.address.country")).toBe("customer");
    expect(syncFieldOf("invitation.helpNotes")).toBe("invitation");
  });

  it("directionsOf: a field is as open as its mappings; unmapped fields are absent (none)", () => {
    const map = parseFieldMap({
      fields: [
        { crm: "Amount", deal: "value.amount", direction: "toPartnerCenter" },
        { crm: "CurrencyIsoCode", deal: "value.currency", direction: "toCrm" },
        { crm: "Description", deal: "notes", direction: "none" },
        { crm: "NextStep", deal: "notes", direction: "toCrm" },
        { crm: "Name", deal: "name" },
      ],
    });
    expect(directionsOf(map)).toEqual({ value: "both", notes: "toCrm", name: "both" });
  });

  it("readThroughMap applies defaults and value maps, and reports unmapped values as VALUE_NOT_MAPPED", () => {
    const map = parseFieldMap({
      fields: [
        { crm: "Name", deal: "name" },
        { crm: "CurrencyIsoCode", deal: "value.currency", default: "USD" },
        { crm: "Amount", deal: "value.amount" },
        { crm: "StageName", deal: "stage", valueMap: "stage" },
        { crm: "Account.BillingCountry", deal: "customer.address.country" },
        { crm: "Secret__c", deal: "notes", direction: "none" },
      ],
      valueMaps: { stage: STAGES },
    });
    const ok = readThroughMap(
      {
        Name: "Deal",
        Amount: 10,
        CurrencyIsoCode: "",
        StageName: "Closed Won",
        Account: { BillingCountry: "US" },
        Secret__c: "x",
      },
      map,
    );
    expect(ok.issues).toEqual([]);
    expect(ok.values).toEqual({
      name: "Deal",
      value: { amount: 10, currency: "USD" },
      stage: "won",
      customer: { address: { country: "US" } },
    });
    const bad = readThroughMap({ Name: "Deal", StageName: "Negotiation" }, map);
    expect(bad.issues).toEqual([
      expect.objectContaining({
        code: "VALUE_NOT_MAPPED",
        path: "stage",
        message: expect.stringContaining("mapping.valueMaps.stage.toDeal"),
      }),
    ]);
    expect(bad.values.stage).toBeUndefined();
  });

  it("writeThroughMap writes only the requested fields that flow to the CRM, through the inverse value map", () => {
    const map = parseFieldMap({
      fields: [
        { crm: "Name", deal: "name", direction: "toPartnerCenter" },
        { crm: "Amount", deal: "value.amount" },
        { crm: "Description", deal: "notes" },
        { crm: "StageName", deal: "stage", valueMap: "stage" },
        { crm: "Loss_Reason__c", deal: "closeReason" },
        { crm: "Account.Name", deal: "customer.name" },
      ],
      valueMaps: { stage: STAGES },
    });
    const deal = { ...agreedOutbound(), stage: "lost" as const, closeReason: "Budget", notes: undefined };
    expect(writeThroughMap(deal, ["name", "value", "stage", "customer", "notes"], map)).toEqual({
      Amount: 50_000,
      StageName: "Closed Lost",
      Loss_Reason__c: "Budget",
      Description: null,
    });
    expect(writeThroughMap(deal, ["closeDate"], map)).toEqual({});
  });
});
