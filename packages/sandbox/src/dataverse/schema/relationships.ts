import type { Env } from "../env.js";
import type { Schema } from "./schema.js";
import type { TableDef } from "./types.js";

/**
 * The relationships created through `RelationshipDefinitions` and the custom tables, per schema, and
 * the subgrid check forms use (kept apart from table creation so forms can ask without importing it).
 */

type Json = Record<string, unknown>;

/** A relationship created through `RelationshipDefinitions`, as read back. */
export interface RelationshipDef {
  metadataId: string;
  schemaName: string;
  kind: "OneToMany" | "ManyToMany";
  json: Json;
}

/** What the metadata API added to a schema: custom tables and relationships. */
interface CustomSchema {
  tables: string[];
  relationships: Map<string, RelationshipDef>;
}

// Per schema: resetting the environment (a new schema) forgets them with the tables.
const customSchemas = new WeakMap<Schema, CustomSchema>();

export function customOf(schema: Schema): CustomSchema {
  let m = customSchemas.get(schema);
  if (!m) {
    m = { tables: [], relationships: new Map() };
    customSchemas.set(schema, m);
  }
  return m;
}

export const relationshipsOf = (env: Env) => customOf(env.schema).relationships;

/** A relationship by SchemaName (case-insensitive, as Dataverse compares them). */
export function findRelationship(env: Env, schemaName: string): RelationshipDef | undefined {
  return relationshipsOf(env).get(schemaName.toLowerCase());
}

/** Every relationship created in this environment. */
export function allRelationships(env: Env): RelationshipDef[] {
  return [...relationshipsOf(env).values()];
}

/**
 * Why a form of `table` cannot show a subgrid of `relationship` listing `target` rows: the
 * relationship must exist and link the form's table to the target (many-to-many either way, or
 * one-to-many from the form's table). Built-in relationships are the tables' many-to-many ones.
 */
export function subgridProblem(
  env: Env,
  table: TableDef,
  relationship: string,
  target: string,
): string | undefined {
  if (!relationship) return "it needs <parameters><RelationshipName>.";
  const targetTable = env.schema.table(target);
  if (!targetTable) return `its TargetEntityType '${target}' names no table.`;
  const rel = findRelationship(env, relationship);
  if (rel) {
    const j = rel.json;
    const links =
      rel.kind === "ManyToMany"
        ? [j.Entity1LogicalName, j.Entity2LogicalName].includes(table.logicalName) &&
          [j.Entity1LogicalName, j.Entity2LogicalName].includes(targetTable.logicalName)
        : j.ReferencedEntity === table.logicalName && j.ReferencingEntity === targetTable.logicalName;
    return links
      ? undefined
      : `the relationship '${relationship}' does not link '${table.logicalName}' to '${targetTable.logicalName}'.`;
  }
  const builtIn = table.manyToMany.some(
    (m) => m.nav === relationship && m.targetTable === targetTable.logicalName,
  );
  return builtIn
    ? undefined
    : `there is no relationship named '${relationship}' (create it before the form refers to it).`;
}
