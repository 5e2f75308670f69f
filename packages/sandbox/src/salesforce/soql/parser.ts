import type { CompareOp, Condition, FieldPath, Literal, OrderItem, Query, SelectItem } from "./ast.js";
import { SoqlError } from "./errors.js";
import { type Token, tokenize } from "./lexer.js";

const DATE_LITERALS = new Set([
  "YESTERDAY",
  "TODAY",
  "TOMORROW",
  "LAST_WEEK",
  "THIS_WEEK",
  "NEXT_WEEK",
  "LAST_MONTH",
  "THIS_MONTH",
  "NEXT_MONTH",
  "LAST_90_DAYS",
  "NEXT_90_DAYS",
  "THIS_YEAR",
  "LAST_YEAR",
  "NEXT_YEAR",
]);
const N_DATE_LITERALS = new Set(["LAST_N_DAYS", "NEXT_N_DAYS", "N_DAYS_AGO"]);
const UNSUPPORTED_CLAUSES = new Set(["GROUP", "HAVING", "TYPEOF", "USING"]);
const CLAUSE_WORDS = new Set(["FROM", "WHERE", "WITH", "GROUP", "ORDER", "LIMIT", "OFFSET", "FOR", "HAVING"]);

class Parser {
  private i = 0;
  constructor(private readonly tokens: Token[]) {}

  private peek(offset = 0): Token {
    return this.tokens[Math.min(this.i + offset, this.tokens.length - 1)]!;
  }

  private next(): Token {
    const t = this.peek();
    if (this.i < this.tokens.length - 1) this.i++;
    return t;
  }

  private isWord(word: string, offset = 0): boolean {
    const t = this.peek(offset);
    return t.kind === "ident" && t.text.toUpperCase() === word;
  }

  private isPunct(p: string, offset = 0): boolean {
    const t = this.peek(offset);
    return t.kind === "punct" && t.text === p;
  }

  private unexpected(t: Token = this.peek()): SoqlError {
    return new SoqlError(
      "MALFORMED_QUERY",
      `unexpected token: ${t.kind === "string" ? `'${t.text}'` : t.text}`,
      t.pos,
    );
  }

  private expectWord(word: string): Token {
    if (!this.isWord(word)) throw this.unexpected();
    return this.next();
  }

  private expectPunct(p: string): Token {
    if (!this.isPunct(p)) throw this.unexpected();
    return this.next();
  }

  private ident(): Token {
    const t = this.peek();
    if (t.kind !== "ident") throw this.unexpected();
    return this.next();
  }

  query(sub: boolean): Query {
    this.expectWord("SELECT");
    const select = this.selectList(sub);
    this.expectWord("FROM");
    const fromTok = this.ident();
    const q: Query = { select, from: { name: fromTok.text, pos: fromTok.pos }, orderBy: [] };
    if (this.isWord("WHERE")) {
      this.next();
      q.where = this.condition();
    }
    if (this.isWord("WITH")) {
      this.next();
      const w = this.ident();
      if (!["SECURITY_ENFORCED", "USER_MODE", "SYSTEM_MODE"].includes(w.text.toUpperCase()))
        throw this.unexpected(w);
    }
    const t = this.peek();
    if (t.kind === "ident" && UNSUPPORTED_CLAUSES.has(t.text.toUpperCase()))
      throw new SoqlError(
        "MALFORMED_QUERY",
        `${t.text.toUpperCase()} is not supported by the sandbox`,
        t.pos,
      );
    if (this.isWord("ORDER")) {
      this.next();
      this.expectWord("BY");
      q.orderBy = this.orderList();
    }
    if (this.isWord("LIMIT")) {
      this.next();
      q.limit = this.nonNegativeInt();
    }
    if (this.isWord("OFFSET")) {
      this.next();
      q.offset = this.nonNegativeInt();
    }
    if (this.isWord("FOR")) {
      this.next();
      const w = this.ident();
      if (!["VIEW", "REFERENCE", "UPDATE"].includes(w.text.toUpperCase())) throw this.unexpected(w);
    }
    if (!sub && this.peek().kind !== "eof") throw this.unexpected();
    return q;
  }

  /** ORDER BY items; default ASC with nulls first, DESC with nulls last (Salesforce's defaults). */
  private orderList(): OrderItem[] {
    const out: OrderItem[] = [];
    for (;;) {
      const field = this.fieldPath();
      let descending = false;
      if (this.isWord("ASC")) this.next();
      else if (this.isWord("DESC")) {
        this.next();
        descending = true;
      }
      let nullsLast = descending;
      if (this.isWord("NULLS")) {
        this.next();
        const w = this.ident();
        const which = w.text.toUpperCase();
        if (which !== "FIRST" && which !== "LAST") throw this.unexpected(w);
        nullsLast = which === "LAST";
      }
      out.push({ field, descending, nullsLast });
      if (!this.isPunct(",")) return out;
      this.next();
    }
  }

  private nonNegativeInt(): number {
    const t = this.next();
    if (t.kind !== "number" || !/^\d+$/.test(t.text)) throw this.unexpected(t);
    return Number(t.text);
  }

  private selectList(sub: boolean): SelectItem[] {
    const items: SelectItem[] = [this.selectItem(sub)];
    while (this.isPunct(",")) {
      this.next();
      items.push(this.selectItem(sub));
    }
    return items;
  }

