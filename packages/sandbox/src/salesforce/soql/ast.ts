/** A dotted field reference such as `Account.Owner.Email`, as written in the query. */
export interface FieldPath {
  kind: "field";
  path: string[];
  pos: number;
}

export type SelectItem =
  | FieldPath
  | { kind: "count"; field?: FieldPath; alias?: string; pos: number }
  | { kind: "fields"; which: "ALL" | "STANDARD" | "CUSTOM"; pos: number }
  | { kind: "subquery"; query: Query; pos: number };

export type Literal =
  | { kind: "string"; value: string; pos: number }
  | { kind: "number"; value: number; pos: number }
  | { kind: "boolean"; value: boolean; pos: number }
  | { kind: "null"; pos: number }
  | { kind: "date"; value: string; pos: number }
  | { kind: "datetime"; value: string; pos: number }
  /** TODAY, LAST_N_DAYS:30… */
  | { kind: "dateLiteral"; name: string; n?: number; pos: number };

export type CompareOp = "=" | "!=" | "<" | ">" | "<=" | ">=";

export type Condition =
  | { kind: "and"; items: Condition[] }
  | { kind: "or"; items: Condition[] }
  | { kind: "not"; item: Condition }
  | { kind: "compare"; field: FieldPath; op: CompareOp; value: Literal; pos: number }
  | { kind: "in"; field: FieldPath; negated: boolean; values: Literal[]; pos: number }
  | { kind: "inQuery"; field: FieldPath; negated: boolean; query: Query; pos: number }
  | { kind: "like"; field: FieldPath; pattern: Literal; pos: number }
  | { kind: "includes"; field: FieldPath; negated: boolean; values: Literal[]; pos: number };

export interface OrderItem {
  field: FieldPath;
  descending: boolean;
  nullsLast: boolean;
}

export interface Query {
  select: SelectItem[];
  from: { name: string; pos: number };
  where?: Condition;
  orderBy: OrderItem[];
  limit?: number;
  offset?: number;
}
