import { toId18 } from "../ids.js";
import {
  type FieldDef,
  isFilterable,
  isIdType,
  isNumberType,
  isTextType,
  type Value,
} from "../schema/types.js";
import type { Org } from "../store/org.js";
import type { Row } from "../store/record-store.js";
import type { Actor } from "../store/security.js";
import { formatDate, formatDateTime, parseDateTime } from "../time.js";
import type { CompareOp, Condition, Literal } from "./ast.js";
import { SoqlError } from "./errors.js";
import { fieldValue, type ResolvedField, resolveField } from "./resolve.js";

export type Predicate = (row: Row) => boolean;

/** What a literal turns into for one field: a single comparable value or an inclusive/exclusive range. */
type Operand =
  | { kind: "value"; v: string | number | boolean | null }
  | { kind: "range"; lo: string; hi: string; hiInclusive: boolean };

const DAY = 86_400_000;

function typeWord(f: FieldDef): string {
  if (f.type === "datetime") return "dateTime";
  if (f.type === "int") return "integer";
  if (isNumberType(f.type)) return "double";
  if (f.type === "boolean" || f.type === "date") return f.type;
  if (isIdType(f.type)) return "id";
  return "string";
}

function mismatch(f: FieldDef, lit: Literal): SoqlError {
  const quoted = typeWord(f) === "string" || typeWord(f) === "id";
  return new SoqlError(
    "INVALID_FIELD",
    `value of filter criterion for field '${f.name}' must be of type ${typeWord(f)} and should ${quoted ? "" : "not "}be enclosed in quotes`,
    lit.pos,
  );
}

/** Start (inclusive) and end (exclusive) UTC ms of a date literal such as LAST_N_DAYS:30. */
function dateLiteralRange(name: string, n: number | undefined, nowMs: number): [number, number] {
  const today = Math.floor(nowMs / DAY) * DAY;
  const now = new Date(today);
  const y = now.getUTCFullYear();
  const m = now.getUTCMonth();
  const weekStart = today - now.getUTCDay() * DAY;
  switch (name) {
    case "TODAY":
      return [today, today + DAY];
    case "YESTERDAY":
      return [today - DAY, today];
    case "TOMORROW":
      return [today + DAY, today + 2 * DAY];
    case "THIS_WEEK":
      return [weekStart, weekStart + 7 * DAY];
    case "LAST_WEEK":
      return [weekStart - 7 * DAY, weekStart];
    case "NEXT_WEEK":
      return [weekStart + 7 * DAY, weekStart + 14 * DAY];
    case "THIS_MONTH":
      return [Date.UTC(y, m, 1), Date.UTC(y, m + 1, 1)];
    case "LAST_MONTH":
      return [Date.UTC(y, m - 1, 1), Date.UTC(y, m, 1)];
    case "NEXT_MONTH":
      return [Date.UTC(y, m + 1, 1), Date.UTC(y, m + 2, 1)];
    case "THIS_YEAR":
      return [Date.UTC(y, 0, 1), Date.UTC(y + 1, 0, 1)];
    case "LAST_YEAR":
      return [Date.UTC(y - 1, 0, 1), Date.UTC(y, 0, 1)];
    case "NEXT_YEAR":
      return [Date.UTC(y + 1, 0, 1), Date.UTC(y + 2, 0, 1)];
    case "LAST_90_DAYS":
      return [today - 90 * DAY, today + DAY];
    case "NEXT_90_DAYS":
      return [today + DAY, today + 91 * DAY];
    case "LAST_N_DAYS":
      return [today - (n ?? 0) * DAY, today + DAY];
    case "NEXT_N_DAYS":
      return [today + DAY, today + ((n ?? 0) + 1) * DAY];
    case "N_DAYS_AGO":
      return [today - (n ?? 0) * DAY, today - (n ?? 0) * DAY + DAY];
    default:
      return [today, today + DAY];
  }
}

/** Converts a literal for comparison with `f`, rejecting the type mismatches Salesforce rejects. */
function operand(org: Org, f: FieldDef, lit: Literal): Operand {
  if (lit.kind === "null") return { kind: "value", v: null };
  if (isIdType(f.type)) {
    if (lit.kind !== "string") throw mismatch(f, lit);
    const id = toId18(lit.value);
    if (!id) throw new SoqlError("INVALID_QUERY_FILTER_OPERATOR", `invalid ID field: ${lit.value}`, lit.pos);
    return { kind: "value", v: id };
  }
  if (isTextType(f.type)) {
    if (lit.kind !== "string") throw mismatch(f, lit);
    return { kind: "value", v: lit.value.toLowerCase() };
  }
  if (f.type === "boolean") {
    if (lit.kind !== "boolean") throw mismatch(f, lit);
    return { kind: "value", v: lit.value };
  }
  if (isNumberType(f.type)) {
    if (lit.kind !== "number") throw mismatch(f, lit);
    return { kind: "value", v: lit.value };
  }
  if (f.type === "date") {
    if (lit.kind === "date") return { kind: "value", v: lit.value };
    if (lit.kind === "dateLiteral") {
      const [lo, hi] = dateLiteralRange(lit.name, lit.n, org.clock.now().getTime());
      return { kind: "range", lo: formatDate(lo), hi: formatDate(hi - DAY), hiInclusive: true };
    }
    throw mismatch(f, lit);
  }
  if (f.type === "datetime") {
    if (lit.kind === "datetime") {
      const ms = parseDateTime(lit.value);
      if (ms === undefined) throw mismatch(f, lit);
      return { kind: "value", v: formatDateTime(ms) };
    }
    if (lit.kind === "dateLiteral") {
      const [lo, hi] = dateLiteralRange(lit.name, lit.n, org.clock.now().getTime());
      return { kind: "range", lo: formatDateTime(lo), hi: formatDateTime(hi), hiInclusive: false };
    }
    throw mismatch(f, lit);
  }
  throw mismatch(f, lit);
}

