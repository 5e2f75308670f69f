import type { MicrosoftTeamMember } from "@cosell/core";
import type { SalesforceClient } from "./client.js";
import type { Row } from "./mapping.js";
import { noteFailures } from "./related-failures.js";
import { memberOfRow, TEAM_COLUMNS } from "./related-read.js";
import { TEAM_FIELDS, TEAM_MEMBER_OBJECT } from "./solution-objects.js";
import { chunkSoqlIn } from "./soql-chunks.js";
import { soqlString } from "./writer.js";

const T = TEAM_FIELDS;
/** The fields a member is written with (the row's name is the person's full name, what the list shows). */
function fieldsOf(m: MicrosoftTeamMember): Row {
  const name = [m.firstName, m.lastName].filter(Boolean).join(" ") || m.email || "Microsoft";
  return {
    Name: name.slice(0, 80),
    [T.firstName]: m.firstName.slice(0, 80) || null,
    [T.lastName]: m.lastName.slice(0, 80) || null,
    [T.email]: m.email || null,
    [T.phone]: m.phone.slice(0, 40) || null,
    [T.role]: m.role?.slice(0, 255) || null,
  };
}

/** People are matched by email (Partner Center's key for them), by name when there is none. */
const keyOf = (m: MicrosoftTeamMember) => (m.email || `${m.firstName} ${m.lastName}`).trim().toLowerCase();

const sameRow = (r: Row, fields: Row) => Object.entries(fields).every(([k, v]) => (r[k] ?? null) === v);

/**
 * Makes each opportunity's Cosell_Microsoft_Team_Member__c rows say `team` (Partner Center's, written
 * only by cosell): adds, updates and removes only the rows that differ. Returns the opportunities
 * whose rows could not all be written, with Salesforce's reason.
 */
export async function writeMicrosoftTeams(
  client: SalesforceClient,
  targets: readonly { crmId: string; team: readonly MicrosoftTeamMember[] }[],
): Promise<Map<string, string>> {
  const failed = new Map<string, string>();
  if (!targets.length) return failed;
  const rows: Row[] = [];
  const prefix = `SELECT ${TEAM_COLUMNS} FROM ${TEAM_MEMBER_OBJECT} WHERE ${T.opportunity} IN (`;
  for (const soql of chunkSoqlIn(
    prefix,
    targets.map((t) => soqlString(t.crmId)),
    ")",
  ))
    rows.push(...(await client.query(soql)));
  const creates: Row[] = [];
  const updates: Row[] = [];
  const deletes: string[] = [];
  const owners: { create: string[]; update: string[]; delete: string[] } = {
    create: [],
    update: [],
    delete: [],
  };
  for (const t of targets) {
    const mine = new Map<string, Row>();
    for (const r of rows.filter((r) => r[T.opportunity] === t.crmId)) {
      const key = keyOf(memberOfRow(r));
      if (mine.has(key) || !t.team.some((m) => keyOf(m) === key)) {
        deletes.push(String(r.Id));
        owners.delete.push(t.crmId);
      } else mine.set(key, r);
    }
    for (const m of t.team) {
      const r = mine.get(keyOf(m));
      const fields = fieldsOf(m);
      if (!r) {
        creates.push({ attributes: { type: TEAM_MEMBER_OBJECT }, [T.opportunity]: t.crmId, ...fields });
        owners.create.push(t.crmId);
      } else if (!sameRow(r, fields)) {
        updates.push({ attributes: { type: TEAM_MEMBER_OBJECT }, id: r.Id, ...fields });
        owners.update.push(t.crmId);
      }
    }
  }
  if (deletes.length) noteFailures(failed, owners.delete, await client.destroy(deletes));
  if (updates.length) noteFailures(failed, owners.update, await client.update(updates));
  if (creates.length) noteFailures(failed, owners.create, await client.create(creates));
  return failed;
}
