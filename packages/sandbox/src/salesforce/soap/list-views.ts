import type { IdGenerator } from "../ids.js";
import type { FieldDef } from "../schema/types.js";
import { isFilterable, isNumberType } from "../schema/types.js";
import { parseDateTime } from "../time.js";
import {
  DEVELOPER_NAME,
  list,
  MetadataComponentError,
  type MetadataRecord,
  record,
  SoapFault,
  str,
} from "./metadata-types.js";
import { integrityError, ObjectComponents, type OrgSchemaView } from "./object-components.js";

/**
 * ListView components (Metadata API ListView: fullName `Object.View`, label, filterScope, filters
 * [{field, operation, value}], booleanFilter, columns, sharedTo;
 * developer.salesforce.com/docs/atlas.en-us.api_meta.meta/api_meta/meta_listview.htm). A view has no
 * sort order in metadata. "Visible only to me" views are not in the Metadata API, so every view here
 * is visible to all users unless `sharedTo` narrows it.
 */
export interface ListViewFilterDef {
  field: string;
  operation: string;
  value?: string;
}

export interface ListViewDef {
  id: string;
  objectName: string;
  name: string;
  label: string;
  filterScope: string;
  columns: string[];
  filters: ListViewFilterDef[];
  booleanFilter?: string;
}

/** A column or filter field resolved against the schema: the field shown, and the lookup it is reached through. */
export interface ResolvedField {
  /** What REST calls `fieldNameOrPath` (`Name`, `Account.Name`, `Cosell_Stage__c`). */
  path: string;
  field: FieldDef;
  /** The lookup on the view's object (`AccountId`) when the field is on a parent. */
  via?: FieldDef;
}

/** FilterOperation values (the ListViewFilter `operation` enumeration of the ListView page). */
const OPERATIONS = new Set([
  "equals",
  "notEqual",
  "lessThan",
  "greaterThan",
  "lessOrEqual",
  "greaterOrEqual",
  "contains",
  "notContain",
  "startsWith",
  "includes",
  "excludes",
  "within",
]);

/** FilterScope values Salesforce knows, and the ones the sandbox evaluates. */
const SCOPES = new Set([
  "Everything",
  "Mine",
  "MineAndMyGroups",
  "Queue",
  "Delegated",
  "MyTerritory",
  "MyTeamTerritory",
  "Team",
  "AssignedToMe",
]);
const EVALUATED_SCOPES = new Set(["Everything", "Mine"]);

/**
 * Standard fields appear in ListView columns and filters under their old column names, not their API
 * names (the ListView page: "Field names in the ListView columns don't always match their API name
 * counterparts"); custom fields by their API name. These are the Opportunity ones the sandbox knows.
 */
const STANDARD_COLUMNS: Record<string, Record<string, string>> = {
  Opportunity: {
    "OPPORTUNITY.NAME": "Name",
    "ACCOUNT.NAME": "Account.Name",
    "OPPORTUNITY.AMOUNT": "Amount",
    "OPPORTUNITY.CLOSE_DATE": "CloseDate",
    "OPPORTUNITY.STAGE_NAME": "StageName",
    "OPPORTUNITY.PROBABILITY": "Probability",
    "OPPORTUNITY.TYPE": "Type",
    "OPPORTUNITY.LEAD_SOURCE": "LeadSource",
    "OPPORTUNITY.NEXT_STEP": "NextStep",
    "OPPORTUNITY.CREATED_DATE": "CreatedDate",
    "OPPORTUNITY.LAST_UPDATE": "LastModifiedDate",
    "CORE.USERS.ALIAS": "Owner.Alias",
  },
};

/** Salesforce's limits on a list view's unique name and label (40 characters each, as in the UI). */
const MAX_NAME = 40;

/** What this store needs of the org (see {@link OrgSchemaView}). */
interface OrgView extends OrgSchemaView {
  readonly ids: IdGenerator;
}

/** The org's list views by lower-case `Object.View`, each with a `00B` record id. */
export class ListViews extends ObjectComponents<ListViewDef> {
  constructor(private readonly org: OrgView) {
    super(org, "ListView", "a list view");
  }

  protected metadataOf(c: ListViewDef): MetadataRecord {
    return metadataOf(c);
  }

