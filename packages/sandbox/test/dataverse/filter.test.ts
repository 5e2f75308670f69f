import { describe, expect, it } from "vitest";
import { FilterSyntaxError, parseFilter } from "../../src/dataverse/odata/filter.js";
import { compileFilter, type EdmType, FilterSemanticError } from "../../src/dataverse/odata/filter-eval.js";

type Row = Record<string, unknown>;

const TYPES: Record<string, EdmType> = {
  name: "Edm.String",
  value: "Edm.Decimal",
  stage: "Edm.Int32",
  open: "Edm.Boolean",
  modifiedon: "Edm.DateTimeOffset",
  closedate: "Edm.Date",
  _ownerid_value: "Edm.Guid",
};

const ROWS: Row[] = [
  {
    id: 1,
    name: "Azure migration",
    value: 1000,
    stage: 0,
    open: true,
    modifiedon: "2025-01-10T08:00:00Z",
    closedate: "2025-06-30",
    _ownerid_value: "aaaaaaaa-0000-0000-0000-000000000001",
  },
  {
    id: 2,
    name: "Copilot rollout",
    value: 250.5,
    stage: 2,
    open: false,
    modifiedon: "2025-02-01T12:30:00Z",
    closedate: "2025-03-15",
    _ownerid_value: "aaaaaaaa-0000-0000-0000-000000000002",
  },
  {
    id: 3,
    name: "O'Brien deal",
    value: null,
    stage: 3,
    open: true,
    modifiedon: "2025-02-01T12:30:01Z",
    closedate: null,
    _ownerid_value: null,
  },
];

function ids(filter: string): number[] {
  const predicate = compileFilter<Row>(parseFilter(filter), {
    typeOf: (n) => TYPES[n],
    valueOf: (r, n) => r[n],
  });
  return ROWS.filter(predicate).map((r) => r.id as number);
}

describe("$filter parser and evaluator", () => {
  it("applies every comparison operator to numbers", () => {
    expect(ids("value eq 1000")).toEqual([1]);
    expect(ids("value ne 1000")).toEqual([2]); // null is unknown, not "not equal" (SQL semantics)
    expect(ids("value gt 250.5")).toEqual([1]);
    expect(ids("value ge 250.5")).toEqual([1, 2]);
    expect(ids("value lt 1000")).toEqual([2]);
    expect(ids("value le 1000")).toEqual([1, 2]);
    expect(ids("stage eq 3")).toEqual([3]);
  });

  it("compares strings without regard to case and reads doubled quotes", () => {
    expect(ids("name eq 'azure MIGRATION'")).toEqual([1]);
    expect(ids("name eq 'O''Brien deal'")).toEqual([3]);
    expect(ids("contains(name,'roll')")).toEqual([2]);
    expect(ids("startswith(name,'az')")).toEqual([1]);
    expect(ids("endswith(name,'DEAL')")).toEqual([3]);
  });

  it("handles date-times, dates, guids, booleans and null", () => {
    expect(ids("modifiedon gt 2025-02-01T12:30:00Z")).toEqual([3]);
    expect(ids("modifiedon ge 2025-02-01T13:30:00+01:00")).toEqual([2, 3]);
    expect(ids("modifiedon lt 2025-02-01")).toEqual([1]);
    expect(ids("closedate eq 2025-06-30")).toEqual([1]);
    expect(ids("closedate le 2025-04-01")).toEqual([2]);
    expect(ids("_ownerid_value eq AAAAAAAA-0000-0000-0000-000000000002")).toEqual([2]);
    expect(ids("_ownerid_value eq null")).toEqual([3]);
    expect(ids("value ne null")).toEqual([1, 2]);
    expect(ids("open eq true")).toEqual([1, 3]);
    expect(ids("open")).toEqual([1, 3]);
  });

  it("respects and/or/not precedence and parentheses", () => {
    expect(ids("stage eq 0 or stage eq 2 and open eq true")).toEqual([1]);
    expect(ids("(stage eq 0 or stage eq 2) and open eq false")).toEqual([2]);
    expect(ids("not (stage eq 0)")).toEqual([2, 3]);
    expect(ids("not contains(name,'deal')")).toEqual([1, 2]);
    expect(ids("stage in (0,3)")).toEqual([1, 3]);
  });

  it("reports syntax errors with the position", () => {
    expect(() => parseFilter("name eq")).toThrow(FilterSyntaxError);
    expect(() => parseFilter("name eq 'open")).toThrow(/Unterminated/);
    try {
      parseFilter("stage eq 1 xor stage eq 2");
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(FilterSyntaxError);
      expect((e as FilterSyntaxError).position).toBe(11);
    }
  });

  it("refuses unknown properties and incompatible types with OData's messages", () => {
    const compile = (f: string) =>
      compileFilter<Row>(parseFilter(f), { typeOf: (n) => TYPES[n], valueOf: (r, n) => r[n] });
    expect(() => compile("bogus eq 1")).toThrow(FilterSemanticError);
    expect(() => compile("name eq 5")).toThrow(
      "A binary operator with incompatible types was detected. Found operand types 'Edm.String' and 'Edm.Int32' for operator kind 'Equal'.",
    );
    expect(() => compile("_ownerid_value eq 'aaaaaaaa-0000-0000-0000-000000000001'")).toThrow(
      /'Edm.Guid' and 'Edm.String'/,
    );
    expect(() => compile("contains(stage,'1')")).toThrow(
      /No function signature for the function with name 'contains'/,
    );
  });
});
