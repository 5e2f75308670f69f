import { randomUUID } from "node:crypto";
import type { Caller, Env } from "../env.js";
import { dvErrors } from "../errors.js";
import { isGuid } from "../ids.js";
import { PathSyntaxError, parseEntityUrl } from "../routes/resource-path.js";
import { isLookup, type NavigationProperty } from "../schema/schema.js";
import type { ColumnDef, TableDef } from "../schema/types.js";
import { isLookupRef, type LookupRef, type Row, type Stored } from "../store/store.js";
import { coerceInput, toDataverseDateTime } from "../values.js";
import { resolveAlternateKey } from "./alternate-keys.js";

/**
 * Creating, updating and deleting rows with Dataverse's rules: body validation, `@odata.bind`,
 * row versions and timestamps, optimistic concurrency, alternate-key uniqueness, state models and
 * the opportunity's Won/Lost restrictions.
 */

/** `W/"1000123"` for a row. */
export function etagOf(row: Row): string {
  return `W/"${row.versionnumber}"`;
}

/** Whether an `If-Match` value names the row's current version (weak or strong form). */
export function etagMatches(ifMatch: string, row: Row): boolean {
  const m = /^(?:W\/)?"?([^"]*)"?$/.exec(ifMatch.trim());
  return m?.[1] === String(row.versionnumber);
}

/** Resolves an `@odata.bind` value (entity URL) to a reference, checking the target exists. */
export function resolveEntityReference(env: Env, nav: NavigationProperty, value: unknown): LookupRef {
  if (typeof value !== "string") throw dvErrors.bindMalformed(value);
  let segments: ReturnType<typeof parseEntityUrl>;
  try {
    segments = parseEntityUrl(value);
  } catch (e) {
    if (e instanceof PathSyntaxError || e instanceof URIError) throw dvErrors.bindMalformed(value);
    throw e;
  }
  const [seg] = segments;
  if (segments.length !== 1 || !seg?.key || seg.key.kind === "empty") throw dvErrors.bindMalformed(value);
  const target = env.schema.tableBySet(seg.name);
  if (!target) throw dvErrors.bindMalformed(value);
  if (target.logicalName !== nav.targetTable) {
    const expected = nav.column.targets?.filter((t) => t.nav === nav.nav).map((t) => t.table) ?? [];
    throw dvErrors.bindWrongTarget(nav.nav, target.entitySetName, expected);
  }
  if (seg.key.kind === "id") {
    if (!env.store.get(target.logicalName, seg.key.id))
      throw dvErrors.recordNotFound(target.logicalName, seg.key.id);
    return { id: seg.key.id, table: target.logicalName };
  }
  const match = resolveAlternateKey(env, target, seg.key.values);
  if (!match.id) throw dvErrors.keyRecordNotFound(target.logicalName);
  return { id: match.id, table: target.logicalName };
}

/**
 * Turns a Web API JSON body into column values: plain columns are validated, `nav@odata.bind`
 * becomes a reference, `nav: null` / `nav@odata.bind: null` clears it. Read-only system columns
 * are ignored, as Dataverse does.
 */
export function parseBody(env: Env, table: TableDef, body: unknown): Record<string, Stored> {
  if (typeof body !== "object" || body === null || Array.isArray(body))
    throw dvErrors.badRequest("The request body must be a JSON object.", "0x80060888");
  const values: Record<string, Stored> = {};
  for (const [key, value] of Object.entries(body as Record<string, unknown>)) {
    if (key.startsWith("@")) continue;
    const at = key.indexOf("@");
    if (at > 0) {
      const name = key.slice(0, at);
      const annotation = key.slice(at + 1);
      if (annotation !== "odata.bind") continue;
      const nav = env.schema.navigation(table, name);
      if (!nav) throw dvErrors.undeclaredBind(name);
      if (nav.column.readOnly) continue;
      values[nav.column.logicalName] = value === null ? null : resolveEntityReference(env, nav, value);
      continue;
    }
    if (/^_.+_value$/.test(key) && env.schema.property(table, key)) throw dvErrors.lookupValueWrite();
    const nav = env.schema.navigation(table, key);
    if (nav) {
      if (value !== null)
        throw dvErrors.badRequest(
          `Deep insert through '${key}' is not supported by the sandbox; bind an existing record with '${key}@odata.bind'.`,
          "0x80060888",
        );
      if (!nav.column.readOnly) values[nav.column.logicalName] = null;
      continue;
    }
    const col = table.columns.get(key);
    if (!col) throw dvErrors.unknownBodyProperty(key, table.logicalName);
    if (isLookup(col)) {
      if (value !== null) throw dvErrors.lookupValueWrite();
      values[key] = null;
      continue;
    }
    if (col.readOnly) continue;
    values[key] = coerceInput(table, col, value);
  }
  return values;
}

function stateEnumName(table: TableDef): string {
  return `${table.schemaName}State`;
}

/** Columns a reopening PATCH may carry (the state change itself). */
const STATE_COLUMNS = new Set(["statecode", "statuscode"]);