  /** A column or filter name as the view's object knows it, or undefined. */
  resolve(objectName: string, name: string): ResolvedField | undefined {
    const standard = Object.entries(STANDARD_COLUMNS[objectName] ?? {}).find(
      ([k]) => k.toLowerCase() === name.toLowerCase(),
    )?.[1];
    if (standard) {
      const [first, second] = standard.split(".");
      if (!second) {
        const field = this.org.schema.field(objectName, first!);
        return field ? { path: field.name, field } : undefined;
      }
      const via = this.org.schema.relationship(objectName, first!);
      const parent = via?.referenceTo?.[0];
      const field = parent ? this.org.schema.field(parent, second) : undefined;
      return via && field ? { path: `${via.relationshipName}.${field.name}`, field, via } : undefined;
    }
    // Custom fields by API name; a standard field's API name is not a column name.
    const field = this.org.schema.field(objectName, name);
    return field?.custom ? { path: field.name, field } : undefined;
  }

  /** Validates a component as Salesforce would refuse it and returns its definition. */
  protected compile(
    md: MetadataRecord,
    objectName: string,
    name: string,
    existing?: Pick<ListViewDef, "id">,
  ): ListViewDef {
    // A new view's id is taken only once it is stored (see `created`): a refused one uses none.
    const id = existing?.id ?? this.org.ids.peek("00B");
    if (!DEVELOPER_NAME.test(name) || name.length > MAX_NAME)
      throw integrityError(
        `The list view name ${name} is invalid: at most ${MAX_NAME} characters, beginning with a letter, using only letters, digits and single underscores.`,
        "fullName",
      );
    const label = str(md, "label");
    if (!label)
      throw new MetadataComponentError("REQUIRED_FIELD_MISSING", "Required field is missing: label", [
        "label",
      ]);
    if (label.length > MAX_NAME)
      throw integrityError(`The label is longer than ${MAX_NAME} characters.`, "label");
    const filterScope = str(md, "filterScope");
    if (!filterScope)
      throw new MetadataComponentError("REQUIRED_FIELD_MISSING", "Required field is missing: filterScope", [
        "filterScope",
      ]);
    // An enumeration value outside the WSDL's fails the whole call, before any component is saved.
    if (!SCOPES.has(filterScope))
      throw new SoapFault(
        "soapenv:Client",
        `'${filterScope}' is not a valid value for the enum 'FilterScope'`,
      );
    if (!EVALUATED_SCOPES.has(filterScope))
      throw integrityError(
        `The sandbox org evaluates list views with filterScope Everything or Mine, not ${filterScope}.`,
        "filterScope",
      );
    const columns = toStrings(md.columns).map((c) => {
      if (!this.resolve(objectName, c))
        throw integrityError(`Invalid column ${c}: ${objectName} has no such field.`, "columns");
      return c;
    });
    const filters = list(md, "filters").map((f, i) => this.filter(objectName, f, i + 1));
    const booleanFilter = str(md, "booleanFilter");
    if (booleanFilter) checkBooleanFilter(booleanFilter, filters.length);
    const sharedTo = record(md, "sharedTo");
    for (const key of Object.keys(sharedTo ?? {}))
      if (key !== "allInternalUsers")
        throw new MetadataComponentError(
          "INVALID_CROSS_REFERENCE_KEY",
          `In field: sharedTo - the sandbox org has no ${key} to share the list view with`,
          ["sharedTo"],
        );
    return {
      id,
      objectName,
      name,
      label,
      filterScope,
      columns,
      filters,
      ...(booleanFilter ? { booleanFilter } : {}),
    };
  }

