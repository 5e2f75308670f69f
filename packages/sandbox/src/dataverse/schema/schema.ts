import type { EdmType } from "../odata/filter-eval.js";
import { builtInTables } from "./tables.js";
import type { ColumnDef, ColumnType, ManyToManyDef, TableDef } from "./types.js";

/** A single-valued navigation property resolved to its lookup column and target table. */
export interface NavigationProperty {
  nav: string;
  column: ColumnDef;
  targetTable: string;
}

const LOOKUP_TYPES = new Set<ColumnType>(["Lookup", "Customer", "Owner"]);

/** Whether the column holds a reference to another row. */
export function isLookup(col: ColumnDef): boolean {
  return LOOKUP_TYPES.has(col.type);
}

/** `parentaccountid` → `_parentaccountid_value`. */
export function lookupProperty(column: string): string {
  return `_${column}_value`;
}

/** The EDM type a column is exposed as in the Web API (lookups as their `_x_value` Guid). */
export function edmTypeOf(col: ColumnDef): EdmType {
  switch (col.type) {
    case "String":
    case "Memo":
      return "Edm.String";
    case "Integer":
    case "Picklist":
    case "State":
    case "Status":
      return "Edm.Int32";
    case "BigInt":
      return "Edm.Int64";
    case "Decimal":
    case "Money":
      return "Edm.Decimal";
    case "Double":
      return "Edm.Double";
    case "Boolean":
      return "Edm.Boolean";
    case "DateTime":
      return "Edm.DateTimeOffset";
    case "DateOnly":
      return "Edm.Date";
    case "Uniqueidentifier":
    case "Lookup":
    case "Customer":
    case "Owner":
      return "Edm.Guid";
  }
}

/** The tables of one emulated environment, by logical name and by entity set name. */
export class Schema {
  private readonly byLogical = new Map<string, TableDef>();
  private readonly bySet = new Map<string, TableDef>();

  constructor(tables: TableDef[] = builtInTables()) {
    for (const t of tables) {
      this.byLogical.set(t.logicalName, t);
      this.bySet.set(t.entitySetName, t);
    }
  }

  table(logicalName: string): TableDef | undefined {
    return this.byLogical.get(logicalName);
  }

  /** The table by logical name; throws when the code asks for a table that does not exist. */
  require(logicalName: string): TableDef {
    const t = this.byLogical.get(logicalName);
    if (!t) throw new Error(`Unknown table '${logicalName}'`);
    return t;
  }

  tableBySet(entitySetName: string): TableDef | undefined {
    return this.bySet.get(entitySetName);
  }

  /** A table by entity set name or logical name (control methods accept either). */
  resolve(name: string): TableDef | undefined {
    return this.bySet.get(name) ?? this.byLogical.get(name);
  }

  /** Adds a table created through the metadata API (`POST EntityDefinitions`). */
  add(table: TableDef): void {
    this.byLogical.set(table.logicalName, table);
    this.bySet.set(table.entitySetName, table);
  }

  tables(): TableDef[] {
    return [...this.byLogical.values()];
  }

  /** The single-valued navigation property `nav` of `table` (case-sensitive, as in Dataverse). */
  navigation(table: TableDef, nav: string): NavigationProperty | undefined {
    for (const col of table.columns.values()) {
      const target = col.targets?.find((t) => t.nav === nav);
      if (target) return { nav, column: col, targetTable: target.table };
    }
    return undefined;
  }

  /** The collection-valued (many-to-many) navigation property `nav` of `table`. */
  collectionNavigation(table: TableDef, nav: string): ManyToManyDef | undefined {
    return table.manyToMany.find((m) => m.nav === nav);
  }

  /**
   * A queryable property of `table`: a plain column by logical name, or a lookup column by its
   * `_x_value` name. Lookup columns are not queryable by their own name (they are navigation
   * properties there).
   */
  property(table: TableDef, name: string): ColumnDef | undefined {
    const m = /^_(.+)_value$/.exec(name);
    if (m) {
      const col = table.columns.get(m[1]!);
      return col && isLookup(col) ? col : undefined;
    }
    const col = table.columns.get(name);
    return col && !isLookup(col) ? col : undefined;
  }

  /** The name a column is exposed under in JSON (`_x_value` for lookups). */
  propertyName(col: ColumnDef): string {
    return isLookup(col) ? lookupProperty(col.logicalName) : col.logicalName;
  }
}
