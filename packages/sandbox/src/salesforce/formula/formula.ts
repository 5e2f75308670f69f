import type { FieldDef, Value } from "../schema/types.js";

/**
 * The subset of Salesforce's formula language the sandbox evaluates (validation rules): AND, OR, NOT,
 * ISPICKVAL, ISBLANK, TEXT, field references, string / number / TRUE / FALSE literals and the
 * comparisons =, ==, <>, !=. Anything else (other functions, &&, ||, arithmetic, comments, related
 * fields) is refused when the rule is saved: the sandbox never accepts a formula it cannot evaluate
 * the way Salesforce would. Typing follows Salesforce's: comparisons need operands of one type, AND/OR/NOT
 * take true/false, and a picklist field is only usable in ISPICKVAL and TEXT (CASE is not in the subset):
 * "using most formula functions or standard comparison operators (such as = or !=) results in errors"
 * (help.salesforce.com/s/articleView?id=platform.tips_for_using_picklist_formula_fields.htm).
 */

/** A formula Salesforce (or the sandbox's subset) refuses; the message is what an admin reads. */
export class FormulaError extends Error {
  readonly code = "FORMULA_INVALID";
}

type FormulaType = "Text" | "Number" | "Boolean" | "Picklist" | "Date" | "DateTime";

/** A parsed, type-checked formula node. */
export type FormulaNode =
  | { kind: "literal"; type: FormulaType; value: Value }
  | { kind: "field"; type: FormulaType; field: string }
  | { kind: "call"; type: FormulaType; fn: string; args: FormulaNode[] }
  | { kind: "compare"; type: "Boolean"; op: "=" | "<>"; left: FormulaNode; right: FormulaNode };

type Token =
  | { t: "str"; v: string }
  | { t: "num"; v: number }
  | { t: "ident"; v: string }
  | { t: "op"; v: string }
  | { t: "(" | ")" | "," };

const SUPPORTED = "AND, OR, NOT, ISPICKVAL, ISBLANK, TEXT, field references, literals, =, ==, <>, !=";

function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === "(" || c === ")" || c === ",") {
      out.push({ t: c });
      i++;
      continue;
    }
    if (c === '"' || c === "'") {
      let v = "";
      i++;
      for (;;) {
        if (i >= src.length) throw new FormulaError("Syntax error. Missing '\"'");
        const d = src[i]!;
        if (d === "\\") {
          const e = src[i + 1];
          v += e === "n" ? "\n" : e === "t" ? "\t" : (e ?? "");
          i += 2;
          continue;
        }
        i++;
        if (d === c) break;
        v += d;
      }
      out.push({ t: "str", v });
      continue;
    }
    const two = src.slice(i, i + 2);
    if (two === "==" || two === "<>" || two === "!=") {
      out.push({ t: "op", v: two === "!=" ? "<>" : two === "==" ? "=" : "<>" });
      i += 2;
      continue;
    }
    if (c === "=") {
      out.push({ t: "op", v: "=" });
      i++;
      continue;
    }
    const num = /^\d+(\.\d+)?/.exec(src.slice(i));
    if (num) {
      out.push({ t: "num", v: Number(num[0]) });
      i += num[0].length;
      continue;
    }
    const ident = /^[A-Za-z][A-Za-z0-9_]*/.exec(src.slice(i));
    if (ident) {
      out.push({ t: "ident", v: ident[0] });
      i += ident[0].length;
      continue;
    }
    throw new FormulaError(
      `Syntax error. Found '${src.slice(i, i + 2)}': the sandbox org's formulas support ${SUPPORTED}.`,
    );
  }
  return out;
}

/** Resolves a field name of the rule's object (case-insensitive), or undefined. */
export type FieldLookup = (name: string) => FieldDef | undefined;

