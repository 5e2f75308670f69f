import type { ComparisonOperator, FilterLiteral, FilterNode, FilterOperand } from "./filter.js";

/** The EDM types a filterable property can have. */
export type EdmType =
  | "Edm.String"
  | "Edm.Int32"
  | "Edm.Int64"
  | "Edm.Decimal"
  | "Edm.Double"
  | "Edm.Boolean"
  | "Edm.DateTimeOffset"
  | "Edm.Date"
  | "Edm.Guid";

/** How the evaluator sees the thing being filtered: property types, then values. */
export interface FilterSchema<Row> {
  /** The property's type, or `undefined` when the entity has no such property. */
  typeOf(name: string): EdmType | undefined;
  /** The property's value in `row`: strings (ISO text for dates), numbers, booleans or null. */
  valueOf(row: Row, name: string): unknown;
}

/** Why a well-formed filter cannot be applied to this entity. */
export class FilterSemanticError extends Error {
  constructor(
    readonly reason: "unknownProperty" | "incompatibleTypes" | "badFunctionArguments",
    message: string,
    /** The property concerned, when there is one. */
    readonly property?: string,
  ) {
    super(message);
    this.name = "FilterSemanticError";
  }
}

type Category = "string" | "number" | "boolean" | "datetime" | "date" | "guid";

const CATEGORY: Record<EdmType, Category> = {
  "Edm.String": "string",
  "Edm.Int32": "number",
  "Edm.Int64": "number",
  "Edm.Decimal": "number",
  "Edm.Double": "number",
  "Edm.Boolean": "boolean",
  "Edm.DateTimeOffset": "datetime",
  "Edm.Date": "date",
  "Edm.Guid": "guid",
};

const OPERATOR_KIND: Record<ComparisonOperator, string> = {
  eq: "Equal",
  ne: "NotEqual",
  gt: "GreaterThan",
  ge: "GreaterThanOrEqual",
  lt: "LessThan",
  le: "LessThanOrEqual",
};

function literalEdm(l: FilterLiteral): EdmType | "null" {
  switch (l.type) {
    case "string":
      return "Edm.String";
    case "number":
      return l.integer ? (Math.abs(l.value) > 2147483647 ? "Edm.Int64" : "Edm.Int32") : "Edm.Decimal";
    case "date":
      return "Edm.Date";
    case "datetime":
      return "Edm.DateTimeOffset";
    case "guid":
      return "Edm.Guid";
    case "boolean":
      return "Edm.Boolean";
    case "null":
      return "null";
  }
}

function compatible(a: Category, b: Category): boolean {
  if (a === b) return true;
  const dates = new Set<Category>(["date", "datetime"]);
  return dates.has(a) && dates.has(b);
}

/** Three-valued logic as in SQL: a comparison with null is unknown, and unknown rows are left out. */
type Truth = boolean | undefined;

/** A value normalised for comparison: numbers stay numbers, everything else becomes comparable text. */
type Comparable = { c: Category; v: string | number | boolean } | null;

function normaliseValue(category: Category, value: unknown, caseInsensitive: boolean): Comparable {
  if (value === null || value === undefined) return null;
  switch (category) {
    case "number":
      return { c: "number", v: Number(value) };
    case "boolean":
      return { c: "boolean", v: Boolean(value) };
    case "datetime":
      return { c: "datetime", v: Date.parse(String(value)) };
    case "date":
      return { c: "date", v: String(value).slice(0, 10) };
    case "guid":
      return { c: "guid", v: String(value).toLowerCase() };
    case "string":
      return { c: "string", v: caseInsensitive ? String(value).toLowerCase() : String(value) };
  }
}

function normaliseLiteral(l: FilterLiteral, caseInsensitive: boolean): Comparable {
  switch (l.type) {
    case "null":
      return null;
    case "string":
      return { c: "string", v: caseInsensitive ? l.value.toLowerCase() : l.value };
    case "number":
      return { c: "number", v: l.value };
    case "date":
      return { c: "date", v: l.value };
    case "datetime":
      return { c: "datetime", v: l.value };
    case "guid":
      return { c: "guid", v: l.value };
    case "boolean":
      return { c: "boolean", v: l.value };
  }
}

/** Brings a date and a date-time to the same scale (milliseconds) so they can be compared. */
function align(
  a: NonNullable<Comparable>,
  b: NonNullable<Comparable>,
): [string | number | boolean, string | number | boolean] {
  if (a.c === "date" && b.c === "datetime") return [Date.parse(`${a.v}T00:00:00Z`), b.v];
  if (a.c === "datetime" && b.c === "date") return [a.v, Date.parse(`${b.v}T00:00:00Z`)];
  return [a.v, b.v];
}

/** Compares two values; a null value makes the comparison unknown (SQL), except `eq null` / `ne null`. */
function compare(op: ComparisonOperator, a: Comparable, b: Comparable, nullLiteral = false): Truth {
  if (a === null || b === null) {
    if (!nullLiteral) return undefined;
    if (op === "eq") return a === b;
    if (op === "ne") return a !== b;
    return undefined;
  }
  const [x, y] = align(a, b);
  switch (op) {
    case "eq":
      return x === y;
    case "ne":
      return x !== y;
    case "gt":
      return x > y;
    case "ge":
      return x >= y;
    case "lt":
      return x < y;
    case "le":
      return x <= y;
  }
}

