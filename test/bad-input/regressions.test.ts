import { afterEach, describe, expect, it } from "vitest";
import { parseConfig } from "../../packages/cli/src/config-file.js";
import { ConfigSchema, change, env, type RawConfig, refusal, SECRET } from "./configs.fixtures.js";
import { clientFor, type FakePartnerCenter, fakePartnerCenter, sampleInbound, world } from "./fixtures.js";

/**
 * Bad-input cases found by the corpus and fixed since: odd Partner Center timestamps must not poison
 * the cursor, and a misspelt config key must not print the secrets next to it.
 */

let fake: FakePartnerCenter | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

describe("bad input: a referral's odd updatedDateTime never becomes the cursor", () => {
  it.each([
    ["unparseable", "not a date"],
    ["month 13", "2026-13-45T00:00:00Z"],
    ["far in the future", "2099-01-01T00:00:00Z"],
  ])("%s (%s): later changes still sync", async (_n, when) => {
    const w = world();
    fake = await fakePartnerCenter(w.pc);
    const client = clientFor(fake);
    const odd = w.pc.sendInbound(sampleInbound({ name: "Odd timestamp" }));
    fake.rules.push({
      method: "GET",
      pathIncludes: "$top=100",
      times: 1,
      reply: (real) => {
        const page = JSON.parse(real.body) as { value: Record<string, unknown>[] };
        return {
          ...real,
          body: JSON.stringify({
            value: page.value.map((r) => (r.id === odd.id ? { ...r, updatedDateTime: when } : r)),
          }),
        };
      },
    });
    await w.cycle(client);
    w.clock.advance(60_000);
    const later = w.pc.sendInbound(sampleInbound({ name: "Sent a minute later" }));

    const { summary } = await w.cycle(client);

    expect(summary.errors).toEqual([]);
    expect(w.crm.all().filter((o) => o.referralId === later.id)).toHaveLength(1);
  });
});

describe("bad input: a misspelt key never echoes its section's secrets", () => {
  it.each([
    [
      "misspelt top-level section",
      (c: RawConfig) => {
        c.partnerCentre = c.partnerCenter;
      },
    ],
    [
      "misspelt key next to a secret",
      (c: RawConfig) => {
        c.partnerCenter.pagesize = 50;
      },
    ],
  ] as const)("%s", (_n, mutate) => {
    const err = refusal(() => parseConfig(change(mutate)(), ConfigSchema, { env }));
    expect(err.code).toBe("CONFIG_INVALID");
    expect(err.message).not.toContain(SECRET);
    expect(JSON.stringify(err.details)).not.toContain(SECRET);
  });
});
