import type { EngineDeps } from "../sync/engine.js";

/**
 * The executor's named checkpoints where a crash is most dangerous, in the order a create reaches
 * them: the link row is about to be written, the referral is about to be created, it was just
 * created, a CRM opportunity is about to be created, and the batch's CRM writes are about to go out.
 */
export const CHECKPOINTS = [
  "link-before-create",
  "create-referral",
  "after-create-referral",
  "crm-create",
  "crm-apply",
] as const;
/** One of {@link CHECKPOINTS}. (The executor also reports `partner-center-update` and `partner-center-transition`.) */
export type CheckpointName = (typeof CHECKPOINTS)[number];

/** Thrown by {@link crashAt}: stands for the process dying at that point. */
export class SimulatedCrash extends Error {
  constructor(readonly point: string) {
    super(`Simulated crash at checkpoint "${point}".`);
    this.name = "SimulatedCrash";
  }
}

/**
 * A `checkpoint` hook that throws a {@link SimulatedCrash} the `occurrence`-th time (default: first)
 * the executor reaches `point`, and never again.
 */
export function crashAt(point: string, occurrence = 1): NonNullable<EngineDeps["checkpoint"]> {
  let seen = 0;
  return (name) => {
    if (name === point && ++seen === occurrence) throw new SimulatedCrash(point);
  };
}
