import type { SolutionKind } from "@cosell/core";
import { type Choice, type ColumnDefinition, choiceOptions, columnBuilders, label } from "./columns.js";

/**
 * cosell's own tables: the solution catalog (`<prefix>_solution`, related N:N to opportunity) and
 * Microsoft's team on a deal (`<prefix>_microsoftteammember`, N:1 to opportunity). Names derive from
 * the publisher prefix. Entity set names are given explicitly on create, so the adapter never has to
 * guess Dataverse's plural.
 */
export interface SolutionTableNames {
  solution: string;
  solutionSet: string;
  solutionId: string;
  /** Primary name column of both tables. */
  name: string;
  partnerCenterId: string;
  kind: string;
  active: string;
  /** SchemaName of the alternate key on the Partner Center id. */
  solutionKey: string;
  /** The N:N relationship, its intersect table and the navigation property on both sides. */
  opportunitySolution: string;
  team: string;
  teamSet: string;
  teamId: string;
  firstName: string;
  lastName: string;
  email: string;
  phone: string;
  role: string;
  /** The lookup column from a team row to its opportunity (and its navigation property). */
  teamOpportunity: string;
  teamOpportunityNav: string;
  /** The 1:N relationship opportunity → team rows. */
  opportunityTeam: string;
}

export function solutionTableNames(prefix: string): SolutionTableNames {
  const n = (s: string) => `${prefix}_${s}`;
  return {
    solution: n("solution"),
    solutionSet: n("solutions"),
    solutionId: n("solutionid"),
    name: n("name"),
    partnerCenterId: n("partnercenterid"),
    kind: n("kind"),
    active: n("active"),
    solutionKey: n("PartnerCenterIdKey"),
    opportunitySolution: n("opportunity_solution"),
    team: n("microsoftteammember"),
    teamSet: n("microsoftteammembers"),
    teamId: n("microsoftteammemberid"),
    firstName: n("firstname"),
    lastName: n("lastname"),
    email: n("email"),
    phone: n("phone"),
    role: n("role"),
    teamOpportunity: n("opportunityid"),
    teamOpportunityNav: n("OpportunityId"),
    opportunityTeam: n("opportunity_microsoftteammember"),
  };
}

/** Who offers a solution (`<prefix>_kind`). */
export const SOLUTION_KIND_CHOICE: Choice<SolutionKind> = {
  offsets: { own: 0, microsoft: 1, thirdParty: 2 },
  labels: { own: "Own", microsoft: "Microsoft", thirdParty: "Third-party" },
};

/** One table setup creates: the `EntityMetadata` POSTed and the columns added after it exists. */
export interface TableDefinition {
  logicalName: string;
  display: string;
  payload: Record<string, unknown>;
  columns: ColumnDefinition[];
}

function tablePayload(
  schemaName: string,
  entitySetName: string,
  display: string,
  plural: string,
  description: string,
  primary: ColumnDefinition,
) {
  return {
    "@odata.type": "Microsoft.Dynamics.CRM.EntityMetadata",
    SchemaName: schemaName,
    EntitySetName: entitySetName,
    DisplayName: label(display),
    DisplayCollectionName: label(plural),
    Description: label(description),
    OwnershipType: "OrganizationOwned",
    IsActivity: false,
    HasActivities: false,
    HasNotes: false,
    Attributes: [
      { ...primary.payload, IsPrimaryName: true, RequiredLevel: { Value: "ApplicationRequired" } },
    ],
  };
}

const readOnly = "Set by Partner Center and written by cosell; read-only: an edit here is overwritten.";

