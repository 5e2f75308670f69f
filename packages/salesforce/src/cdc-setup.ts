import { errorMessage, type VerifyReport } from "@cosell/core";
import type { SalesforceClient } from "./client.js";

/**
 * Selecting Opportunity for Change Data Capture, as Setup → Change Data Capture does, through the
 * Tooling API's PlatformEventChannelMember (Change Data Capture Developer Guide, "Select Objects for
 * Change Notifications with Metadata API and Tooling API"). The Tooling API rather than the Metadata
 * API: the Metadata API type supports neither createMetadata() nor deleteMetadata() (deploy only),
 * while the Tooling API creates and queries it with plain REST calls. Creating needs "Customize
 * Application", reading "View Setup and Configuration" (Tooling API: PlatformEventChannelMember).
 */

/** The standard channel's member for Opportunity: its developer name is `ChannelName_EventName`. */
export const OPPORTUNITY_MEMBER = "ChangeEvents_OpportunityChangeEvent";

const FIX =
  'Select Opportunity in Setup → Integrations → Change Data Capture (the integration user needs "Customize Application" for cosell setup to do it), or set crm.changeFeed to "poll". Without the add-on an org selects at most 5 entities.';

/** Whether Opportunity is selected on the standard ChangeEvents channel. */
async function isSelected(client: SalesforceClient): Promise<boolean> {
  const rows = await client.toolingQuery(
    `SELECT Id, DeveloperName, SelectedEntity FROM PlatformEventChannelMember WHERE DeveloperName = '${OPPORTUNITY_MEMBER}'`,
  );
  return rows.some((r) => String(r.SelectedEntity) === "OpportunityChangeEvent");
}

/** What setup did about Change Data Capture: one line for its report. */
export type CdcSetupOutcome =
  | { kind: "created"; line: string }
  | { kind: "unchanged"; line: string }
  | { kind: "skipped"; line: string };

/**
 * Selects Opportunity when it is not yet. An org that does not allow it (no permission, the
 * selected-entity allocation used up) is not a setup failure: cosell keeps polling, and says why.
 */
export async function ensureOpportunityChangeEvents(client: SalesforceClient): Promise<CdcSetupOutcome> {
  try {
    if (await isSelected(client))
      return { kind: "unchanged", line: "Change Data Capture selected for Opportunity" };
    const r = await client.toolingCreate("PlatformEventChannelMember", {
      FullName: OPPORTUNITY_MEMBER,
      Metadata: { eventChannel: "ChangeEvents", selectedEntity: "OpportunityChangeEvent" },
    });
    if (r.success === false) throw new Error(JSON.stringify(r.errors ?? []));
    return { kind: "created", line: `Change Data Capture selected for Opportunity (${OPPORTUNITY_MEMBER})` };
  } catch (e) {
    return {
      kind: "skipped",
      line: `Change Data Capture for Opportunity not selected (${errorMessage(e)}); edits reach cosell by polling. ${FIX}`,
    };
  }
}

/** The doctor check: is Opportunity selected, so that `cosell serve` gets its change events? */
export async function verifyOpportunityChangeEvents(
  client: SalesforceClient,
): Promise<VerifyReport["checks"][number]> {
  const name = "change data capture";
  try {
    return (await isSelected(client))
      ? {
          name,
          ok: true,
          detail:
            "Opportunity is selected for Change Data Capture: cosell serve subscribes to /data/OpportunityChangeEvent.",
        }
      : {
          name,
          ok: false,
          detail:
            "Opportunity is not selected for Change Data Capture: cosell serve would wait for its poll.",
          fix: `Run \`cosell setup\`. ${FIX}`,
        };
  } catch (e) {
    return {
      name,
      ok: false,
      detail: `The Change Data Capture selection could not be read: ${errorMessage(e)}.`,
      fix: `Give the integration user "View Setup and Configuration". ${FIX}`,
    };
  }
}
