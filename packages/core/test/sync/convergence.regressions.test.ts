import { describe, it } from "vitest";
import { type Action, playToQuiet } from "./convergence-model.js";

/**
 * Counterexamples the convergence property test once found, replayed as they were shrunk, so each
 * stays fixed whatever seed the property test runs with.
 */
const recorded: Record<string, Action[]> = {
  // Seed -139531420. The crash at crm-apply left the recovered create's ledger entry for the notes
  // ("bravo") behind; the engine's later write ("alpha") was answered but its cycle crashed before the
  // commit that drops unechoed entries. Microsoft's edit back to "bravo" was then swallowed as our echo
  // and reached the CRM a cycle late (and would not have, had nothing else changed the referral).
  // Fixed: an answered write forgets the field's older entries at once (Engine.supersedeLedger).
  "crash at crm-apply, crash at link-before-create, inbound notes edit, help request": [
    { t: "create", optedIn: true },
    { t: "create", optedIn: true },
    { t: "crmNotes", i: 0, s: "bravo" },
    { t: "crash", point: "crm-apply", occurrence: 1 },
    { t: "crmNotes", i: 0, s: "alpha" },
    { t: "inbound" },
    { t: "crash", point: "link-before-create", occurrence: 2 },
    { t: "optIn", i: 0 },
    { t: "msNotes", j: 0, s: "bravo" },
    { t: "inbound" },
    { t: "advance", ms: 1000 },
    { t: "help", i: 0 },
  ],
  // Microsoft's decline of the invitation once closed the partner's deal; it is now Microsoft's answer
  // on the connected referral, and the deal (with Microsoft's notes edit) stays as it was.
  "help request, Microsoft's notes edit, Microsoft declines the invitation": [
    { t: "create", optedIn: true },
    { t: "create", optedIn: true },
    { t: "help", i: 0 },
    { t: "sync" },
    { t: "msNotes", j: 0, s: "alpha" },
    { t: "msNotes", j: 0, s: "alpha" },
    { t: "msDecline", j: 0 },
    { t: "sync" },
    { t: "sync" },
  ],
};

describe("convergence: recorded counterexamples", () => {
  for (const [name, actions] of Object.entries(recorded)) it(name, () => playToQuiet(actions));
});