function normalise(f: FieldDef, v: Value): Value {
  return typeof v === "string" && isTextType(f.type) ? v.toLowerCase() : v;
}

function compareValues(a: string | number | boolean, b: string | number | boolean): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function test(op: CompareOp, v: Value, o: Operand): boolean {
  if (o.kind === "range") {
    if (v === null) return op === "!=";
    const s = v as string;
    const aboveLo = s >= o.lo;
    const belowHi = o.hiInclusive ? s <= o.hi : s < o.hi;
    switch (op) {
      case "=":
        return aboveLo && belowHi;
      case "!=":
        return !(aboveLo && belowHi);
      case "<":
        return !aboveLo;
      case ">=":
        return aboveLo;
      case "<=":
        return belowHi;
      case ">":
        return !belowHi;
    }
  }
  const w = o.v;
  if (op === "=") return v === w;
  // SOQL's != keeps rows whose value is null, unlike SQL.
  if (op === "!=") return v !== w;
  if (v === null || w === null) return false;
  const c = compareValues(v, w);
  return op === "<" ? c < 0 : op === ">" ? c > 0 : op === "<=" ? c <= 0 : c >= 0;
}

function likeRegex(pattern: string): RegExp {
  let re = "";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === "\\" && (pattern[i + 1] === "%" || pattern[i + 1] === "_")) {
      re += pattern[i + 1];
      i++;
    } else if (c === "%") re += "[\\s\\S]*";
    else if (c === "_") re += "[\\s\\S]";
    else re += c.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
  }
  return new RegExp(`^${re}$`, "i");
}

/** Context for compiling a WHERE clause: the org, who asks, the object, and how to run a semi-join. */
export interface FilterContext {
  org: Org;
  actor: Actor;
  objectName: string;
  /** Runs a semi-join sub-select and returns the values of its single selected field. */
  semiJoin(c: Extract<Condition, { kind: "inQuery" }>): Set<Value>;
}

function filterable(ctx: FilterContext, fp: Parameters<typeof resolveField>[2]): ResolvedField {
  const rf = resolveField(ctx.org, ctx.objectName, fp, ctx.actor);
  if (!isFilterable(rf.field))
    throw new SoqlError(
      "INVALID_FIELD",
      `field '${rf.field.name}' can not be filtered in a query call`,
      fp.pos,
    );
  return rf;
}

/** Compiles a WHERE clause into a row predicate (type checks happen here, once). */
export function compileCondition(ctx: FilterContext, c: Condition): Predicate {
  const { org } = ctx;
  switch (c.kind) {
    case "and": {
      const parts = c.items.map((i) => compileCondition(ctx, i));
      return (row) => parts.every((p) => p(row));
    }
    case "or": {
      const parts = c.items.map((i) => compileCondition(ctx, i));
      return (row) => parts.some((p) => p(row));
    }
    case "not": {
      const inner = compileCondition(ctx, c.item);
      return (row) => !inner(row);
    }
    case "compare": {
      const rf = filterable(ctx, c.field);
      if (rf.field.type === "boolean" && c.op !== "=" && c.op !== "!=")
        throw new SoqlError("INVALID_FIELD", `invalid operator on boolean field: ${rf.field.name}`, c.pos);
      const o = operand(org, rf.field, c.value);
      return (row) => test(c.op, normalise(rf.field, fieldValue(org, row, rf)), o);
    }
    case "in": {
      const rf = filterable(ctx, c.field);
      const wanted = new Set(
        c.values.map((l) => {
          const o = operand(org, rf.field, l);
          if (o.kind === "range") throw mismatch(rf.field, l);
          return o.v;
        }),
      );
      return (row) => wanted.has(normalise(rf.field, fieldValue(org, row, rf)) as string) !== c.negated;
    }
    case "inQuery": {
      const rf = filterable(ctx, c.field);
      if (!isIdType(rf.field.type))
        throw new SoqlError(
          "INVALID_FIELD",
          `Invalid semi join field: ${rf.field.name} must be an id or reference field`,
          c.pos,
        );
      const wanted = ctx.semiJoin(c);
      return (row) => wanted.has(fieldValue(org, row, rf)) !== c.negated;
    }
    case "like": {
      const rf = filterable(ctx, c.field);
      if (!isTextType(rf.field.type) && !isIdType(rf.field.type))
        throw new SoqlError("INVALID_FIELD", `invalid operator on field: ${rf.field.name}`, c.pos);
      if (c.pattern.kind !== "string") throw mismatch(rf.field, c.pattern);
      const re = likeRegex(c.pattern.value);
      return (row) => {
        const v = fieldValue(org, row, rf);
        return typeof v === "string" && re.test(v);
      };
    }
    case "includes": {
      const rf = filterable(ctx, c.field);
      if (rf.field.type !== "multipicklist")
        throw new SoqlError(
          "INVALID_FIELD",
          `includes or excludes operator only valid on multipicklist field`,
          c.pos,
        );
      const wanted = c.values.map((l) => {
        if (l.kind !== "string") throw mismatch(rf.field, l);
        return l.value.toLowerCase().split(";");
      });
      return (row) => {
        const v = fieldValue(org, row, rf);
        const have = new Set(typeof v === "string" ? v.toLowerCase().split(";") : []);
        const hit = wanted.some((group) => group.every((x) => have.has(x)));
        return hit !== c.negated;
      };
    }
  }
}
