import {
  type CoSellDeal,
  type CrmWrite,
  type MicrosoftTeamMember,
  RemoteApiError,
  type Solution,
} from "@cosell/core";
import type { BatchOperation } from "./batch.js";
import type { CatalogRowIds } from "./catalog.js";
import { choiceOf } from "./columns.js";
import { chunks, IDS_PER_QUERY, orEq, q, quote } from "./query.js";
import { SOLUTION_KIND_CHOICE, type SolutionTableNames } from "./solution-tables.js";

type Row = Record<string, unknown>;

/** What an opportunity has in cosell's own tables: related catalog rows and Microsoft's team rows. */
export interface RelatedRows {
  solutions: { rowId: string; solution: Solution }[];
  team: { rowId: string; member: MicrosoftTeamMember }[];
}

/** How to reach the rows: several GETs in one round trip. */
type GetMany = (urls: readonly string[]) => Promise<Row[][]>;

/**
 * Reads the solutions (through the N:N, `$expand` of the collection) and Microsoft's team rows of a
 * page of opportunities: two queries per 40 opportunities, sent together, never one per deal.
 */
export async function readRelatedRows(
  t: SolutionTableNames,
  optionValuePrefix: number,
  getMany: GetMany,
  opportunityIds: readonly string[],
): Promise<Map<string, RelatedRows>> {
  const queries = relatedRowQueries(t, opportunityIds);
  return collectRelatedRows(
    t,
    optionValuePrefix,
    opportunityIds,
    queries,
    await getMany(queries.map((x) => x.url)),
  );
}

/** One query of {@link relatedRowQueries}. */
export interface RelatedRowQuery {
  kind: "solutions" | "team";
  url: string;
}

/** The queries that read the related rows of these opportunities (to send with other reads). */
export function relatedRowQueries(
  t: SolutionTableNames,
  opportunityIds: readonly string[],
): RelatedRowQuery[] {
  const solutionSelect = [t.solutionId, t.partnerCenterId, t.name, t.kind].join(",");
  const teamSelect = [
    t.teamId,
    t.firstName,
    t.lastName,
    t.email,
    t.phone,
    t.role,
    `_${t.teamOpportunity}_value`,
  ].join(",");
  const urls: RelatedRowQuery[] = [];
  for (const chunk of chunks([...new Set(opportunityIds)], IDS_PER_QUERY)) {
    urls.push({
      kind: "solutions",
      url: `opportunities?$select=opportunityid&$filter=${q(orEq("opportunityid", chunk))}&$expand=${t.opportunitySolution}($select=${solutionSelect})`,
    });
    urls.push({
      kind: "team",
      url: `${t.teamSet}?$select=${teamSelect}&$filter=${q(orEq(`_${t.teamOpportunity}_value`, chunk))}&$orderby=${q(`${t.email} asc`)}`,
    });
  }
  return urls;
}

/** The related rows per opportunity, from the answers to {@link relatedRowQueries}. */
export function collectRelatedRows(
  t: SolutionTableNames,
  optionValuePrefix: number,
  opportunityIds: readonly string[],
  urls: readonly RelatedRowQuery[],
  results: readonly Row[][],
): Map<string, RelatedRows> {
  const out = new Map<string, RelatedRows>(
    opportunityIds.map((id) => [id, { solutions: [], team: [] } satisfies RelatedRows]),
  );
  results.forEach((rows, i) => {
    for (const r of rows) {
      if (urls[i]!.kind === "solutions") {
        const related = out.get(String(r.opportunityid));
        for (const s of (r[t.opportunitySolution] as Row[] | undefined) ?? []) {
          const id = s[t.partnerCenterId];
          if (typeof id !== "string" || !id) continue;
          const kind =
            typeof s[t.kind] === "number"
              ? choiceOf(SOLUTION_KIND_CHOICE, optionValuePrefix, s[t.kind] as number)
              : undefined;
          related?.solutions.push({
            rowId: String(s[t.solutionId]),
            solution: {
              id,
              name: typeof s[t.name] === "string" ? (s[t.name] as string) : id,
              kind: kind ?? "thirdParty",
            },
          });
        }
      } else {
        const related = out.get(String(r[`_${t.teamOpportunity}_value`]));
        const text = (col: string) => (typeof r[col] === "string" ? (r[col] as string) : "");
        related?.team.push({
          rowId: String(r[t.teamId]),
          member: {
            firstName: text(t.firstName),
            lastName: text(t.lastName),
            email: text(t.email),
            phone: text(t.phone),
            ...(text(t.role) ? { role: text(t.role) } : {}),
          },
        });
      }
    }
  });
  return out;
}

/** The deal as read, with its solutions and Microsoft's team from the related rows. */
export function withRelatedRows(deal: CoSellDeal, related: RelatedRows | undefined): CoSellDeal {
  if (!related) return deal;
  return {
    ...deal,
    solutions: related.solutions.map((s) => s.solution),
    ...(related.team.length ? { microsoftTeam: related.team.map((m) => m.member) } : {}),
  };
}

/** The fields whose writes go to the related rows rather than to opportunity columns. */
export const RELATED_FIELDS = ["solutions", "microsoftTeam"] as const;

/** Whether a write changes the related rows. */
export function touchesRelatedRows(w: CrmWrite): boolean {
  return w.op === "create"
    ? w.deal.solutions.length > 0 || (w.deal.microsoftTeam?.length ?? 0) > 0
    : w.op === "update" && RELATED_FIELDS.some((f) => w.fields.includes(f));
}