/**
 * Applies the state model: a state change without a status reason takes the state's default, a
 * status reason must belong to the (new) state. For opportunities an update to Won/Lost is refused
 * (use WinOpportunity/LoseOpportunity) and Won/Lost rows are read-only until reopened: "When you close
 * an opportunity, the opportunity is marked as complete, and can't be changed. To make further changes
 * to an opportunity, you can reopen it" (learn.microsoft.com/troubleshoot/dynamics-365/sales/troubleshoot-opportunities-issues).
 * Whether one PATCH may reopen and change other columns at once is not documented; by default
 * (`reopenWithFields: "refuse"`) the emulator takes the strict reading and refuses it, so only a
 * state-only PATCH reopens. `"allow"` takes the lenient one.
 */
function applyStateRules(
  env: Env | undefined,
  table: TableDef,
  id: string,
  existing: Row | undefined,
  values: Record<string, Stored>,
  internal: boolean,
): void {
  const stateCol = table.columns.get("statecode");
  const statusCol = table.columns.get("statuscode");
  if (!stateCol || !statusCol) return;
  const newState = values.statecode as number | null | undefined;
  if (newState === null) throw dvErrors.badLiteral(null, "Edm.Int32");
  if (table.logicalName === "opportunity" && !internal) {
    if (newState === 1 || newState === 2) throw dvErrors.useCloseAction(newState === 1 ? "Won" : "Lost");
    const current = existing?.statecode;
    const closed = typeof current === "number" && current !== 0;
    const withFields = Object.keys(values).some((k) => !STATE_COLUMNS.has(k));
    if (closed && (newState !== 0 || (withFields && env?.reopenWithFields !== "allow"))) {
      const label = stateCol.options?.find((o) => o.value === current)?.label ?? String(current);
      throw dvErrors.closedReadOnly(id, label);
    }
  }
  const state = newState ?? (existing?.statecode as number | undefined) ?? 0;
  if (newState !== undefined && values.statuscode === undefined) {
    values.statuscode = stateCol.options?.find((o) => o.value === newState)?.defaultStatus ?? null;
  }
  const status = values.statuscode;
  if (typeof status === "number") {
    const option = statusCol.options?.find((o) => o.value === status);
    if (option?.state !== state) {
      const stateLabel = stateCol.options?.find((o) => o.value === state)?.label ?? String(state);
      throw dvErrors.invalidStatus(status, `${stateEnumName(table)}.${stateLabel}`, table.logicalName, id);
    }
  }
}

/** Columns the platform computes: full names, exchange rate and base-currency amounts. */
function computeDerived(env: Env, table: TableDef, row: Record<string, Stored>): void {
  if (table.columns.get("fullname")?.readOnly) {
    const full = [row.firstname, row.lastname].filter((p) => typeof p === "string" && p.length > 0).join(" ");
    row.fullname = full.length > 0 ? full : null;
  }
  if (
    table.columns.get("transactioncurrencyid")?.type === "Lookup" &&
    table.columns.get("exchangerate")?.readOnly
  ) {
    const ref = row.transactioncurrencyid;
    const currency = isLookupRef(ref) ? env.store.get("transactioncurrency", ref.id) : undefined;
    const rate = typeof currency?.exchangerate === "number" ? currency.exchangerate : 1;
    row.exchangerate = isLookupRef(ref) ? rate : null;
    for (const col of table.columns.values()) {
      if (col.type !== "Money" || !table.columns.has(`${col.logicalName}_base`)) continue;
      const v = row[col.logicalName];
      row[`${col.logicalName}_base`] = typeof v === "number" ? Math.round((v / rate) * 100) / 100 : null;
    }
  }
}

function applyDefaults(env: Env, table: TableDef, row: Record<string, Stored>, caller: Caller): void {
  for (const col of table.columns.values()) {
    if (row[col.logicalName] !== undefined || col.defaultValue === undefined) continue;
    row[col.logicalName] = col.defaultValue;
  }
  if (table.columns.has("statecode") && row.statecode === undefined) {
    row.statecode = 0;
    row.statuscode ??=
      table.columns.get("statecode")?.options?.find((o) => o.value === 0)?.defaultStatus ?? null;
  }
  if (table.ownership === "UserOwned" && !isLookupRef(row.ownerid))
    row.ownerid = { id: caller.userId, table: "systemuser" };
  if (
    table.columns.get("transactioncurrencyid")?.type === "Lookup" &&
    row.transactioncurrencyid === undefined
  ) {
    const hasMoney = [...table.columns.values()].some(
      (c) => c.type === "Money" && row[c.logicalName] != null,
    );
    if (hasMoney) row.transactioncurrencyid = { id: env.org.baseCurrencyId, table: "transactioncurrency" };
  }
}

function stamp(env: Env, row: Record<string, Stored>, caller: Caller, created: boolean): void {
  const now = toDataverseDateTime(env.clock.now());
  const me: LookupRef = { id: caller.userId, table: "systemuser" };
  if (created) {
    row.createdon = now;
    row.createdby = me;
  }
  row.modifiedon = now;
  row.modifiedby = me;
  row.versionnumber = env.store.nextVersion();
}

