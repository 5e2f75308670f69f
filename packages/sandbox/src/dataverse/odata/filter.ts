/**
 * An OData v4 `$filter` parser: text in, syntax tree out. It knows nothing of tables: checking
 * property names and types, and evaluating a tree against a row, is `filter-eval.ts`'s job, so the
 * Graph emulator can reuse both with its own property list.
 *
 * Supported: `eq ne gt ge lt le`, `and or not`, parentheses, `in (…)`, the functions `contains`,
 * `startswith`, `endswith`; literals: strings (`'it''s'`), numbers, dates (`2025-06-30`), date-times
 * (`2025-06-30T10:00:00Z`), GUIDs (unquoted), `null`, `true`, `false`.
 */

/** A literal value as written in the filter. */
export type FilterLiteral =
  | { type: "string"; value: string }
  | { type: "number"; value: number; integer: boolean; raw: string }
  | { type: "date"; value: string }
  | { type: "datetime"; value: number; raw: string }
  | { type: "guid"; value: string }
  | { type: "boolean"; value: boolean }
  | { type: "null" };

/** A side of a comparison: a property or a literal. */
export type FilterOperand = { kind: "property"; name: string } | { kind: "literal"; literal: FilterLiteral };

/** The comparison operators. */
export type ComparisonOperator = "eq" | "ne" | "gt" | "ge" | "lt" | "le";
/** The string functions. */
export type FilterFunction = "contains" | "startswith" | "endswith";

/** A node of a parsed `$filter`. */
export type FilterNode =
  | { kind: "and" | "or"; left: FilterNode; right: FilterNode }
  | { kind: "not"; operand: FilterNode }
  | { kind: "compare"; op: ComparisonOperator; left: FilterOperand; right: FilterOperand }
  | { kind: "in"; property: string; values: FilterLiteral[] }
  | { kind: "call"; fn: FilterFunction; property: string; argument: FilterLiteral }
  /** A boolean property used on its own: `$filter=isdisabled`. */
  | { kind: "property"; name: string };

/** The filter text is not valid OData; `position` is the 0-based offset where parsing failed. */
export class FilterSyntaxError extends Error {
  constructor(
    message: string,
    readonly position: number,
    readonly text: string,
  ) {
    super(message);
    this.name = "FilterSyntaxError";
  }
}

type Token =
  | { t: "lparen" | "rparen" | "comma"; at: number }
  | { t: "ident"; value: string; at: number }
  | { t: "literal"; literal: FilterLiteral; at: number };

const COMPARISONS = new Set<string>(["eq", "ne", "gt", "ge", "lt", "le"]);
const FUNCTIONS = new Set<string>(["contains", "startswith", "endswith"]);

const GUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}(?![\w-])/;
const DATETIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,7})?)?(?:Z|[+-]\d{2}:\d{2})(?![\w])/;
const DATE = /^\d{4}-\d{2}-\d{2}(?![\w:-])/;
const NUMBER = /^-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?[mMlLdDfF]?(?![\w.])/;
const IDENT = /^[A-Za-z_][\w.]*(?:\/[A-Za-z_][\w.]*)*/;

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const ch = text[i]!;
    if (/\s/.test(ch)) {
      i++;
      continue;
    }
    if (ch === "(" || ch === ")" || ch === ",") {
      tokens.push({ t: ch === "(" ? "lparen" : ch === ")" ? "rparen" : "comma", at: i });
      i++;
      continue;
    }
    if (ch === "'") {
      let value = "";
      let j = i + 1;
      for (;;) {
        if (j >= text.length) throw new FilterSyntaxError("Unterminated string literal", i, text);
        if (text[j] === "'") {
          if (text[j + 1] === "'") {
            value += "'";
            j += 2;
            continue;
          }
          break;
        }
        value += text[j];
        j++;
      }
      tokens.push({ t: "literal", literal: { type: "string", value }, at: i });
      i = j + 1;
      continue;
    }
    const rest = text.slice(i);
    let m = GUID.exec(rest);
    if (m) {
      tokens.push({ t: "literal", literal: { type: "guid", value: m[0].toLowerCase() }, at: i });
      i += m[0].length;
      continue;
    }
    m = DATETIME.exec(rest);
    if (m) {
      const ms = Date.parse(m[0]);
      if (Number.isNaN(ms)) throw new FilterSyntaxError(`Invalid date-time literal '${m[0]}'`, i, text);
      tokens.push({ t: "literal", literal: { type: "datetime", value: ms, raw: m[0] }, at: i });
      i += m[0].length;
      continue;
    }
    m = DATE.exec(rest);
    if (m) {
      if (Number.isNaN(Date.parse(`${m[0]}T00:00:00Z`)))
        throw new FilterSyntaxError(`Invalid date literal '${m[0]}'`, i, text);
      tokens.push({ t: "literal", literal: { type: "date", value: m[0] }, at: i });
      i += m[0].length;
      continue;
    }
    m = NUMBER.exec(rest);
    if (m) {
      const raw = m[0];
      const digits = raw.replace(/[mMlLdDfF]$/, "");
      tokens.push({
        t: "literal",
        literal: { type: "number", value: Number(digits), integer: /^-?\d+$/.test(digits), raw },
        at: i,
      });
      i += raw.length;
      continue;
    }
    m = IDENT.exec(rest);
    if (m) {
      const word = m[0];
      if (word === "null") tokens.push({ t: "literal", literal: { type: "null" }, at: i });
      else if (word === "true" || word === "false")
        tokens.push({ t: "literal", literal: { type: "boolean", value: word === "true" }, at: i });
      else tokens.push({ t: "ident", value: word, at: i });
      i += word.length;
      continue;
    }
    throw new FilterSyntaxError(`Unexpected character '${ch}'`, i, text);
  }
  return tokens;
}