const sameMember = (a: MicrosoftTeamMember, b: MicrosoftTeamMember) =>
  a.firstName === b.firstName &&
  a.lastName === b.lastName &&
  a.email === b.email &&
  a.phone === b.phone &&
  (a.role ?? "") === (b.role ?? "");

/** What the ops of one record need: its URL path, the catalog's row ids, its current related rows. */
export interface RelatedOpsInput {
  t: SolutionTableNames;
  url(path: string): string;
  /** `opportunities(<id>)`, or the alternate-key path of a record created in the same change set (URL-encoded). */
  opportunityPath: string;
  /** The same, as an `@odata.bind` value (`/opportunities(…)`, not encoded). */
  opportunityBind: string;
  /** Catalog row id per Partner Center solution id (and why an entry could not be created). */
  catalog: CatalogRowIds;
  current: RelatedRows;
  solutions?: readonly Solution[];
  microsoftTeam?: readonly MicrosoftTeamMember[];
}

/**
 * The change-set operations that make the related rows say what the deal says: associate and
 * disassociate (`$ref`) only the solutions that differ
 * (learn.microsoft.com/power-apps/developer/data-platform/webapi/associate-disassociate-entities-using-web-api),
 * and create, update or delete team rows matched by email. A solution the catalog could not hold
 * fails the record's write with the reason (the next cycle tries again).
 */
export function relatedOps(i: RelatedOpsInput): BatchOperation[] {
  const { t } = i;
  const ops: BatchOperation[] = [];
  if (i.solutions) {
    const wanted = new Set(i.solutions.map((s) => s.id));
    const have = new Set(i.current.solutions.map((s) => s.solution.id));
    for (const s of i.current.solutions)
      if (!wanted.has(s.solution.id))
        ops.push({
          method: "DELETE",
          url: i.url(`${i.opportunityPath}/${t.opportunitySolution}(${s.rowId})/$ref`),
        });
    for (const s of i.solutions) {
      if (have.has(s.id)) continue;
      const rowId = i.catalog.ids.get(s.id);
      if (!rowId)
        throw new RemoteApiError(
          "DATAVERSE_CATALOG_WRITE_FAILED",
          `Solution ${s.id} is not in the co-sell solution catalog and Dataverse refused to add it (${i.catalog.failed.get(s.id) ?? "unknown reason"}). Give the application user create rights on ${t.solution} or add the solution with \`cosell solutions import\`; the next sync relates it.`,
        );
      ops.push({
        method: "POST",
        url: i.url(`${i.opportunityPath}/${t.opportunitySolution}/$ref`),
        body: { "@odata.id": i.url(`${t.solutionSet}(${rowId})`) },
      });
      have.add(s.id);
    }
  }
  if (i.microsoftTeam) {
    const key = (m: MicrosoftTeamMember) => m.email.toLowerCase() || `${m.firstName} ${m.lastName}`;
    const byKey = new Map(i.current.team.map((m) => [key(m.member), m]));
    const wanted = new Set(i.microsoftTeam.map(key));
    for (const m of i.current.team)
      if (!wanted.has(key(m.member)))
        ops.push({ method: "DELETE", url: i.url(`${t.teamSet}(${m.rowId})`), headers: { "If-Match": "*" } });
    for (const m of i.microsoftTeam) {
      const row: Row = {
        [t.name]: `${m.firstName} ${m.lastName}`.trim() || m.email,
        [t.firstName]: m.firstName || null,
        [t.lastName]: m.lastName || null,
        [t.email]: m.email || null,
        [t.phone]: m.phone || null,
        [t.role]: m.role ?? null,
      };
      const existing = byKey.get(key(m));
      if (existing && sameMember(existing.member, m)) continue;
      ops.push(
        existing
          ? {
              method: "PATCH",
              url: i.url(`${t.teamSet}(${existing.rowId})`),
              headers: { "If-Match": "*" },
              body: row,
            }
          : {
              method: "POST",
              url: i.url(t.teamSet),
              body: { ...row, [`${t.teamOpportunityNav}@odata.bind`]: i.opportunityBind },
            },
      );
    }
  }
  return ops;
}

/**
 * The related rows of opportunities that already carry these referral ids: a create retried after
 * its change set went through upserts the same opportunity, and associating a solution it already has
 * is refused by Dataverse, so its relations must be known first. Two round trips, only for creates.
 */
export async function readRelatedRowsByReferral(
  t: SolutionTableNames,
  referralColumn: string,
  optionValuePrefix: number,
  getMany: GetMany,
  referralIds: readonly string[],
): Promise<Map<string, RelatedRows>> {
  const urls = chunks([...new Set(referralIds)], IDS_PER_QUERY).map(
    (chunk) =>
      `opportunities?$select=opportunityid,${referralColumn}&$filter=${q(orEq(referralColumn, chunk, quote))}`,
  );
  const found = (await getMany(urls)).flat();
  if (!found.length) return new Map();
  const byId = await readRelatedRows(
    t,
    optionValuePrefix,
    getMany,
    found.map((r) => String(r.opportunityid)),
  );
  return new Map(found.map((r) => [String(r[referralColumn]), byId.get(String(r.opportunityid))!]));
}
