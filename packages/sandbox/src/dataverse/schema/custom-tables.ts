import { randomUUID } from "node:crypto";
import type { Env } from "../env.js";
import { DataverseError, dvErrors } from "../errors.js";
import { addSolutionComponent } from "../views/saved-queries.js";
import { createAttribute, label } from "./metadata.js";
import { customOf, findRelationship, type RelationshipDef, relationshipsOf } from "./relationships.js";
import type { Schema } from "./schema.js";
import { ACTIVE_INACTIVE_STATE, ACTIVE_INACTIVE_STATUS, column, systemColumns } from "./tables.js";
import type { ColumnDef, ManyToManyDef, TableDef } from "./types.js";

/**
 * Custom tables and relationships created through the metadata API, as Microsoft Learn describes
 * them ("Create and update table definitions using the Web API", "Create and retrieve table
 * relationships"): `POST EntityDefinitions` with the primary name column, `POST
 * RelationshipDefinitions` with a one-to-many (which adds the lookup column) or many-to-many
 * relationship (which adds a collection-valued navigation property to both tables).
 */

type Json = Record<string, unknown>;

/** `componenttype` of a table in `solutioncomponents`. */
export const ENTITY_COMPONENT = 1;
/** `componenttype` of a relationship. */
export const RELATIONSHIP_COMPONENT = 10;

/** The custom tables and relationships of a schema as plain JSON, for `exportState`. */
export interface CustomSchemaState {
  tables: (Omit<TableDef, "columns" | "keys"> & { columns: ColumnDef[] })[];
  relationships: RelationshipDef[];
  /** Many-to-many navigation properties the relationships added to built-in tables. */
  manyToMany: { table: string; nav: ManyToManyDef }[];
}

export function exportCustomSchema(schema: Schema): CustomSchemaState {
  const custom = customOf(schema);
  const tables = custom.tables.map((n) => schema.require(n));
  const rels = [...custom.relationships.values()];
  const intersects = new Set(
    rels.filter((r) => r.kind === "ManyToMany").map((r) => String(r.json.IntersectEntityName)),
  );
  return {
    tables: tables.map(({ columns, keys: _keys, ...rest }) => ({ ...rest, columns: [...columns.values()] })),
    relationships: rels,
    manyToMany: schema
      .tables()
      .filter((t) => !custom.tables.includes(t.logicalName))
      .flatMap((t) =>
        t.manyToMany
          .filter((m) => intersects.has(m.relationship))
          .map((nav) => ({ table: t.logicalName, nav })),
      ),
  };
}

/** Puts exported custom tables and relationships into a fresh schema (keys are restored by the caller). */
export function importCustomSchema(schema: Schema, state: CustomSchemaState | undefined): void {
  if (!state) return;
  const custom = customOf(schema);
  for (const t of state.tables) {
    schema.add({ ...t, columns: new Map(t.columns.map((c) => [c.logicalName, { ...c }])), keys: new Map() });
    custom.tables.push(t.logicalName);
  }
  for (const r of state.relationships) custom.relationships.set(r.schemaName.toLowerCase(), r);
  for (const m of state.manyToMany) schema.table(m.table)?.manyToMany.push({ ...m.nav });
}