  private selectItem(sub: boolean): SelectItem {
    const t = this.peek();
    if (this.isPunct("(")) {
      if (sub)
        throw new SoqlError("MALFORMED_QUERY", "Nesting of semi join sub-selects is not supported", t.pos);
      this.next();
      const query = this.query(true);
      this.expectPunct(")");
      return { kind: "subquery", query, pos: t.pos };
    }
    if (t.kind === "ident" && this.isPunct("(", 1)) {
      const fn = t.text.toUpperCase();
      if (fn === "COUNT") {
        this.next();
        this.next();
        const field = this.isPunct(")") ? undefined : this.fieldPath();
        this.expectPunct(")");
        let alias: string | undefined;
        const a = this.peek();
        if (a.kind === "ident" && !CLAUSE_WORDS.has(a.text.toUpperCase())) alias = this.next().text;
        return { kind: "count", field, alias, pos: t.pos };
      }
      if (fn === "FIELDS") {
        this.next();
        this.next();
        const w = this.ident();
        const which = w.text.toUpperCase();
        if (which !== "ALL" && which !== "STANDARD" && which !== "CUSTOM") throw this.unexpected(w);
        this.expectPunct(")");
        return { kind: "fields", which, pos: t.pos };
      }
      throw new SoqlError("MALFORMED_QUERY", `${t.text}() is not supported by the sandbox`, t.pos);
    }
    if (t.kind === "ident" && CLAUSE_WORDS.has(t.text.toUpperCase())) throw this.unexpected(t);
    if (t.kind === "ident" && t.text.toUpperCase() === "TYPEOF")
      throw new SoqlError("MALFORMED_QUERY", "TYPEOF is not supported by the sandbox", t.pos);
    return this.fieldPath();
  }

  private fieldPath(): FieldPath {
    const first = this.ident();
    const path = [first.text];
    while (this.isPunct(".")) {
      this.next();
      path.push(this.ident().text);
    }
    return { kind: "field", path, pos: first.pos };
  }

  /** SOQL needs parentheses to mix AND and OR on one level. */
  private condition(): Condition {
    const first = this.unary();
    if (!this.isWord("AND") && !this.isWord("OR")) return first;
    const op = this.peek().text.toUpperCase() as "AND" | "OR";
    const items = [first];
    while (this.isWord("AND") || this.isWord("OR")) {
      const t = this.next();
      if (t.text.toUpperCase() !== op) throw this.unexpected(t);
      items.push(this.unary());
    }
    return op === "AND" ? { kind: "and", items } : { kind: "or", items };
  }

  private unary(): Condition {
    if (this.isWord("NOT")) {
      this.next();
      return { kind: "not", item: this.unary() };
    }
    if (this.isPunct("(")) {
      this.next();
      const c = this.condition();
      this.expectPunct(")");
      return c;
    }
    return this.predicate();
  }

  private predicate(): Condition {
    const t = this.peek();
    if (t.kind === "ident" && this.isPunct("(", 1))
      throw new SoqlError("MALFORMED_QUERY", `${t.text}() is not supported by the sandbox`, t.pos);
    const field = this.fieldPath();
    const opTok = this.peek();
    if (opTok.kind === "punct" && ["=", "!=", "<>", "<", ">", "<=", ">="].includes(opTok.text)) {
      this.next();
      const op = (opTok.text === "<>" ? "!=" : opTok.text) as CompareOp;
      return { kind: "compare", field, op, value: this.literal(), pos: opTok.pos };
    }
    if (this.isWord("LIKE")) {
      this.next();
      return { kind: "like", field, pattern: this.literal(), pos: opTok.pos };
    }
    let negated = false;
    if (this.isWord("NOT") && this.isWord("IN", 1)) {
      this.next();
      negated = true;
    }
    if (this.isWord("IN")) {
      this.next();
      this.expectPunct("(");
      if (this.isWord("SELECT")) {
        const query = this.query(true);
        this.expectPunct(")");
        return { kind: "inQuery", field, negated, query, pos: opTok.pos };
      }
      const values = this.literalList();
      return { kind: "in", field, negated, values, pos: opTok.pos };
    }
    if (this.isWord("INCLUDES") || this.isWord("EXCLUDES")) {
      const neg = this.next().text.toUpperCase() === "EXCLUDES";
      this.expectPunct("(");
      return { kind: "includes", field, negated: neg, values: this.literalList(), pos: opTok.pos };
    }
    throw this.unexpected(opTok);
  }

  private literalList(): Literal[] {
    const values = [this.literal()];
    while (this.isPunct(",")) {
      this.next();
      values.push(this.literal());
    }
    this.expectPunct(")");
    return values;
  }

  private literal(): Literal {
    const t = this.next();
    switch (t.kind) {
      case "string":
        return { kind: "string", value: t.text, pos: t.pos };
      case "number":
        return { kind: "number", value: Number(t.text), pos: t.pos };
      case "date":
        return { kind: "date", value: t.text, pos: t.pos };
      case "datetime":
        return { kind: "datetime", value: t.text, pos: t.pos };
      case "ident": {
        const w = t.text.toUpperCase();
        if (w === "TRUE" || w === "FALSE") return { kind: "boolean", value: w === "TRUE", pos: t.pos };
        if (w === "NULL") return { kind: "null", pos: t.pos };
        if (DATE_LITERALS.has(w)) return { kind: "dateLiteral", name: w, pos: t.pos };
        if (N_DATE_LITERALS.has(w)) {
          this.expectPunct(":");
          return { kind: "dateLiteral", name: w, n: this.nonNegativeInt(), pos: t.pos };
        }
        throw this.unexpected(t);
      }
      default:
        throw this.unexpected(t);
    }
  }
}

/** Parses a SOQL query (the subset described in the module docs); throws {@link SoqlError}. */
export function parseSoql(soql: string): Query {
  const tokens = tokenize(soql);
  return new Parser(tokens).query(false);
}