function checkKeyConflicts(env: Env, table: TableDef, id: string, row: Row): void {
  if (env.store.keyConflicts(table.logicalName, id, row).length > 0) throw dvErrors.duplicate();
}

/** Options of {@link createRow}. */
export interface CreateOptions {
  /** Use this id (upsert by id, or the body's primary id). */
  id?: string;
  /** Alternate-key values from an upsert URL; values in the body win, as in Dataverse. */
  keyValues?: Record<string, Stored>;
  /** Platform-internal write (Win/Lose, seeding): state rules for Won/Lost do not apply. */
  internal?: boolean;
}

/** Creates a row from a Web API body. */
export function createRow(
  env: Env,
  table: TableDef,
  body: unknown,
  caller: Caller,
  options: CreateOptions = {},
): Row {
  const values = parseBody(env, table, body);
  const bodyId = values[table.primaryId];
  const id = (options.id ?? (typeof bodyId === "string" ? bodyId : undefined) ?? randomUUID()).toLowerCase();
  if (!isGuid(id)) throw dvErrors.badLiteral(id, "Edm.Guid");
  if (env.store.get(table.logicalName, id)) throw dvErrors.duplicate();
  // Key values from the URL are column values like any other: a text longer than its column is refused.
  for (const [name, v] of Object.entries(options.keyValues ?? {})) {
    const col = table.columns.get(name);
    if (col && typeof v === "string") coerceInput(table, col, v);
  }
  const row: Record<string, Stored> = { ...(options.keyValues ?? {}), ...values, [table.primaryId]: id };
  applyStateRules(env, table, id, undefined, row, options.internal ?? false);
  applyDefaults(env, table, row, caller);
  computeDerived(env, table, row);
  stamp(env, row, caller, true);
  checkKeyConflicts(env, table, id, row);
  env.store.put(table.logicalName, id, row);
  return row;
}

/** Options of {@link updateRow}. */
export interface UpdateOptions {
  ifMatch?: string;
  internal?: boolean;
  /** Columns to drop from the body (alternate-key columns on an upsert that updates). */
  strip?: string[];
}

/** Updates an existing row from a Web API body (404 when missing, 412 on a stale `If-Match`). */
export function updateRow(
  env: Env,
  table: TableDef,
  id: string,
  body: unknown,
  caller: Caller,
  options: UpdateOptions = {},
): Row {
  const existing = env.store.get(table.logicalName, id);
  if (!existing) throw dvErrors.recordNotFound(table.logicalName, id);
  if (options.ifMatch && options.ifMatch.trim() !== "*" && !etagMatches(options.ifMatch, existing))
    throw dvErrors.concurrency();
  const values = parseBody(env, table, body);
  delete values[table.primaryId];
  for (const c of options.strip ?? []) delete values[c];
  return writeValues(env, table, existing, values, caller, options.internal ?? false);
}

/** Writes already-validated values onto an existing row (shared by update and the close actions). */
export function writeValues(
  env: Env,
  table: TableDef,
  existing: Row,
  values: Record<string, Stored>,
  caller: Caller,
  internal: boolean,
): Row {
  const id = String(existing[table.primaryId]);
  applyStateRules(env, table, id, existing, values, internal);
  const row: Record<string, Stored> = { ...existing, ...values };
  computeDerived(env, table, row);
  stamp(env, row, caller, false);
  checkKeyConflicts(env, table, id, row);
  env.store.put(table.logicalName, id, row);
  return row;
}

/**
 * Deletes a row. Activities regarding it (opportunity close rows) go with it; other rows that point at
 * it lose the reference ("Remove Link"), which counts as a change to them.
 */
export function deleteRow(env: Env, table: TableDef, id: string, caller: Caller, ifMatch?: string): void {
  const existing = env.store.get(table.logicalName, id);
  if (!existing) throw dvErrors.recordNotFound(table.logicalName, id);
  if (ifMatch && ifMatch.trim() !== "*" && !etagMatches(ifMatch, existing)) throw dvErrors.concurrency();
  env.store.remove(table.logicalName, id);
  const key = id.toLowerCase();
  for (const other of env.schema.tables()) {
    const refs = [...other.columns.values()].filter((c) =>
      c.targets?.some((t) => t.table === table.logicalName),
    );
    if (refs.length === 0) continue;
    for (const row of [...env.store.all(other.logicalName)]) {
      const hit = refs.filter((c) => {
        const v = row[c.logicalName];
        return isLookupRef(v) && v.id === key && v.table === table.logicalName;
      });
      if (hit.length === 0) continue;
      const rowId = String(row[other.primaryId]);
      if (other.isActivity && hit.some((c) => c.logicalName === "opportunityid")) {
        env.store.remove(other.logicalName, rowId);
        continue;
      }
      const cleared: Record<string, Stored> = { ...row };
      for (const c of hit) cleared[c.logicalName] = null;
      stamp(env, cleared, caller, false);
      env.store.put(other.logicalName, rowId, cleared);
    }
  }
}

/** The column `name` of `table` if it exists and is not a lookup (for property-level routes). */
export function plainColumn(table: TableDef, name: string): ColumnDef | undefined {
  const col = table.columns.get(name);
  return col && !isLookup(col) ? col : undefined;
}