  private filter(objectName: string, f: MetadataRecord, n: number): ListViewFilterDef {
    const field = str(f, "field") ?? "";
    const operation = str(f, "operation") ?? "";
    const value = typeof f.value === "string" ? f.value : undefined;
    if (!OPERATIONS.has(operation))
      throw new SoapFault(
        "soapenv:Client",
        `'${operation}' is not a valid value for the enum 'FilterOperation'`,
      );
    const resolved = this.resolve(objectName, field);
    if (!resolved) throw integrityError(`Filter ${n}: invalid field ${field} on ${objectName}.`, "filters");
    const def = resolved.field;
    if (!isFilterable(def)) throw integrityError(`Filter ${n}: ${field} cannot be filtered on.`, "filters");
    if ((operation === "includes" || operation === "excludes") && def.type !== "multipicklist")
      throw integrityError(`Filter ${n}: ${operation} applies to multi-select picklists only.`, "filters");
    if (operation === "within")
      throw integrityError(`Filter ${n}: within applies to geolocation fields only.`, "filters");
    if (def.type === "boolean") {
      if (operation !== "equals" && operation !== "notEqual")
        throw integrityError(
          `Filter ${n}: a checkbox can only be compared with equals or notEqual.`,
          "filters",
        );
      if (!/^(1|0|true|false)$/i.test(value ?? ""))
        throw integrityError(`Filter ${n}: ${field} is a checkbox: the value is 1 or 0.`, "filters");
    }
    const dated = def.type === "date" || def.type === "datetime";
    const numeric = isNumberType(def.type);
    for (const v of (value ?? "").split(",").map((x) => x.trim()))
      if (v !== "" && ((dated && parseDateTime(v) === undefined) || (numeric && !Number.isFinite(Number(v)))))
        throw integrityError(
          `Filter ${n}: ${v} is not a ${dated ? "date (the sandbox takes ISO dates, not relative ones such as TODAY)" : "number"}.`,
          "filters",
        );
    return { field, operation, ...(value !== undefined && value !== "" ? { value } : {}) };
  }

  private byId(id: string): ListViewDef | undefined {
    return this.all().find((v) => v.id.slice(0, 15) === id.slice(0, 15));
  }

  /** The views of one object, in creation order. */
  of(objectName: string): ListViewDef[] {
    return this.all().filter((v) => v.objectName === objectName);
  }

  protected override created(): void {
    this.org.ids.next("00B");
  }

  /** A view of this object by its 15- or 18-character id. */
  get(objectName: string, id: string): ListViewDef | undefined {
    const v = this.byId(id);
    return v?.objectName === objectName ? v : undefined;
  }

  snapshot(): ListViewDef[] {
    return this.all().map((v) => structuredClone(v));
  }

  /** Replaces the views with saved ones (validated again against the current schema). */
  restore(defs: readonly ListViewDef[]): void {
    this.clear();
    for (const d of defs) this.put(this.compile(metadataOf(d), d.objectName, d.name, d));
  }
}

function toStrings(v: unknown): string[] {
  if (v === undefined || v === null || v === "") return [];
  return (Array.isArray(v) ? v : [v]).filter((x): x is string => typeof x === "string" && x !== "");
}

/**
 * `1 AND (2 OR NOT 3)`: numbers of filter lines with AND, OR, NOT and parentheses. Every line must be
 * used, and no number may name a line that does not exist (the list view editor refuses both).
 */
function checkBooleanFilter(expr: string, count: number): void {
  const tokens = expr.match(/\(|\)|\d+|[A-Za-z]+|\S/g) ?? [];
  const used = new Set<number>();
  let i = 0;
  const bad = (why: string): never => {
    throw integrityError(`booleanFilter ${expr}: ${why}.`, "booleanFilter");
  };
  const primary = (): void => {
    const t = tokens[i++];
    if (t === "(") {
      or();
      if (tokens[i++] !== ")") bad("unbalanced parentheses");
    } else if (t?.toUpperCase() === "NOT") primary();
    else if (t && /^\d+$/.test(t)) {
      const n = Number(t);
      if (n < 1 || n > count) bad(`there is no filter ${n}`);
      used.add(n);
    } else bad(`unexpected ${t ?? "end"}`);
  };
  const and = (): void => {
    primary();
    while (tokens[i]?.toUpperCase() === "AND") {
      i++;
      primary();
    }
  };
  const or = (): void => {
    and();
    while (tokens[i]?.toUpperCase() === "OR") {
      i++;
      and();
    }
  };
  or();
  if (i < tokens.length) bad(`unexpected ${tokens[i]}`);
  for (let n = 1; n <= count; n++) if (!used.has(n)) bad(`filter ${n} is not used`);
}

/** A view as readMetadata returns it. */
function metadataOf(v: ListViewDef): MetadataRecord {
  return {
    fullName: `${v.objectName}.${v.name}`,
    ...(v.booleanFilter ? { booleanFilter: v.booleanFilter } : {}),
    ...(v.columns.length ? { columns: [...v.columns] } : {}),
    filterScope: v.filterScope,
    ...(v.filters.length ? { filters: v.filters.map((f) => ({ ...f })) } : {}),
    label: v.label,
  };
}
