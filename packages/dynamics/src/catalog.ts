import {
  type CatalogSolution,
  CatalogSolutionSchema,
  type CatalogUpsertResult,
  errorMessage,
  PageGuard,
  type SolutionCatalog,
  sameCatalogEntry,
} from "@cosell/core";
import { choiceOf, choiceValue } from "./columns.js";
import type { DynamicsConfig } from "./config.js";
import { dataverseError, type WebApiClient } from "./http.js";
import { chunks, IDS_PER_QUERY, orEq, q, quote } from "./query.js";
import { SOLUTION_KIND_CHOICE, solutionTableNames } from "./solution-tables.js";

type Row = Record<string, unknown>;

/** One catalog row as read: the entry and its row id. */
interface CatalogRow {
  rowId: string;
  entry: CatalogSolution;
}

/**
 * The solution catalog in the `<prefix>_solution` table: the Partner Center solution id is the
 * alternate key, so an upsert is a PATCH addressed by it
 * (learn.microsoft.com/power-apps/developer/data-platform/use-upsert-insert-update-record).
 */
export function createDataverseCatalog(http: WebApiClient, cfg: DynamicsConfig) {
  const t = solutionTableNames(cfg.publisherPrefix);
  const select = [t.solutionId, t.name, t.partnerCenterId, t.kind, t.active].join(",");
  const keyPath = (id: string) => `${t.solutionSet}(${t.partnerCenterId}=${q(quote(id))})`;

  const toRow = (r: Row): CatalogRow | undefined => {
    const id = r[t.partnerCenterId];
    if (typeof id !== "string" || !id) return undefined;
    const kind =
      typeof r[t.kind] === "number"
        ? choiceOf(SOLUTION_KIND_CHOICE, cfg.optionValuePrefix, r[t.kind] as number)
        : undefined;
    return {
      rowId: String(r[t.solutionId]),
      entry: {
        id,
        name: typeof r[t.name] === "string" && r[t.name] ? (r[t.name] as string) : id,
        // An option an admin added (or none) is read as third-party: the entry is still listed.
        kind: kind ?? "thirdParty",
        active: r[t.active] !== false,
      },
    };
  };

  const body = (e: CatalogSolution): Row => ({
    [t.name]: e.name,
    [t.kind]: choiceValue(SOLUTION_KIND_CHOICE, cfg.optionValuePrefix, e.kind),
    [t.active]: e.active,
  });

  /** The rows of the given Partner Center ids, one query per 40 ids. */
  async function rowsOf(ids: readonly string[]): Promise<Map<string, CatalogRow>> {
    const out = new Map<string, CatalogRow>();
    for (const chunk of chunks([...new Set(ids)], IDS_PER_QUERY)) {
      const res = await http.getJson<{ value: Row[] }>(
        `${t.solutionSet}?$select=${select}&$filter=${q(orEq(t.partnerCenterId, chunk, quote))}`,
        "reading the co-sell solution catalog",
      );
      for (const r of res.value) {
        const row = toRow(r);
        if (row) out.set(row.entry.id, row);
      }
    }
    return out;
  }

  /** PATCH by alternate key; the row id on success, the reason otherwise. */
  async function write(e: CatalogSolution, create: boolean): Promise<{ rowId?: string; reason?: string }> {
    const res = await http.send({
      method: "PATCH",
      url: `${keyPath(e.id)}?$select=${t.solutionId}`,
      headers: {
        Prefer: "return=representation",
        ...(create ? { "If-None-Match": "*" } : { "If-Match": "*" }),
      },
      body: body(e),
    });
    if (res.status >= 400)
      return { reason: dataverseError(res.text)?.message ?? `Dataverse answered ${res.status}.` };
    return { rowId: String((JSON.parse(res.text) as Row)[t.solutionId]) };
  }

  const catalog: SolutionCatalog = {
    async upsert(entries) {
      const result: CatalogUpsertResult = { created: [], updated: [], unchanged: [], failed: [] };
      const valid: CatalogSolution[] = [];
      for (const raw of entries) {
        const parsed = CatalogSolutionSchema.safeParse(raw);
        if (parsed.success) valid.push(parsed.data);
        else
          result.failed.push({
            id: String(raw?.id ?? ""),
            reason: parsed.error.issues.map((i) => i.message).join("; "),
          });
      }
      const existing = await rowsOf(valid.map((e) => e.id));
      for (const e of valid) {
        const have = existing.get(e.id);
        if (have && sameCatalogEntry(have.entry, e)) {
          result.unchanged.push(e.id);
          continue;
        }
        try {
          const done = await write(e, !have);
          if (done.reason) result.failed.push({ id: e.id, reason: done.reason });
          else (have ? result.updated : result.created).push(e.id);
        } catch (err) {
          result.failed.push({ id: e.id, reason: errorMessage(err) });
        }
      }
      return result;
    },
    async list() {
      const out: CatalogSolution[] = [];
      const pages = new PageGuard("co-sell solutions", "Dataverse", cfg.maxPages);
      let url: string | undefined =
        `${t.solutionSet}?$select=${select}&$orderby=${q(`${t.name} asc,${t.partnerCenterId} asc`)}`;
      while (url) {
        const res: { value: Row[]; "@odata.nextLink"?: string } = await http.getJson(
          url,
          "listing the co-sell solution catalog",
          {
            Prefer: `odata.maxpagesize=${cfg.pageSize}`,
          },
        );
        for (const r of res.value) {
          const row = toRow(r);
          if (row) out.push(row.entry);
        }
        url = res["@odata.nextLink"] ? http.url(res["@odata.nextLink"], "@odata.nextLink") : undefined;
        if (url) pages.next(url);
      }
      return out;
    },
  };

  /**
   * The row ids of solutions seen on deals, creating the entries the catalog lacks. An entry that
   * exists is left as it is: an admin may have renamed it or made it inactive.
   */
  async function ensure(entries: readonly CatalogSolution[]): Promise<CatalogRowIds> {
    const existing = await rowsOf(entries.map((e) => e.id));
    const ids = new Map([...existing].map(([id, r]) => [id, r.rowId]));
    const failed = new Map<string, string>();
    for (const e of entries) {
      if (ids.has(e.id)) continue;
      const done = await write(e, true);
      if (done.rowId) ids.set(e.id, done.rowId);
      else failed.set(e.id, done.reason ?? "no row id in Dataverse's answer");
    }
    return { ids, failed };
  }

  return { catalog, ensure };
}

/** Catalog row ids by Partner Center solution id, and why the entries that could not be created were refused. */
export interface CatalogRowIds {
  ids: ReadonlyMap<string, string>;
  failed: ReadonlyMap<string, string>;
}

/** What {@link createDataverseCatalog} returns. */
export type DataverseCatalog = ReturnType<typeof createDataverseCatalog>;
