import { SalesforceApiError } from "../errors.js";
import { toId18 } from "../ids.js";
import type { ChildRelationship } from "../schema/registry.js";
import { isSortable, isTextType, type SObjectDef, type Value } from "../schema/types.js";
import type { Org } from "../store/org.js";
import type { Row } from "../store/record-store.js";
import type { Actor } from "../store/security.js";
import type { Condition, FieldPath, Query } from "./ast.js";
import { formatSoqlError, SoqlError } from "./errors.js";
import { compileCondition, type Predicate } from "./filter.js";
import { parseSoql } from "./parser.js";
import { addressOf, fieldValue, followHops, type ResolvedField, resolveField } from "./resolve.js";

/** A record as the REST API returns it: `attributes` first, then the selected fields. */
export type SObjectJson = { attributes: { type: string; url?: string } } & Record<string, unknown>;

type Column =
  | { kind: "field"; rf: ResolvedField }
  | { kind: "children"; rel: ChildRelationship; plan: Plan; name: string };

interface Plan {
  def: SObjectDef;
  columns: Column[];
  where?: Predicate;
  whereAst?: Condition;
  order: { rf: ResolvedField; descending: boolean; nullsLast: boolean }[];
  limit?: number;
  offset?: number;
  count?: { kind: "rows" } | { kind: "aggregate"; alias: string; rf?: ResolvedField };
}

/** What running a query produced, before paging. */
export interface QueryOutcome {
  objectName: string;
  /** Matching rows, ordered, after OFFSET/LIMIT (empty for COUNT() queries). */
  rows: Row[];
  /** `SELECT COUNT() …`: the count (totalSize) and no records. */
  count?: number;
  /** `SELECT COUNT(Id) …`: AggregateResult records. */
  aggregate?: SObjectJson[];
  /** Turns a row into the record JSON for API version `version`. */
  project(row: Row, version: string): SObjectJson;
}

const MAX_OFFSET = 2000;

class Compiler {
  constructor(
    private readonly org: Org,
    private readonly actor: Actor,
    private readonly scanAll: boolean,
  ) {}

  object(name: string, pos: number): SObjectDef {
    const def = this.org.object(name);
    if (!def?.queryable)
      throw new SoqlError(
        "INVALID_TYPE",
        `sObject type '${name}' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names.`,
        pos,
      );
    return def;
  }

  plan(q: Query, def: SObjectDef): Plan {
    const plan: Plan = { def, columns: [], order: [], limit: q.limit, offset: q.offset };
    const seen = new Set<string>();
    const add = (rf: ResolvedField, pos: number) => {
      const k = rf.key.toLowerCase();
      if (seen.has(k)) throw new SoqlError("MALFORMED_QUERY", `duplicate field selected: ${rf.key}`, pos);
      seen.add(k);
      plan.columns.push({ kind: "field", rf });
    };
    for (const item of q.select) {
      switch (item.kind) {
        case "field":
          add(resolveField(this.org, def.name, item, this.actor), item.pos);
          break;
        case "fields": {
          if (q.limit === undefined || q.limit > 200) {
            if (item.which !== "STANDARD")
              throw new SoqlError(
                "MALFORMED_QUERY",
                "The SOQL FIELDS function must have a LIMIT of at most 200",
                item.pos,
              );
          }
          for (const f of def.fields) {
            if (item.which === "CUSTOM" && !f.custom) continue;
            if (item.which === "STANDARD" && f.custom) continue;
            if (!this.org.security.canRead(this.actor, def.name, f)) continue;
            const fp: FieldPath = { kind: "field", path: [f.name], pos: item.pos };
            const rf = resolveField(this.org, def.name, fp, this.actor);
            if (!seen.has(rf.key.toLowerCase())) add(rf, item.pos);
          }
          break;
        }
        case "count":
          if (q.select.length > 1)
            throw new SoqlError("MALFORMED_QUERY", "COUNT() can not be used with other fields", item.pos);
          plan.count = item.field
            ? {
                kind: "aggregate",
                alias: item.alias ?? "expr0",
                rf: resolveField(this.org, def.name, item.field, this.actor),
              }
            : { kind: "rows" };
          break;
        case "subquery": {
          const rel = this.org.schema.childRelationship(def.name, item.query.from.name);
          if (!rel)
            throw new SoqlError(
              "INVALID_TYPE",
              `Didn't understand relationship '${item.query.from.name}' in FROM part of query call. If you are attempting to use a custom relationship, be sure to append the '__r' after the custom relationship name. Please reference your WSDL or the describe call for the appropriate names.`,
              item.query.from.pos,
            );
          const childDef = this.object(rel.childSObject, item.query.from.pos);
          const name = rel.relationshipName ?? item.query.from.name;
          if (seen.has(name.toLowerCase()))
            throw new SoqlError("MALFORMED_QUERY", `duplicate field selected: ${name}`, item.pos);
          seen.add(name.toLowerCase());
          plan.columns.push({ kind: "children", rel, plan: this.plan(item.query, childDef), name });
          break;
        }
      }
    }
    if (q.where) {
      plan.whereAst = q.where;
      plan.where = compileCondition(
        {
          org: this.org,
          actor: this.actor,
          objectName: def.name,
          semiJoin: (c) => this.semiJoin(c.query),
        },
        q.where,
      );
    }
    for (const o of q.orderBy) {
      const rf = resolveField(this.org, def.name, o.field, this.actor);
      if (!isSortable(rf.field))
        throw new SoqlError(
          "INVALID_FIELD",
          `field '${rf.field.name}' can not be sorted in a query call`,
          o.field.pos,
        );
      plan.order.push({ rf, descending: o.descending, nullsLast: o.nullsLast });
    }
    if (q.offset !== undefined && q.offset > MAX_OFFSET)
      throw new SoqlError("MALFORMED_QUERY", `Maximum SOQL offset allowed is ${MAX_OFFSET}`);
    return plan;
  }