const odataType = (p: Json) => String(p["@odata.type"] ?? "").replace(/^#?Microsoft\.Dynamics\.CRM\./, "");

function hasLabel(v: unknown): boolean {
  const l = v as { LocalizedLabels?: { Label?: unknown }[] } | undefined;
  return !!l?.LocalizedLabels?.some((x) => typeof x.Label === "string" && x.Label !== "");
}

function requireTable(env: Env, logicalName: unknown, role: string): TableDef {
  const t = typeof logicalName === "string" ? env.schema.table(logicalName) : undefined;
  if (!t)
    throw new DataverseError(
      404,
      "0x80040217",
      `Could not find an entity with specified name: ${String(logicalName)} (${role}).`,
    );
  return t;
}

let nextObjectTypeCode = 10_000;

/**
 * Creates a custom table from an `EntityMetadata` payload. As in Dataverse the payload needs
 * SchemaName, DisplayName, DisplayCollectionName, OwnershipType and, in `Attributes`, exactly one
 * `StringAttributeMetadata` with `IsPrimaryName: true`; other columns are created afterwards.
 */
export function createTable(env: Env, payload: unknown, solution: string | undefined): TableDef {
  if (typeof payload !== "object" || payload === null || Array.isArray(payload))
    throw dvErrors.badRequest("The body must be an EntityMetadata object.");
  const p = payload as Json;
  if (odataType(p) !== "EntityMetadata")
    throw dvErrors.badRequest("The body must have @odata.type Microsoft.Dynamics.CRM.EntityMetadata.");
  if (typeof p.SchemaName !== "string" || !p.SchemaName.includes("_"))
    throw dvErrors.badRequest(
      `The entity SchemaName '${String(p.SchemaName)}' is not valid: use '<publisher prefix>_<Name>'.`,
    );
  const logicalName = p.SchemaName.toLowerCase();
  if (env.schema.table(logicalName))
    throw dvErrors.badRequest(`An entity with the name '${logicalName}' already exists.`, "0x80044363");
  if (!hasLabel(p.DisplayName) || !hasLabel(p.DisplayCollectionName))
    throw dvErrors.badRequest("DisplayName and DisplayCollectionName are required to create an entity.");
  const ownership = p.OwnershipType;
  if (ownership !== "UserOwned" && ownership !== "OrganizationOwned")
    throw dvErrors.badRequest("OwnershipType must be UserOwned or OrganizationOwned.");
  const attrs = Array.isArray(p.Attributes) ? (p.Attributes as Json[]) : [];
  const primary = attrs.filter((a) => a.IsPrimaryName === true);
  if (attrs.length !== 1 || primary.length !== 1 || odataType(primary[0]!) !== "StringAttributeMetadata")
    throw dvErrors.badRequest(
      "Attributes must hold exactly one StringAttributeMetadata with IsPrimaryName true (the primary name column); add other columns after the table exists.",
    );
  const entitySetName =
    typeof p.EntitySetName === "string" && p.EntitySetName ? p.EntitySetName : `${logicalName}s`;
  if (env.schema.tableBySet(entitySetName))
    throw dvErrors.badRequest(`The EntitySetName '${entitySetName}' is already used.`);
  const primaryId = `${logicalName}id`;
  const metadataId = randomUUID();
  const table: TableDef = {
    logicalName,
    schemaName: p.SchemaName,
    entitySetName,
    primaryId,
    primaryName: "",
    displayName: String(
      (p.DisplayName as { LocalizedLabels: { Label: string }[] }).LocalizedLabels[0]!.Label,
    ),
    metadataId,
    objectTypeCode: nextObjectTypeCode++,
    ownership,
    isActivity: false,
    columns: new Map<string, ColumnDef>([
      [primaryId, column(logicalName, primaryId, "Uniqueidentifier", { readOnly: false })],
    ]),
    keys: new Map(),
    changeTrackingEnabled: p.ChangeTrackingEnabled === true,
    manyToMany: [],
  };
  // The primary name goes through the same checks as any new column (prefix, length).
  const name = createAttribute(env, table, primary[0], solution);
  table.primaryName = name.logicalName;
  // The table and its columns carry the same publisher prefix (checked for the column above).
  if (name.logicalName.split("_")[0] !== logicalName.split("_")[0])
    throw dvErrors.badRequest(
      `The entity SchemaName '${p.SchemaName}' and its primary name column '${name.schemaName}' must use the same publisher prefix.`,
    );
  for (const col of [
    column(logicalName, "statecode", "State", {
      display: "Status",
      options: ACTIVE_INACTIVE_STATE,
      requiredLevel: "SystemRequired",
    }),
    column(logicalName, "statuscode", "Status", {
      display: "Status Reason",
      options: ACTIVE_INACTIVE_STATUS,
    }),
    ...systemColumns(logicalName, ownership),
  ])
    table.columns.set(col.logicalName, col);
  env.schema.add(table);
  customOf(env.schema).tables.push(logicalName);
  if (solution !== undefined) addSolutionComponent(env, solution, metadataId, ENTITY_COMPONENT);
  return table;
}

function duplicate(env: Env, schemaName: unknown): string {
  if (typeof schemaName !== "string" || !schemaName.includes("_"))
    throw dvErrors.badRequest(
      `The relationship SchemaName '${String(schemaName)}' is not valid: use '<publisher prefix>_<name>'.`,
    );
  if (findRelationship(env, schemaName))
    throw dvErrors.badRequest(
      `A relationship with the SchemaName '${schemaName}' already exists.`,
      "0x80047013",
    );
  return schemaName;
}

function createManyToMany(env: Env, p: Json): RelationshipDef {
  const schemaName = duplicate(env, p.SchemaName);
  const one = requireTable(env, p.Entity1LogicalName, "Entity1LogicalName");
  const two = requireTable(env, p.Entity2LogicalName, "Entity2LogicalName");
  if (typeof p.IntersectEntityName !== "string" || !p.IntersectEntityName)
    throw dvErrors.badRequest("IntersectEntityName is required for a many-to-many relationship.");
  // Without explicit names Dataverse names both navigation properties after the relationship.
  const nav1 =
    typeof p.Entity1NavigationPropertyName === "string" ? p.Entity1NavigationPropertyName : schemaName;
  const nav2 =
    typeof p.Entity2NavigationPropertyName === "string" ? p.Entity2NavigationPropertyName : schemaName;
  for (const [t, nav] of [
    [one, nav1],
    [two, nav2],
  ] as const)
    if (env.schema.collectionNavigation(t, nav) || env.schema.navigation(t, nav))
      throw dvErrors.badRequest(`The entity '${t.logicalName}' already has a navigation property '${nav}'.`);
  const relationship = p.IntersectEntityName.toLowerCase();
  one.manyToMany.push({ nav: nav1, relationship, targetTable: two.logicalName });
  two.manyToMany.push({ nav: nav2, relationship, targetTable: one.logicalName });
  return {
    metadataId: randomUUID(),
    schemaName,
    kind: "ManyToMany",
    json: {
      "@odata.type": "#Microsoft.Dynamics.CRM.ManyToManyRelationshipMetadata",
      SchemaName: schemaName,
      RelationshipType: "ManyToManyRelationship",
      Entity1LogicalName: one.logicalName,
      Entity2LogicalName: two.logicalName,
      Entity1NavigationPropertyName: nav1,
      Entity2NavigationPropertyName: nav2,
      IntersectEntityName: relationship,
      IsCustomRelationship: true,
    },
  };
}

function createOneToMany(env: Env, p: Json, solution: string | undefined): RelationshipDef {
  const schemaName = duplicate(env, p.SchemaName);
  const referenced = requireTable(env, p.ReferencedEntity, "ReferencedEntity");
  const referencing = requireTable(env, p.ReferencingEntity, "ReferencingEntity");
  const lookup = p.Lookup as Json | undefined;
  if (!lookup || odataType(lookup) !== "LookupAttributeMetadata" || typeof lookup.SchemaName !== "string")
    throw dvErrors.badRequest(
      "Lookup must be a Microsoft.Dynamics.CRM.LookupAttributeMetadata with a SchemaName and a DisplayName.",
    );
  if (!hasLabel(lookup.DisplayName)) throw dvErrors.badRequest("The Lookup needs a DisplayName.");
  if (p.ReferencedAttribute !== undefined && p.ReferencedAttribute !== referenced.primaryId)
    throw dvErrors.badRequest(`ReferencedAttribute must be '${referenced.primaryId}'.`);
  const logical = lookup.SchemaName.toLowerCase();
  if (referencing.columns.has(logical))
    throw dvErrors.badRequest(
      `An attribute with the name '${logical}' already exists on entity '${referencing.logicalName}'.`,
    );
  // The single-valued navigation property is named after the lookup's SchemaName unless given.
  const nav =
    typeof p.ReferencingEntityNavigationPropertyName === "string"
      ? p.ReferencingEntityNavigationPropertyName
      : lookup.SchemaName;
  const metadataId = randomUUID();
  referencing.columns.set(
    logical,
    column(referencing.logicalName, logical, "Lookup", {
      schemaName: lookup.SchemaName,
      display: String(
        (lookup.DisplayName as { LocalizedLabels: { Label: string }[] }).LocalizedLabels[0]!.Label,
      ),
      custom: true,
      targets: [{ nav, table: referenced.logicalName }],
      metadataId,
      ...(solution !== undefined ? { solution } : {}),
    }),
  );
  return {
    metadataId: randomUUID(),
    schemaName,
    kind: "OneToMany",
    json: {
      "@odata.type": "#Microsoft.Dynamics.CRM.OneToManyRelationshipMetadata",
      SchemaName: schemaName,
      RelationshipType: "OneToManyRelationship",
      ReferencedEntity: referenced.logicalName,
      ReferencedAttribute: referenced.primaryId,
      ReferencingEntity: referencing.logicalName,
      ReferencingAttribute: logical,
      ReferencingEntityNavigationPropertyName: nav,
      IsCustomRelationship: true,
    },
  };
}

/** Creates a relationship from a `…RelationshipMetadata` payload; returns it. */
export function createRelationship(
  env: Env,
  payload: unknown,
  solution: string | undefined,
): RelationshipDef {
  if (typeof payload !== "object" || payload === null || Array.isArray(payload))
    throw dvErrors.badRequest("The body must be a RelationshipMetadata object.");
  const p = payload as Json;
  const type = odataType(p);
  let rel: RelationshipDef;
  if (type === "ManyToManyRelationshipMetadata") rel = createManyToMany(env, p);
  else if (type === "OneToManyRelationshipMetadata") rel = createOneToMany(env, p, solution);
  else
    throw dvErrors.badRequest(
      "@odata.type must be Microsoft.Dynamics.CRM.OneToManyRelationshipMetadata or ManyToManyRelationshipMetadata.",
    );
  rel.json.MetadataId = rel.metadataId;
  rel.json.DisplayName = label(rel.schemaName, `${rel.metadataId}:display`);
  relationshipsOf(env).set(rel.schemaName.toLowerCase(), rel);
  if (solution !== undefined) addSolutionComponent(env, solution, rel.metadataId, RELATIONSHIP_COMPONENT);
  return rel;
}
