import { describe, expect, it } from "vitest";
import { resolveRules } from "../../src/sync/engine.js";
import { PARTNER_CENTER_OWNED_FIELDS, SYNC_FIELDS, SyncRulesSchema } from "../../src/sync/types.js";

const all = Object.fromEntries(SYNC_FIELDS.map((f) => [f, "both"]));

describe("resolveRules", () => {
  it("Partner Center's own fields flow to the CRM only, whatever the config and the adapter say", () => {
    const rules = SyncRulesSchema.parse({
      directions: Object.fromEntries(PARTNER_CENTER_OWNED_FIELDS.map((f) => [f, "toPartnerCenter"])),
    });
    expect(PARTNER_CENTER_OWNED_FIELDS.map((f) => resolveRules(rules, all).directions[f])).toEqual(
      PARTNER_CENTER_OWNED_FIELDS.map(() => "none"),
    );
    const open = resolveRules(SyncRulesSchema.parse({}), all);
    for (const f of PARTNER_CENTER_OWNED_FIELDS) expect(open.directions[f]).toBe("toCrm");
  });

  it("a field the adapter does not declare is not synced; the seller's fields flow both ways", () => {
    const r = resolveRules(SyncRulesSchema.parse({}), { name: "both", favorite: "both" });
    expect(r.directions.name).toBe("both");
    expect(r.directions.favorite).toBe("both");
    expect(r.directions.salesStage).toBe("none");
    expect(r.directions.expiresAt).toBe("none");
  });
});