  /** Values of the single field a semi-join sub-select returns. */
  semiJoin(q: Query): Set<Value> {
    const def = this.object(q.from.name, q.from.pos);
    if (q.select.length !== 1 || q.select[0]!.kind !== "field")
      throw new SoqlError(
        "MALFORMED_QUERY",
        "semi join sub-selects must select exactly one field",
        q.from.pos,
      );
    const plan = this.plan(q, def);
    const col = plan.columns[0] as Extract<Column, { kind: "field" }>;
    return new Set(this.rows(plan).map((r) => fieldValue(this.org, r, col.rf)));
  }

  /** Rows of `plan`'s object that match, in order, after OFFSET/LIMIT. */
  rows(plan: Plan, parent?: { field: string; id: string }): Row[] {
    const matched: Row[] = [];
    for (const row of this.candidates(plan, parent)) {
      if (!this.scanAll && row.IsDeleted === true) continue;
      if (parent && row[parent.field] !== parent.id) continue;
      if (plan.where && !plan.where(row)) continue;
      matched.push(row);
    }
    if (plan.order.length) matched.sort(this.comparator(plan));
    const start = plan.offset ?? 0;
    const end = plan.limit === undefined ? undefined : start + plan.limit;
    return start || end !== undefined ? matched.slice(start, end) : matched;
  }

  /** Narrows the scan with an index when the filter pins Id or an indexed field (upsert-style lookups). */
  private candidates(plan: Plan, parent?: { field: string; id: string }): Iterable<Row> {
    const store = this.org.store;
    const type = plan.def.name;
    if (parent) {
      // A child subquery reads its parent's rows through the lookup field's index; a queryAll adds
      // the Recycle Bin's rows (the index holds live rows only). Scanning every child row for each
      // parent made a 100,000-deal change feed quadratic.
      const ids = store.lookup(type, parent.field, parent.id);
      if (ids) {
        const all = this.scanAll ? [...new Set([...ids, ...store.deletedIds(type)])] : ids;
        return all.sort().map((id) => store.get(type, id)!);
      }
    }
    if (!this.scanAll && plan.whereAst) {
      const ids = this.indexedIds(plan, plan.whereAst);
      if (ids)
        return [...new Set(ids)].sort().flatMap((id) => {
          const row = store.get(type, id);
          return row ? [row] : [];
        });
    }
    return store.rows(type);
  }

  private indexedIds(plan: Plan, c: Condition): string[] | undefined {
    if (c.kind === "and") {
      for (const item of c.items) {
        const ids = this.indexedIds(plan, item);
        if (ids) return ids;
      }
      return undefined;
    }
    const values =
      c.kind === "compare" && c.op === "=" ? [c.value] : c.kind === "in" && !c.negated ? c.values : undefined;
    if (!values || (c.kind !== "compare" && c.kind !== "in") || c.field.path.length !== 1) return undefined;
    const f = this.org.schema.field(plan.def.name, c.field.path[0]!);
    if (!f) return undefined;
    const out: string[] = [];
    for (const lit of values) {
      if (lit.kind !== "string") return undefined;
      if (f.type === "id") {
        const id = toId18(lit.value);
        if (id) out.push(id);
        continue;
      }
      const hit = this.org.store.lookup(
        plan.def.name,
        f.name,
        f.type === "reference" ? (toId18(lit.value) ?? lit.value) : lit.value,
      );
      if (!hit) return undefined;
      out.push(...hit);
    }
    return out;
  }