function typeOfField(f: FieldDef): FormulaType {
  switch (f.type) {
    case "boolean":
      return "Boolean";
    case "picklist":
      return "Picklist";
    case "double":
    case "int":
    case "currency":
    case "percent":
      return "Number";
    case "date":
      return "Date";
    case "datetime":
      return "DateTime";
    case "multipicklist":
    case "address":
      throw new FormulaError(
        `Field ${f.name} is a ${f.type} field: the sandbox org's formulas support ${SUPPORTED} on text, number, checkbox, date and picklist fields.`,
      );
    default:
      return "Text";
  }
}

class Parser {
  private i = 0;
  constructor(
    private readonly tokens: Token[],
    private readonly lookup: FieldLookup,
  ) {}

  parse(): FormulaNode {
    const node = this.comparison();
    if (this.i < this.tokens.length) throw new FormulaError(`Syntax error. Extra ${this.describe()}`);
    return node;
  }

  private describe(): string {
    const t = this.tokens[this.i];
    if (!t) return "end of formula";
    return "v" in t ? String(t.v) : t.t;
  }

  private comparison(): FormulaNode {
    const left = this.operand();
    const t = this.tokens[this.i];
    if (t?.t !== "op") return left;
    this.i++;
    const right = this.operand();
    const op = t.v as "=" | "<>";
    if (left.type === "Picklist" || right.type === "Picklist") throw picklistMisuse(left, right);
    if (left.type !== right.type)
      throw new FormulaError(
        `Incorrect parameter type for operator '${op}'. Expected ${left.type}, received ${right.type}`,
      );
    return { kind: "compare", type: "Boolean", op, left, right };
  }

  private operand(): FormulaNode {
    const t = this.tokens[this.i++];
    if (!t) throw new FormulaError("Syntax error. Missing ')'");
    if (t.t === "str") return { kind: "literal", type: "Text", value: t.v };
    if (t.t === "num") return { kind: "literal", type: "Number", value: t.v };
    if (t.t !== "ident") throw new FormulaError(`Syntax error. Found '${"v" in t ? t.v : t.t}'`);
    const upper = t.v.toUpperCase();
    if (this.tokens[this.i]?.t === "(") {
      this.i++;
      const args: FormulaNode[] = [];
      if (this.tokens[this.i]?.t !== ")")
        for (;;) {
          args.push(this.comparison());
          const sep = this.tokens[this.i++];
          if (sep?.t === ")") break;
          if (sep?.t !== ",") throw new FormulaError("Syntax error. Missing ')'");
        }
      else this.i++;
      return call(upper, args);
    }
    if (upper === "TRUE" || upper === "FALSE")
      return { kind: "literal", type: "Boolean", value: upper === "TRUE" };
    if (upper === "NULL")
      throw new FormulaError(
        `The sandbox org's formulas support ${SUPPORTED}; use ISBLANK for blank values.`,
      );
    const f = this.lookup(t.v);
    if (!f) throw new FormulaError(`Field ${t.v} does not exist. Check spelling.`);
    return { kind: "field", type: typeOfField(f), field: f.name };
  }
}

function picklistMisuse(...nodes: FormulaNode[]): FormulaError {
  const field = nodes.find((n) => n.type === "Picklist" && n.kind === "field");
  return new FormulaError(
    `Field ${field && field.kind === "field" ? field.field : "?"} is a picklist field. Picklist fields are only supported in certain functions.`,
  );
}

function argCount(fn: string, args: FormulaNode[], n: number | [number, number]): void {
  const [min, max] = typeof n === "number" ? [n, n] : n;
  if (args.length < min || args.length > max)
    throw new FormulaError(
      `Incorrect number of parameters for function '${fn}()'. Expected ${min === max ? min : `${min} or more`}, received ${args.length}`,
    );
}

function expect(fn: string, arg: FormulaNode, ...types: FormulaType[]): void {
  if (arg.type === "Picklist" && !types.includes("Picklist")) throw picklistMisuse(arg);
  if (!types.includes(arg.type))
    throw new FormulaError(
      `Incorrect parameter type for function '${fn}()'. Expected ${types.join(" or ")}, received ${arg.type}`,
    );
}

