import fc from "fast-check";
import { describe, it } from "vitest";
import { type Action, CHECKPOINT_NAMES, DAY, NOTES, playToQuiet } from "./convergence-model.js";

/**
 * Model-based convergence: random interleavings of seller edits, Microsoft actions, clock jumps, sync
 * cycles and crashes (a cycle that dies at a random checkpoint, then a resumed cycle) must end — after
 * a final pair of quiet cycles — where a simple oracle says, under `crm-wins`:
 * one referral per opted-in record, no duplicates on either side, the last writer's values (the CRM's
 * when both sides changed a field), and a second quiet cycle that writes nothing.
 *
 * The oracle restates the spec, not the planner: a three-way merge per field against the last agreed
 * value; Partner Center takes a field only while the referral is accepted (or being accepted in the
 * same cycle); archived referrals are read-only and their stage wins; a CRM only knows "closed lost".
 */

/** Which record an action picks (modulo how many there are); biased to the first, so chains of edits on one deal are common. */
const idx = fc.oneof({ weight: 2, arbitrary: fc.constant(0) }, { weight: 3, arbitrary: fc.nat({ max: 20 }) });
const actionArb: fc.Arbitrary<Action> = fc.oneof(
  { weight: 2, arbitrary: fc.record({ t: fc.constant("create" as const), optedIn: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant("optIn" as const), i: idx }) },
  {
    weight: 6,
    arbitrary: fc.record({ t: fc.constant("crmNotes" as const), i: idx, s: fc.constantFrom(...NOTES) }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      t: fc.constant("crmAmount" as const),
      i: idx,
      n: fc.integer({ min: 1, max: 4 }).map((x) => x * 10_000),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      t: fc.constant("crmStage" as const),
      i: idx,
      stage: fc.constantFrom("accepted" as const, "won" as const, "lost" as const),
    }),
  },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("help" as const), i: idx }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant("inbound" as const) }) },
  {
    weight: 6,
    arbitrary: fc.record({ t: fc.constant("msNotes" as const), j: idx, s: fc.constantFrom(...NOTES) }),
  },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("msEngage" as const), j: idx }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("msDecline" as const), j: idx }) },
  {
    weight: 2,
    arbitrary: fc.record({
      t: fc.constant("advance" as const),
      ms: fc.oneof(
        { weight: 4, arbitrary: fc.integer({ min: 1000, max: 6 * 3_600_000 }) },
        { weight: 1, arbitrary: fc.constant(15 * DAY) },
      ),
    }),
  },
  { weight: 7, arbitrary: fc.record({ t: fc.constant("sync" as const) }) },
  {
    weight: 4,
    arbitrary: fc.record({
      t: fc.constant("crash" as const),
      point: fc.constantFrom(...CHECKPOINT_NAMES),
      occurrence: fc.integer({ min: 1, max: 3 }),
    }),
  },
);

/** A few records on each side to start from, then anything. */
const scenarioArb: fc.Arbitrary<Action[]> = fc
  .tuple(
    fc.array(
      fc.constantFrom<Action>(
        { t: "create", optedIn: true },
        { t: "create", optedIn: false },
        { t: "inbound" },
      ),
      { minLength: 2, maxLength: 5 },
    ),
    fc.array(actionArb, { minLength: 5, maxLength: 40 }),
  )
  .map(([start, rest]) => [...start, ...rest]);

/** The seed: fixed by default, `COSELL_PROPERTY_SEED=<n>` to replay one, `=random` to explore. */
function propertySeed(): { seed?: number } {
  const v = process.env.COSELL_PROPERTY_SEED;
  if (v === "random") return {};
  return { seed: v ? Number(v) : 20261205 };
}

const RUNS = Number(process.env.COSELL_PROPERTY_RUNS ?? 200);

describe("convergence under random interleavings (crm-wins)", () => {
  // A soak run (thousands of runs) gets time in proportion; the default stays within vitest's own.
  const timeout = Math.max(30_000, RUNS * 50);
  it("ends where the oracle says, with no duplicates and a quiet second cycle", { timeout }, async () => {
    await fc.assert(
      fc.asyncProperty(scenarioArb, (actions) => playToQuiet(actions)),
      // 200 in CI; COSELL_PROPERTY_RUNS=5000 for a soak run. CI uses a fixed seed so a red run is
      // reproducible: COSELL_PROPERTY_SEED=<n> replays one, =random explores. A counterexample found
      // is added, shrunk, to convergence.regressions.test.ts once fixed.
      {
        numRuns: RUNS,
        ...propertySeed(),
      },
    );
  });
});