  private comparator(plan: Plan): (a: Row, b: Row) => number {
    const keys = plan.order.map((o) => ({ ...o, text: isTextType(o.rf.field.type) }));
    return (a, b) => {
      for (const k of keys) {
        let va = fieldValue(this.org, a, k.rf);
        let vb = fieldValue(this.org, b, k.rf);
        if (va === vb) continue;
        if (va === null) return k.nullsLast ? 1 : -1;
        if (vb === null) return k.nullsLast ? -1 : 1;
        if (k.text) {
          va = String(va).toLowerCase();
          vb = String(vb).toLowerCase();
          if (va === vb) continue;
        }
        const c = va < vb ? -1 : 1;
        return k.descending ? -c : c;
      }
      return 0;
    };
  }

  project(plan: Plan, row: Row, version: string): SObjectJson {
    const out: SObjectJson = { attributes: attributesOf(plan.def.name, row.Id as string, version) };
    for (const col of plan.columns) {
      if (col.kind === "children") {
        const rows = this.rows(col.plan, { field: col.rel.field, id: row.Id as string });
        out[col.name] = rows.length
          ? {
              totalSize: rows.length,
              done: true,
              records: rows.map((r) => this.project(col.plan, r, version)),
            }
          : null;
        continue;
      }
      const { rf } = col;
      // Walk/create nested relationship objects (Account → Owner → Email).
      let target: Record<string, unknown> = out;
      let cur: Row | undefined = row;
      let broken = false;
      for (const h of rf.hops) {
        const existing = target[h.relationshipName];
        const parent: Row | undefined = cur ? followHops(this.org, cur, [h]) : undefined;
        if (!parent) {
          if (existing === undefined) target[h.relationshipName] = null;
          broken = true;
          break;
        }
        if (!existing || typeof existing !== "object")
          target[h.relationshipName] = { attributes: attributesOf(h.target, parent.Id as string, version) };
        target = target[h.relationshipName] as Record<string, unknown>;
        cur = parent;
      }
      if (broken || !cur) continue;
      target[rf.field.name] =
        rf.field.type === "address"
          ? addressOf(cur, rf.field.addressPrefix ?? "")
          : (cur[rf.field.name] ?? null);
    }
    return out;
  }
}

/** The `attributes` object of a record: its type and REST URL. */
export function attributesOf(type: string, id: string, version: string): { type: string; url: string } {
  return { type, url: `/services/data/v${version}/sobjects/${type}/${id}` };
}

/** Options for running a query. */
export interface RunOptions {
  actor: Actor;
  /** queryAll: include deleted rows. */
  scanAll?: boolean;
}

/**
 * Parses and runs a SOQL query against the org. Errors come out as Salesforce's request-level
 * errors (400 MALFORMED_QUERY / INVALID_FIELD / INVALID_TYPE / INVALID_QUERY_FILTER_OPERATOR) with
 * Salesforce's caret-and-position message.
 */
export function runSoql(org: Org, soql: string, options: RunOptions): QueryOutcome {
  try {
    const q = parseSoql(soql);
    const compiler = new Compiler(org, options.actor, options.scanAll ?? false);
    const def = compiler.object(q.from.name, q.from.pos);
    const plan = compiler.plan(q, def);
    const rows = compiler.rows(plan);
    const project = (row: Row, version: string) => compiler.project(plan, row, version);
    if (plan.count?.kind === "rows") return { objectName: def.name, rows: [], count: rows.length, project };
    if (plan.count?.kind === "aggregate") {
      const { rf, alias } = plan.count;
      const n = rf ? rows.filter((r) => fieldValue(org, r, rf) !== null).length : rows.length;
      return {
        objectName: def.name,
        rows: [],
        aggregate: [{ attributes: { type: "AggregateResult" }, [alias]: n }],
        project,
      };
    }
    return { objectName: def.name, rows, project };
  } catch (e) {
    if (e instanceof SoqlError) throw new SalesforceApiError(400, e.code, formatSoqlError(e, soql));
    throw e;
  }
}
