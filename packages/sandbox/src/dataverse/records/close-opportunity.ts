import type { Caller, Env } from "../env.js";
import { dvErrors } from "../errors.js";
import { isLookupRef, type Row } from "../store/store.js";
import { createRow, parseBody, writeValues } from "./writes.js";

/**
 * `WinOpportunity` / `LoseOpportunity` (dynamics.md §2.3): close the opportunity with the given
 * status reason and record an `opportunityclose` activity. These are the only way to reach Won/Lost.
 */
export function closeOpportunity(env: Env, outcome: "Won" | "Lost", input: unknown, caller: Caller): Row {
  if (typeof input !== "object" || input === null)
    throw dvErrors.badRequest(
      `${outcome === "Won" ? "WinOpportunity" : "LoseOpportunity"} expects a JSON body.`,
      "0x80060888",
    );
  const { Status, OpportunityClose } = input as { Status?: unknown; OpportunityClose?: unknown };
  if (typeof Status !== "number" || !Number.isInteger(Status))
    throw dvErrors.badRequest(
      "The parameter 'Status' is required: the status reason to close with (Won: 3; Lost: 4 or 5).",
      "0x80060888",
    );
  if (typeof OpportunityClose !== "object" || OpportunityClose === null)
    throw dvErrors.badRequest(
      "The parameter 'OpportunityClose' is required: an opportunityclose entity that binds opportunityid.",
      "0x80060888",
    );

  const closeTable = env.schema.require("opportunityclose");
  const oppTable = env.schema.require("opportunity");
  const closeValues = parseBody(env, closeTable, OpportunityClose);
  const ref = closeValues.opportunityid;
  if (!isLookupRef(ref))
    throw dvErrors.badRequest(
      'OpportunityClose must bind the opportunity: "opportunityid@odata.bind": "/opportunities(<id>)".',
      "0x80060888",
    );
  const opp = env.store.get(oppTable.logicalName, ref.id)!;
  const state = outcome === "Won" ? 1 : 2;
  if (opp.statecode !== 0) {
    const label = oppTable.columns.get("statecode")?.options?.find((o) => o.value === opp.statecode)?.label;
    throw dvErrors.closedReadOnly(ref.id, label ?? String(opp.statecode));
  }
  const statusOption = oppTable.columns.get("statuscode")?.options?.find((o) => o.value === Status);
  if (statusOption?.state !== state)
    throw dvErrors.invalidStatus(Status, `OpportunityState.${outcome}`, "opportunity", ref.id);

  const closeRow = createRow(
    env,
    closeTable,
    { ...(OpportunityClose as Record<string, unknown>), statecode: 1, statuscode: 2 },
    caller,
    { internal: true },
  );
  const actualEnd =
    typeof closeRow.actualend === "string" ? closeRow.actualend : env.clock.now().toISOString();
  const revenue = closeRow.actualrevenue;
  return writeValues(
    env,
    oppTable,
    opp,
    {
      statecode: state,
      statuscode: Status,
      actualclosedate: actualEnd.slice(0, 10),
      actualvalue:
        typeof revenue === "number"
          ? revenue
          : outcome === "Won"
            ? (opp.estimatedvalue ?? null)
            : (opp.actualvalue ?? null),
      closeprobability: outcome === "Won" ? 100 : 0,
    },
    caller,
    true,
  );
}
