import { SoqlError } from "./errors.js";

export type TokenKind = "ident" | "string" | "number" | "date" | "datetime" | "punct" | "eof";

export interface Token {
  kind: TokenKind;
  /** Source text (for strings: the unescaped value). */
  text: string;
  /** Offset in the query where the token starts. */
  pos: number;
}

const DATETIME_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?(?:Z|[+-]\d{2}:?\d{2})/;
const DATE_RE = /^\d{4}-\d{2}-\d{2}(?![\dT])/;
const NUMBER_RE = /^-?\d+(?:\.\d+)?/;
const IDENT_RE = /^[A-Za-z_][A-Za-z0-9_]*/;
const PUNCT = ["!=", "<>", "<=", ">=", "(", ")", ",", ".", "=", "<", ">", ":"];

const ESCAPES: Record<string, string> = {
  n: "\n",
  r: "\r",
  t: "\t",
  b: "\b",
  f: "\f",
  '"': '"',
  "'": "'",
  "\\": "\\",
};

function readString(src: string, start: number): { value: string; end: number } {
  let value = "";
  let i = start + 1;
  while (i < src.length) {
    const c = src[i]!;
    if (c === "'") return { value, end: i + 1 };
    if (c === "\\") {
      const n = src[i + 1];
      if (n === undefined) break;
      // `\%` and `\_` stay escaped: they only mean something to LIKE.
      if (n === "%" || n === "_") value += `\\${n}`;
      else if (n in ESCAPES) value += ESCAPES[n];
      else
        throw new SoqlError(
          "MALFORMED_QUERY",
          `Invalid string literal '${src.slice(start, i + 2)}'. Illegal character sequence '\\${n}' in string literal.`,
          i,
        );
      i += 2;
      continue;
    }
    value += c;
    i++;
  }
  throw new SoqlError("MALFORMED_QUERY", "unexpected token: <EOF>", src.length);
}

/** Splits a SOQL string into tokens; keywords come out as `ident` and are matched case-insensitively. */
export function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const rest = src.slice(i);
    if (c === "'") {
      const { value, end } = readString(src, i);
      out.push({ kind: "string", text: value, pos: i });
      i = end;
      continue;
    }
    let m = DATETIME_RE.exec(rest);
    if (m) {
      out.push({ kind: "datetime", text: m[0], pos: i });
      i += m[0].length;
      continue;
    }
    m = DATE_RE.exec(rest);
    if (m) {
      out.push({ kind: "date", text: m[0], pos: i });
      i += m[0].length;
      continue;
    }
    m = NUMBER_RE.exec(rest);
    if (m) {
      out.push({ kind: "number", text: m[0], pos: i });
      i += m[0].length;
      continue;
    }
    m = IDENT_RE.exec(rest);
    if (m) {
      out.push({ kind: "ident", text: m[0], pos: i });
      i += m[0].length;
      continue;
    }
    const p = PUNCT.find((x) => rest.startsWith(x));
    if (!p) throw new SoqlError("MALFORMED_QUERY", `unexpected token: '${c}'`, i);
    out.push({ kind: "punct", text: p, pos: i });
    i += p.length;
  }
  out.push({ kind: "eof", text: "<EOF>", pos: src.length });
  return out;
}
