import type { CrmWrite, CrmWriteResult } from "@cosell/core";
import type { SalesforceClient } from "./client.js";
import { writeDealSolutions } from "./solution-rows.js";
import { writeMicrosoftTeams } from "./team-rows.js";

/** Whether a write carries this field to the opportunity (a create carries them all). */
const carries = (w: CrmWrite, field: "solutions" | "microsoftTeam") =>
  w.op === "create" || (w.op === "update" && w.fields.includes(field));

/**
 * After the opportunities are written: their solutions as Cosell_Deal_Solution__c rows and Microsoft's
 * team as Cosell_Microsoft_Team_Member__c rows (a new opportunity has its id only now). An opportunity
 * whose rows Salesforce refused is reported failed, so the engine writes it again next cycle.
 */
export async function writeRelatedRecords(
  client: SalesforceClient,
  writes: readonly CrmWrite[],
  results: CrmWriteResult[],
): Promise<void> {
  const done = writes.flatMap((w, i) => {
    const r = results[i];
    return r?.ok && w.op !== "status" ? [{ i, w, deal: w.deal, crmId: r.crmId }] : [];
  });
  const solutions = done
    .filter(({ w }) => carries(w, "solutions"))
    .map(({ deal, crmId }) => ({ crmId, solutions: deal.solutions }));
  const teams = done
    .filter(({ w }) => carries(w, "microsoftTeam"))
    .map(({ deal, crmId }) => ({ crmId, team: deal.microsoftTeam ?? [] }));
  const failed = new Map([
    ...(await writeDealSolutions(client, solutions)),
    ...(await writeMicrosoftTeams(client, teams)),
  ]);
  for (const { i, crmId } of done) {
    const reason = failed.get(crmId);
    if (reason)
      results[i] = {
        ok: false,
        crmId,
        error: {
          code: "SALESFORCE_RELATED_RECORDS_FAILED",
          message: `The opportunity was saved but its co-sell solutions or Microsoft team rows were not: ${reason}. Check the permission set Cosell_Sync grants the solution objects (\`cosell doctor\`).`,
          retryable: true,
        },
      };
  }
}