function call(fn: string, args: FormulaNode[]): FormulaNode {
  switch (fn) {
    case "AND":
    case "OR":
      argCount(fn, args, [1, Number.MAX_SAFE_INTEGER]);
      for (const a of args) expect(fn, a, "Boolean");
      return { kind: "call", type: "Boolean", fn, args };
    case "NOT":
      argCount(fn, args, 1);
      expect(fn, args[0]!, "Boolean");
      return { kind: "call", type: "Boolean", fn, args };
    case "ISBLANK":
      argCount(fn, args, 1);
      expect(fn, args[0]!, "Text", "Number", "Boolean", "Date", "DateTime");
      return { kind: "call", type: "Boolean", fn, args };
    case "ISPICKVAL":
      argCount(fn, args, 2);
      if (args[0]!.kind !== "field" || args[0]!.type !== "Picklist")
        throw new FormulaError("Incorrect parameter type for function 'ISPICKVAL()'. Expected Picklist");
      // The value is a text literal: "ISPICKVAL(picklist_field, text_literal)" (Salesforce's formula reference).
      if (args[1]!.kind !== "literal" || args[1]!.type !== "Text")
        throw new FormulaError("Incorrect argument type for function 'ISPICKVAL()'. Expected a text literal");
      return { kind: "call", type: "Boolean", fn, args };
    case "TEXT":
      argCount(fn, args, 1);
      expect(fn, args[0]!, "Picklist", "Number", "Text");
      return { kind: "call", type: "Text", fn, args };
    default:
      throw new FormulaError(
        `Function ${fn} is not supported by the sandbox org's formulas (supported: ${SUPPORTED}).`,
      );
  }
}

/**
 * Parses and type-checks a validation rule's condition against the object's fields; throws
 * {@link FormulaError} with Salesforce's wording where it has one.
 */
export function parseFormula(src: string, lookup: FieldLookup): FormulaNode {
  const node = new Parser(tokenize(src), lookup).parse();
  if (node.type !== "Boolean")
    throw new FormulaError(
      `Formula result is data type (${node.type}), incompatible with expected data type (true or false).`,
    );
  return node;
}

/** Field names (canonical) a formula reads. */
export function fieldsOf(node: FormulaNode): string[] {
  if (node.kind === "field") return [node.field];
  if (node.kind === "call") return node.args.flatMap(fieldsOf);
  if (node.kind === "compare") return [...fieldsOf(node.left), ...fieldsOf(node.right)];
  return [];
}

/**
 * Evaluates a formula on a row. A blank text is "" (Salesforce treats blank text as an empty string);
 * a comparison with a blank number, date or checkbox is blank, and a blank condition is not an error.
 */
export function evaluate(node: FormulaNode, row: Readonly<Record<string, Value | undefined>>): Value {
  switch (node.kind) {
    case "literal":
      return node.value;
    case "field": {
      const v = row[node.field] ?? null;
      return (node.type === "Text" || node.type === "Picklist") && v === null ? "" : v;
    }
    case "compare": {
      const a = evaluate(node.left, row);
      const b = evaluate(node.right, row);
      if (a === null || b === null) return null;
      return node.op === "=" ? a === b : a !== b;
    }
    case "call": {
      const arg = (k: number) => evaluate(node.args[k]!, row);
      switch (node.fn) {
        case "AND":
          return node.args.every((_, k) => arg(k) === true);
        case "OR":
          return node.args.some((_, k) => arg(k) === true);
        case "NOT": {
          const v = arg(0);
          return v === null ? null : !v;
        }
        case "ISBLANK": {
          const v = arg(0);
          return v === null || v === "";
        }
        case "ISPICKVAL":
          return arg(0) === arg(1);
        case "TEXT": {
          const v = arg(0);
          return v === null ? "" : String(v);
        }
        default:
          return null;
      }
    }
  }
}
