import type { Schema } from "./schema.js";
import { edmTypeOf, isLookup } from "./schema.js";

/**
 * A compact CSDL `$metadata` document: entity types with their properties and navigation
 * properties, and entity sets annotated with `Org.OData.Capabilities.V1.ChangeTracking` when change
 * tracking is enabled (dynamics.md §3.1). Enough for clients that read it; not the full schema.
 */
export function csdl(schema: Schema): string {
  const types: string[] = [];
  const sets: string[] = [];
  for (const t of schema.tables()) {
    const props: string[] = [];
    const navs: string[] = [];
    for (const col of t.columns.values()) {
      if (isLookup(col)) {
        props.push(`<Property Name="_${col.logicalName}_value" Type="Edm.Guid" />`);
        for (const target of col.targets ?? [])
          navs.push(`<NavigationProperty Name="${target.nav}" Type="mscrm.${target.table}" />`);
      } else props.push(`<Property Name="${col.logicalName}" Type="${edmTypeOf(col)}" />`);
    }
    for (const m of t.manyToMany)
      navs.push(`<NavigationProperty Name="${m.nav}" Type="Collection(mscrm.${m.targetTable})" />`);
    types.push(
      `<EntityType Name="${t.logicalName}"><Key><PropertyRef Name="${t.primaryId}" /></Key>${props.join("")}${navs.join("")}</EntityType>`,
    );
    const tracking = t.changeTrackingEnabled
      ? `<Annotation Term="Org.OData.Capabilities.V1.ChangeTracking"><Record><PropertyValue Property="Supported" Bool="true" /></Record></Annotation>`
      : "";
    sets.push(
      `<EntitySet Name="${t.entitySetName}" EntityType="Microsoft.Dynamics.CRM.${t.logicalName}">${tracking}</EntitySet>`,
    );
  }
  return (
    `<?xml version="1.0" encoding="utf-8"?><edmx:Edmx Version="4.0" xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx">` +
    `<edmx:DataServices><Schema Namespace="Microsoft.Dynamics.CRM" Alias="mscrm" xmlns="http://docs.oasis-open.org/odata/ns/edm">` +
    `${types.join("")}<EntityContainer Name="System">${sets.join("")}</EntityContainer></Schema></edmx:DataServices></edmx:Edmx>`
  );
}
