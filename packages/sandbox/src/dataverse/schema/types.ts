/** Column types, named as Dataverse's `AttributeType` (DateOnly is a DateTime with Format DateOnly). */
export type ColumnType =
  | "Uniqueidentifier"
  | "String"
  | "Memo"
  | "Integer"
  | "BigInt"
  | "Decimal"
  | "Money"
  | "Double"
  | "Boolean"
  | "DateTime"
  | "DateOnly"
  | "Picklist"
  | "State"
  | "Status"
  | "Lookup"
  | "Customer"
  | "Owner";

/** One choice of a Picklist, State, Status or Boolean column. */
export interface OptionDef {
  value: number;
  label: string;
  /** For Status options: the state this status reason belongs to. */
  state?: number;
  /** For State options: the status reason a state change picks when none is given. */
  defaultStatus?: number;
}

/** Where a navigation property of a lookup column points. */
export interface LookupTarget {
  /** Navigation property (bind/expand) name, e.g. `customerid_account`. */
  nav: string;
  /** Target table logical name. */
  table: string;
}

/** One column (attribute) of a table, with what validation and metadata need. */
export interface ColumnDef {
  logicalName: string;
  schemaName: string;
  type: ColumnType;
  displayName: string;
  description?: string;
  metadataId: string;
  /** Added through the metadata API (or the cosell setup), not part of the table out of the box. */
  custom: boolean;
  requiredLevel: "None" | "SystemRequired" | "ApplicationRequired" | "Recommended";
  /** Computed by the platform: writes are ignored (createdon, versionnumber, fullname, …). */
  readOnly?: boolean;
  maxLength?: number;
  minValue?: number;
  maxValue?: number;
  precision?: number;
  options?: OptionDef[];
  /** Boolean/Picklist default applied on create when the body does not set the column. */
  defaultValue?: number | boolean;
  /** Lookup, Customer and Owner columns: the navigation properties and their target tables. */
  targets?: LookupTarget[];
  /** Metadata `FormatName` (String) / `Format` (Memo, Integer, DateTime). */
  format?: string;
  /** Publisher prefix the column was created under, for custom columns. */
  solution?: string;
}

/** An alternate key (`EntityKeyMetadata`). */
export interface KeyDef {
  logicalName: string;
  schemaName: string;
  displayName: string;
  metadataId: string;
  keyAttributes: string[];
  /** Index build status; only Active keys can be used in URLs. */
  status: "Pending" | "InProgress" | "Active" | "Failed";
  /** Request counter value when the key was created: it turns Active on a later request. */
  createdAtRequest: number;
  /** Sandbox-clock time the key was created (timed activation counts from it). */
  createdAtMs: number;
}

/** A many-to-many relationship reachable as a collection-valued navigation property. */
export interface ManyToManyDef {
  /** Navigation property name on this table, e.g. `systemuserroles_association`. */
  nav: string;
  /** Relationship storage name shared by both sides. */
  relationship: string;
  targetTable: string;
}

/** One table (entity): names, columns in output order, alternate keys, change tracking. */
export interface TableDef {
  logicalName: string;
  schemaName: string;
  entitySetName: string;
  primaryId: string;
  primaryName: string;
  displayName: string;
  metadataId: string;
  objectTypeCode: number;
  ownership: "UserOwned" | "OrganizationOwned" | "BusinessOwned" | "None";
  isActivity: boolean;
  /** Columns in the order they are returned when no `$select` is given. */
  columns: Map<string, ColumnDef>;
  keys: Map<string, KeyDef>;
  changeTrackingEnabled: boolean;
  manyToMany: ManyToManyDef[];
}