class Parser {
  private pos = 0;
  constructor(
    private readonly tokens: Token[],
    private readonly text: string,
  ) {}

  parse(): FilterNode {
    if (this.tokens.length === 0) throw this.error("Expression expected", 0);
    const node = this.orExpr();
    const extra = this.tokens[this.pos];
    if (extra) throw this.error("Syntax error", extra.at);
    return node;
  }

  private error(message: string, at: number): FilterSyntaxError {
    return new FilterSyntaxError(message, at, this.text);
  }

  private peek(): Token | undefined {
    return this.tokens[this.pos];
  }

  private atWord(word: string): boolean {
    const t = this.peek();
    return t?.t === "ident" && t.value === word;
  }

  private orExpr(): FilterNode {
    let left = this.andExpr();
    while (this.atWord("or")) {
      this.pos++;
      left = { kind: "or", left, right: this.andExpr() };
    }
    return left;
  }

  private andExpr(): FilterNode {
    let left = this.unary();
    while (this.atWord("and")) {
      this.pos++;
      left = { kind: "and", left, right: this.unary() };
    }
    return left;
  }

  private unary(): FilterNode {
    if (this.atWord("not")) {
      this.pos++;
      return { kind: "not", operand: this.unary() };
    }
    return this.primary();
  }

  private expect(kind: "lparen" | "rparen" | "comma"): void {
    const t = this.peek();
    if (t?.t !== kind)
      throw this.error(`'${{ lparen: "(", rparen: ")", comma: "," }[kind]}' expected`, this.at());
    this.pos++;
  }

  private at(): number {
    return this.peek()?.at ?? this.text.length;
  }

  private primary(): FilterNode {
    const t = this.peek();
    if (!t) throw this.error("Expression expected", this.text.length);
    if (t.t === "lparen") {
      this.pos++;
      const inner = this.orExpr();
      this.expect("rparen");
      return inner;
    }
    if (t.t === "ident" && FUNCTIONS.has(t.value) && this.tokens[this.pos + 1]?.t === "lparen") {
      this.pos += 2;
      const prop = this.peek();
      if (prop?.t !== "ident") throw this.error(`${t.value}() expects a property name first`, this.at());
      this.pos++;
      this.expect("comma");
      const arg = this.peek();
      if (arg?.t !== "literal") throw this.error(`${t.value}() expects a literal second`, this.at());
      this.pos++;
      this.expect("rparen");
      return { kind: "call", fn: t.value as FilterFunction, property: prop.value, argument: arg.literal };
    }
    const left = this.operand();
    const op = this.peek();
    if (op?.t === "ident" && COMPARISONS.has(op.value)) {
      this.pos++;
      const right = this.operand();
      return { kind: "compare", op: op.value as ComparisonOperator, left, right };
    }
    if (op?.t === "ident" && op.value === "in") {
      if (left.kind !== "property") throw this.error("'in' needs a property on its left", op.at);
      this.pos++;
      this.expect("lparen");
      const values: FilterLiteral[] = [];
      for (;;) {
        const v = this.peek();
        if (v?.t !== "literal") throw this.error("Literal expected in 'in' list", this.at());
        values.push(v.literal);
        this.pos++;
        if (this.peek()?.t === "comma") {
          this.pos++;
          continue;
        }
        break;
      }
      this.expect("rparen");
      return { kind: "in", property: left.name, values };
    }
    if (left.kind === "property") return { kind: "property", name: left.name };
    throw this.error("Comparison operator expected", this.at());
  }

  private operand(): FilterOperand {
    const t = this.peek();
    if (!t) throw this.error("Operand expected", this.text.length);
    if (t.t === "literal") {
      this.pos++;
      return { kind: "literal", literal: t.literal };
    }
    if (t.t === "ident" && !COMPARISONS.has(t.value) && !["and", "or", "not", "in"].includes(t.value)) {
      this.pos++;
      return { kind: "property", name: t.value };
    }
    throw this.error("Operand expected", t.at);
  }
}

/** Parses a `$filter` expression; throws {@link FilterSyntaxError} when it is not valid. */
export function parseFilter(text: string): FilterNode {
  return new Parser(tokenize(text), text).parse();
}

/** Parses one literal as it appears in a key segment (`opportunities(cosell_referralid='A')`). */
export function parseLiteral(text: string): FilterLiteral {
  const tokens = tokenize(text);
  const [only] = tokens;
  if (tokens.length !== 1 || only?.t !== "literal") throw new FilterSyntaxError("Literal expected", 0, text);
  return only.literal;
}

/** Every property name a filter mentions (for validation and error messages). */
export function filterProperties(node: FilterNode): string[] {
  switch (node.kind) {
    case "and":
    case "or":
      return [...filterProperties(node.left), ...filterProperties(node.right)];
    case "not":
      return filterProperties(node.operand);
    case "compare":
      return [node.left, node.right].flatMap((o) => (o.kind === "property" ? [o.name] : []));
    case "in":
    case "call":
      return [node.property];
    case "property":
      return [node.name];
  }
}