/** The catalog and team tables, with the metadata of their columns. */
export function solutionTableDefinitions(prefix: string, optionValuePrefix: number): TableDefinition[] {
  const t = solutionTableNames(prefix);
  const { string, boolean, picklist } = columnBuilders(prefix);
  const solutionName = string("Name", "Name", "The solution's name as Partner Center shows it.", 255);
  const memberName = string("Name", "Name", `The team member's full name. ${readOnly}`, 255);
  return [
    {
      logicalName: t.solution,
      display: "Co-sell solution",
      payload: tablePayload(
        t.solution,
        t.solutionSet,
        "Co-sell solution",
        "Co-sell solutions",
        "Partner Center solutions sellers relate to opportunities (filled by cosell).",
        solutionName,
      ),
      columns: [
        string(
          "PartnerCenterId",
          "Partner Center solution id",
          "Partner Center's id of the solution (the catalog's alternate key).",
          100,
        ),
        picklist(
          "Kind",
          "Kind",
          "Whose solution it is: your own, Microsoft's or a third party's.",
          choiceOptions(SOLUTION_KIND_CHOICE, optionValuePrefix),
        ),
        boolean("Active", "Active", "Inactive solutions stay on their deals but are no longer offered."),
      ],
    },
    {
      logicalName: t.team,
      display: "Microsoft team member",
      payload: tablePayload(
        t.team,
        t.teamSet,
        "Microsoft team member",
        "Microsoft team members",
        `Microsoft's people on an engaged co-sell deal. ${readOnly}`,
        memberName,
      ),
      columns: [
        string("FirstName", "First name", readOnly, 100),
        string("LastName", "Last name", readOnly, 100),
        string("Email", "Email", readOnly, 320, "Email"),
        string("Phone", "Phone", readOnly, 50, "Phone"),
        string("Role", "Role", readOnly, 200),
      ],
    },
  ];
}

/** The alternate key on the Partner Center id (upserts use `<prefix>_solutions(<prefix>_partnercenterid='…')`). */
export function solutionKeyDefinition(prefix: string): Record<string, unknown> {
  const t = solutionTableNames(prefix);
  return {
    SchemaName: t.solutionKey,
    DisplayName: label("Partner Center solution id key"),
    KeyAttributes: [t.partnerCenterId],
  };
}

/** One relationship setup creates. */
export interface RelationshipDefinition {
  schemaName: string;
  display: string;
  payload: Record<string, unknown>;
}

/**
 * The N:N opportunity ↔ solution and the 1:N opportunity → team member relationships. Navigation
 * property names are given explicitly: Dataverse's defaults (the relationship's or the lookup's
 * SchemaName) are not the same for both kinds, and the adapter's queries must not depend on them.
 */
export function solutionRelationshipDefinitions(prefix: string): RelationshipDefinition[] {
  const t = solutionTableNames(prefix);
  return [
    {
      schemaName: t.opportunitySolution,
      display: "Opportunity ↔ co-sell solution",
      payload: {
        "@odata.type": "Microsoft.Dynamics.CRM.ManyToManyRelationshipMetadata",
        SchemaName: t.opportunitySolution,
        Entity1LogicalName: "opportunity",
        Entity2LogicalName: t.solution,
        Entity1NavigationPropertyName: t.opportunitySolution,
        Entity2NavigationPropertyName: t.opportunitySolution,
        IntersectEntityName: t.opportunitySolution,
      },
    },
    {
      schemaName: t.opportunityTeam,
      display: "Opportunity → Microsoft team member",
      payload: {
        "@odata.type": "Microsoft.Dynamics.CRM.OneToManyRelationshipMetadata",
        SchemaName: t.opportunityTeam,
        ReferencedEntity: "opportunity",
        ReferencedAttribute: "opportunityid",
        ReferencingEntity: t.team,
        ReferencedEntityNavigationPropertyName: t.opportunityTeam,
        ReferencingEntityNavigationPropertyName: t.teamOpportunityNav,
        CascadeConfiguration: {
          Assign: "NoCascade",
          Delete: "Cascade",
          Merge: "NoCascade",
          Reparent: "NoCascade",
          Share: "NoCascade",
          Unshare: "NoCascade",
        },
        Lookup: {
          "@odata.type": "Microsoft.Dynamics.CRM.LookupAttributeMetadata",
          AttributeType: "Lookup",
          AttributeTypeName: { Value: "LookupType" },
          SchemaName: t.teamOpportunityNav,
          DisplayName: label("Opportunity"),
          Description: label("The co-sell deal this Microsoft team member works on."),
          RequiredLevel: { Value: "None" },
        },
      },
    },
  ];
}
