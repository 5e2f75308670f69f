/**
 * What the bench reports of one `runCycle` result, whether the cycle ran in the bench process or in
 * a child (bench/cycle-child.mjs), so both report alike.
 */

/** `{ "crm.closeDate": 27, … }`: which fields the cycle's update steps wrote, by side. */
function updatedFields(steps) {
  const out = {};
  for (const s of steps)
    if (s.kind === "update")
      for (const f of s.fields) out[`${s.side}.${f}`] = (out[`${s.side}.${f}`] ?? 0) + 1;
  return out;
}

/** @param {import("@cosell/core").CycleResult} result */
export function cycleReport(result) {
  return {
    /** What the engine itself counted (adapter.stats() and the client's stats()). */
    engineCounted: result.summary.apiCalls,
    errors: result.summary.errors.length,
    firstErrors: result.summary.errors.slice(0, 3),
    steps: result.summary.steps,
    updatedFields: updatedFields(result.plan.steps),
  };
}