/** Options of {@link compileFilter}. */
export interface CompileOptions {
  /** Dataverse and Graph compare text without regard to case (SQL collation); default true. */
  caseInsensitive?: boolean;
}

/**
 * Checks a parsed filter against `schema` (unknown properties, incompatible operand types, wrong
 * function arguments all throw {@link FilterSemanticError}) and returns a predicate.
 */
export function compileFilter<Row>(
  node: FilterNode,
  schema: FilterSchema<Row>,
  options: CompileOptions = {},
): (row: Row) => boolean {
  const ci = options.caseInsensitive ?? true;

  const typeOf = (name: string): EdmType => {
    const t = schema.typeOf(name);
    if (!t)
      throw new FilterSemanticError("unknownProperty", `Could not find a property named '${name}'.`, name);
    return t;
  };

  const operandCategory = (o: FilterOperand): { cat: Category | "null"; edm: string } => {
    if (o.kind === "property") {
      const edm = typeOf(o.name);
      return { cat: CATEGORY[edm], edm };
    }
    const edm = literalEdm(o.literal);
    return { cat: edm === "null" ? "null" : CATEGORY[edm], edm: edm === "null" ? "null" : edm };
  };

  const build = (n: FilterNode): ((row: Row) => Truth) => {
    switch (n.kind) {
      case "and": {
        const l = build(n.left);
        const r = build(n.right);
        return (row) => {
          const a = l(row);
          if (a === false) return false;
          const b = r(row);
          if (b === false) return false;
          return a === true && b === true ? true : undefined;
        };
      }
      case "or": {
        const l = build(n.left);
        const r = build(n.right);
        return (row) => {
          const a = l(row);
          if (a === true) return true;
          const b = r(row);
          if (b === true) return true;
          return a === false && b === false ? false : undefined;
        };
      }
      case "not": {
        const inner = build(n.operand);
        return (row) => {
          const v = inner(row);
          return v === undefined ? undefined : !v;
        };
      }
      case "property": {
        const edm = typeOf(n.name);
        if (edm !== "Edm.Boolean")
          throw new FilterSemanticError(
            "incompatibleTypes",
            `The $filter expression must evaluate to a single boolean value; '${n.name}' is ${edm}.`,
            n.name,
          );
        return (row) => {
          const v = schema.valueOf(row, n.name);
          return v === null || v === undefined ? undefined : Boolean(v);
        };
      }
      case "compare": {
        const left = operandCategory(n.left);
        const right = operandCategory(n.right);
        if (left.cat !== "null" && right.cat !== "null" && !compatible(left.cat, right.cat))
          throw new FilterSemanticError(
            "incompatibleTypes",
            `A binary operator with incompatible types was detected. Found operand types '${left.edm}' and '${right.edm}' for operator kind '${OPERATOR_KIND[n.op]}'.`,
            n.left.kind === "property" ? n.left.name : n.right.kind === "property" ? n.right.name : undefined,
          );
        const side = (o: FilterOperand, cat: Category | "null"): ((row: Row) => Comparable) => {
          if (o.kind === "literal") {
            const v = normaliseLiteral(o.literal, ci);
            return () => v;
          }
          const c = cat as Category;
          return (row) => normaliseValue(c, schema.valueOf(row, o.name), ci);
        };
        const a = side(n.left, left.cat);
        const b = side(n.right, right.cat);
        const nullLiteral = left.cat === "null" || right.cat === "null";
        return (row) => compare(n.op, a(row), b(row), nullLiteral);
      }
      case "in": {
        const edm = typeOf(n.property);
        const cat = CATEGORY[edm];
        for (const v of n.values) {
          const le = literalEdm(v);
          if (le !== "null" && !compatible(cat, CATEGORY[le]))
            throw new FilterSemanticError(
              "incompatibleTypes",
              `A binary operator with incompatible types was detected. Found operand types '${edm}' and '${le}' for operator kind 'In'.`,
              n.property,
            );
        }
        const values = n.values.map((v) => normaliseLiteral(v, ci));
        return (row) => {
          const x = normaliseValue(cat, schema.valueOf(row, n.property), ci);
          if (x === null) return values.some((v) => v === null) ? true : undefined;
          // \`in\` is a chain of \`eq\`s, so a null value is unknown against non-null values.
          return values.some((v) => v !== null && compare("eq", x, v) === true);
        };
      }
      case "call": {
        const edm = typeOf(n.property);
        if (edm !== "Edm.String" || n.argument.type !== "string")
          throw new FilterSemanticError(
            "badFunctionArguments",
            `No function signature for the function with name '${n.fn}' matches the specified arguments. The function signatures considered are: ${n.fn}(Edm.String Nullable=true, Edm.String Nullable=true).`,
            n.property,
          );
        const needle = ci ? n.argument.value.toLowerCase() : n.argument.value;
        const test =
          n.fn === "contains"
            ? (s: string) => s.includes(needle)
            : n.fn === "startswith"
              ? (s: string) => s.startsWith(needle)
              : (s: string) => s.endsWith(needle);
        return (row) => {
          const v = schema.valueOf(row, n.property);
          if (v === null || v === undefined) return undefined;
          return test(ci ? String(v).toLowerCase() : String(v));
        };
      }
    }
  };

  const predicate = build(node);
  return (row) => predicate(row) === true;
}
