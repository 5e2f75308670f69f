import { completeDeal, sampleInbound } from "@cosell/core/testing";
import { describe, expect, it } from "vitest";
import { type BatchPart, buildBatch, groupByOperations } from "../src/batch.js";
import { columnsFor } from "../src/columns.js";
import { parseDynamicsConfig } from "../src/config.js";
import type { Row } from "../src/mapping.js";
import { createChangeSets } from "../src/writes.js";

/**
 * `$batch` request lines and headers take only values that were checked: ids as GUIDs, ETags as
 * ETags, Partner Center's text URL-encoded. A value that could end the embedded request (a line
 * break) or the request line (a space) is refused before anything is sent.
 */
const cfg = parseDynamicsConfig({
  tenantId: "t",
  clientId: "c",
  clientSecret: "s",
  environmentUrl: "https://contoso.crm.dynamics.com",
});
const c = columnsFor("cosell");
const OPP = "3f2504e0-4f89-11d3-9a0c-0305e82c3301";

function changeSets(seen: Map<string, Row>) {
  return createChangeSets({
    cfg,
    c,
    url: (p) => `https://contoso.crm.dynamics.com/api/data/v9.2/${p}`,
    now: () => new Date("2026-12-01T00:00:00Z"),
    getMany: async (urls) => urls.map(() => []),
    loadCurrencies: async () => ({ byCode: new Map([["USD", "11111111-2222-3333-4444-555555555555"]]) }),
    seen,
  });
}
const status = { state: "synced" as const, lastError: null };

describe("dynamics $batch: only validated values reach request lines and headers", () => {
  it("refuses a header value with a line break (an injected request)", () => {
    expect(() =>
      buildBatch([
        {
          kind: "changeset",
          ops: [
            {
              method: "PATCH",
              url: `https://contoso.crm.dynamics.com/api/data/v9.2/opportunities(${OPP})`,
              headers: { "If-Match": 'W/"1"\r\n\r\nDELETE opportunities HTTP/1.1' },
              body: {},
            },
          ],
        },
      ]),
    ).toThrow(expect.objectContaining({ code: "DATAVERSE_VALUE_INVALID" }));
  });

  it("refuses a request URL with a space or line break", () => {
    for (const url of ["opportunities(x) HTTP/1.1\r\nX: y", "opportunities(a b)"])
      expect(() => buildBatch([{ kind: "request", op: { method: "GET", url } }])).toThrow(
        expect.objectContaining({ code: "DATAVERSE_VALUE_INVALID" }),
      );
  });

  it("an update of a row whose etag is not an ETag is refused for that record", async () => {
    const seen = new Map<string, Row>([
      [OPP, { opportunityid: OPP, statecode: 0, "@odata.etag": 'W/"1"\r\nIf-Match: *' }],
    ]);
    const { opsFor } = changeSets(seen);
    await expect(opsFor({ op: "status", crmId: OPP, status })).rejects.toMatchObject({
      code: "DATAVERSE_VALUE_INVALID",
    });
  });

  it("an update for an id that is not a GUID is refused for that record", async () => {
    const bad = `${OPP})?$filter=x`;
    const { opsFor } = changeSets(new Map([[bad, { opportunityid: bad, statecode: 0 }]]));
    await expect(opsFor({ op: "status", crmId: bad, status })).rejects.toMatchObject({
      code: "DATAVERSE_VALUE_INVALID",
    });
  });

  it("a create's referral id is quoted and URL-encoded in the alternate-key URL", async () => {
    const { opsFor } = changeSets(new Map());
    const referralId = "ref 1') HTTP/1.1\r\nX-Evil: 1";
    const deal = completeDeal(sampleInbound(), new Date("2026-12-01T00:00:00Z"));
    const ops = await opsFor({ op: "create", referralId, deal, status });
    const upsert = ops.at(-1)!;
    expect(upsert.url).not.toMatch(/\s/);
    expect(decodeURIComponent(upsert.url)).toContain(`${c.referralId}='ref 1'') HTTP/1.1\r\nX-Evil: 1'`);
    expect(() => buildBatch([{ kind: "changeset", ops }])).not.toThrow();
  });
});

describe("$batch size", () => {
  const get: BatchPart = { kind: "request", op: { method: "GET", url: "https://x/api/data/v9.2/accounts" } };
  const set = (n: number): BatchPart => ({
    kind: "changeset",
    ops: Array.from({ length: n }, () => ({ method: "PATCH" as const, url: "https://x/a", body: {} })),
  });
  const sizes = (groups: BatchPart[][]) =>
    groups.map((g) => g.reduce((n, p) => n + (p.kind === "changeset" ? p.ops.length : 1), 0));

  it("groups by operation count (each request of a change set counts), never splitting a change set", () => {
    expect(sizes(groupByOperations(Array.from({ length: 400 }, () => set(3))))).toEqual([999, 201]);
    expect(sizes(groupByOperations([...Array.from({ length: 1000 }, () => get), get]))).toEqual([1000, 1]);
    expect(
      groupByOperations(
        Array.from({ length: 4 }, () => set(3)),
        6,
      ).map((g) => g.length),
    ).toEqual([2, 2]);
  });

  it("refuses a change set that no batch could carry", () => {
    expect(() => groupByOperations([set(1001)])).toThrow(/does not fit in one \$batch/);
  });
});
