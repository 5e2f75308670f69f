import { type SolutionKind, SolutionKindSchema } from "@cosell/core";

/** The catalog of solutions a seller picks from (one row per Partner Center solution id). */
export const SOLUTION_OBJECT = "Cosell_Solution__c";
/** A solution on a deal: detail of the Opportunity, lookup to the catalog. */
export const DEAL_SOLUTION_OBJECT = "Cosell_Deal_Solution__c";
/** One person of Microsoft's team on an engaged deal: detail of the Opportunity, written only by cosell. */
export const TEAM_MEMBER_OBJECT = "Cosell_Microsoft_Team_Member__c";

/** Field API names of the three objects. */
export const SOLUTION_FIELDS = {
  solutionId: "Cosell_Solution_Id__c",
  kind: "Cosell_Kind__c",
  active: "Cosell_Active__c",
} as const;
export const DEAL_SOLUTION_FIELDS = {
  opportunity: "Cosell_Opportunity__c",
  solution: "Cosell_Solution__c",
} as const;
export const TEAM_FIELDS = {
  opportunity: "Cosell_Opportunity__c",
  firstName: "Cosell_First_Name__c",
  lastName: "Cosell_Last_Name__c",
  email: "Cosell_Email__c",
  phone: "Cosell_Phone__c",
  role: "Cosell_Role__c",
} as const;

/** Child relationships on Opportunity, as SOQL subqueries and related lists name them. */
export const DEAL_SOLUTIONS_RELATIONSHIP = "Cosell_Deal_Solutions__r";
export const MICROSOFT_TEAM_RELATIONSHIP = "Cosell_Microsoft_Team__r";

/** What a seller reads for each solution kind; the API names are core's SolutionKind values. */
export const SOLUTION_KIND_LABELS: Readonly<Record<SolutionKind, string>> = {
  own: "Own",
  microsoft: "Microsoft",
  thirdParty: "Third-party",
};

type Md = Record<string, unknown>;

/** A custom object with the custom fields cosell creates on it. */
export interface CustomObjectSpec {
  fullName: string;
  label: string;
  /** The CustomObject component (created before its fields). */
  metadata: Md;
  /** CustomField components, `Object.Field__c`. */
  fields: Md[];
}

const object = (fullName: string, label: string, plural: string, nameLabel: string, detail: boolean) => ({
  fullName,
  label,
  pluralLabel: plural,
  nameField: { label: nameLabel, type: "Text" },
  deploymentStatus: "Deployed",
  // A detail object's access follows its Opportunity (Salesforce requires this of a master-detail).
  sharingModel: detail ? "ControlledByParent" : "ReadWrite",
});

/**
 * The three objects setup creates. The catalog key is Partner Center's solution id, a unique external
 * id (upserts match on it). Kind is a restricted picklist of core's solution kinds, so only values
 * cosell can map are ever stored. A deal's solution may not point at a catalog entry that is gone
 * (required lookup, deleteConstraint Restrict: an entry on deals is made inactive, not deleted).
 */
export function solutionObjectSpecs(): CustomObjectSpec[] {
  const s = SOLUTION_OBJECT;
  const d = DEAL_SOLUTION_OBJECT;
  const t = TEAM_MEMBER_OBJECT;
  const masterDetail = (obj: string, relationshipName: string, description: string) => ({
    fullName: `${obj}.Cosell_Opportunity__c`,
    label: "Opportunity",
    description,
    type: "MasterDetail",
    referenceTo: "Opportunity",
    relationshipName,
    relationshipLabel: obj === d ? "Co-sell Solutions" : "Microsoft Team",
    reparentableMasterDetail: false,
    writeRequiresMasterRead: false,
  });
  const text = (obj: string, name: string, label: string, length: number) => ({
    fullName: `${obj}.${name}`,
    label,
    type: "Text",
    length,
  });
  return [
    {
      fullName: s,
      label: "Co-sell Solution",
      metadata: {
        ...object(s, "Co-sell Solution", "Co-sell Solutions", "Solution Name", false),
        description:
          "Solutions a seller can add to a co-sell opportunity (filled by cosell from Partner Center).",
      },
      fields: [
        {
          fullName: `${s}.${SOLUTION_FIELDS.solutionId}`,
          label: "Partner Center Solution Id",
          description: "Partner Center's id of the solution (cosell matches on it).",
          type: "Text",
          length: 100,
          externalId: true,
          unique: true,
          // Partner Center gives no case rule for solution ids: two ids differing only in case are
          // refused rather than taken for two solutions.
          caseSensitive: false,
        },
        {
          fullName: `${s}.${SOLUTION_FIELDS.kind}`,
          label: "Kind",
          type: "Picklist",
          valueSet: {
            restricted: true,
            valueSetDefinition: {
              sorted: false,
              value: SolutionKindSchema.options.map((k) => ({
                fullName: k,
                label: SOLUTION_KIND_LABELS[k],
                default: false,
              })),
            },
          },
        },
        {
          fullName: `${s}.${SOLUTION_FIELDS.active}`,
          label: "Active",
          description: "Offered to sellers; inactive entries stay on the deals that have them.",
          type: "Checkbox",
          defaultValue: "true",
        },
      ],
    },
    {
      fullName: d,
      label: "Co-sell Deal Solution",
      metadata: {
        ...object(d, "Co-sell Deal Solution", "Co-sell Deal Solutions", "Deal Solution Number", true),
        // Numbered by Salesforce: a seller adding a solution picks it from the catalog and types nothing.
        // The nameField is a CustomField (Metadata API "CustomObject": nameField; "CustomField":
        // displayFormat, startingNumber), as published Metadata API clients create it.
        // developer.salesforce.com/docs/atlas.en-us.api_meta.meta/api_meta/customfield.htm
        nameField: { displayFormat: "DS-{000000}", label: "Deal Solution Number", type: "AutoNumber" },
      },
      fields: [
        masterDetail(d, "Cosell_Deal_Solutions", "The co-sell opportunity this solution is on."),
        {
          fullName: `${d}.${DEAL_SOLUTION_FIELDS.solution}`,
          label: "Solution",
          type: "Lookup",
          referenceTo: s,
          relationshipName: "Cosell_Deal_Solutions",
          relationshipLabel: "Deals",
          required: true,
          deleteConstraint: "Restrict",
        },
      ],
    },
    {
      fullName: t,
      label: "Microsoft Team Member",
      metadata: {
        ...object(t, "Microsoft Team Member", "Microsoft Team", "Name", true),
        description: "Microsoft's people on an engaged co-sell deal, written by cosell from Partner Center.",
      },
      fields: [
        masterDetail(t, "Cosell_Microsoft_Team", "The co-sell opportunity Microsoft's person works on."),
        text(t, TEAM_FIELDS.firstName, "First Name", 80),
        text(t, TEAM_FIELDS.lastName, "Last Name", 80),
        { fullName: `${t}.${TEAM_FIELDS.email}`, label: "Email", type: "Email" },
        { fullName: `${t}.${TEAM_FIELDS.phone}`, label: "Phone", type: "Phone" },
        text(t, TEAM_FIELDS.role, "Role", 255),
      ],
    },
  ];
}

/** One objectPermissions entry (Metadata API PermissionSet). */
export interface ObjectGrant {
  object: string;
  allowCreate: boolean;
  allowDelete: boolean;
  allowEdit: boolean;
  allowRead: boolean;
  modifyAllRecords: boolean;
  viewAllRecords: boolean;
}

const grant = (object: string, ops: { create?: boolean; edit?: boolean; delete?: boolean }): ObjectGrant => ({
  object,
  allowCreate: ops.create ?? false,
  allowDelete: ops.delete ?? false,
  allowEdit: ops.edit ?? false,
  allowRead: true,
  modifyAllRecords: false,
  viewAllRecords: false,
});

/** The integration user writes all three objects. */
export function syncObjectGrants(): ObjectGrant[] {
  const all = { create: true, edit: true, delete: true };
  return [grant(SOLUTION_OBJECT, all), grant(DEAL_SOLUTION_OBJECT, all), grant(TEAM_MEMBER_OBJECT, all)];
}

/**
 * Sellers read the catalog and Microsoft's team, and add and remove solutions on their deals. Edit
 * comes with delete: Salesforce's Delete object permission depends on Read and Edit.
 */
export function sellerObjectGrants(): ObjectGrant[] {
  return [
    grant(SOLUTION_OBJECT, {}),
    grant(DEAL_SOLUTION_OBJECT, { create: true, edit: true, delete: true }),
    grant(TEAM_MEMBER_OBJECT, {}),
  ];
}

/**
 * Field-level grants on the objects' optional fields. Required fields (the master-detail and the
 * catalog lookup) take none: Salesforce always shows them and refuses field permissions on them.
 */
export function solutionFieldGrants(
  editable: boolean,
): { field: string; readable: true; editable: boolean }[] {
  return solutionObjectSpecs()
    .flatMap((o) => o.fields)
    .filter((f) => f.type !== "MasterDetail" && f.required !== true)
    .map((f) => ({ field: String(f.fullName), readable: true, editable }));
}

/**
 * Whether Opportunity's describe lists both related lists: the objects exist and the user reads them
 * (Salesforce leaves out child relationships to objects the user cannot see).
 */
export function hasRelatedRecords(opportunityDescribe: object): boolean {
  const listed = (opportunityDescribe as { childRelationships?: unknown }).childRelationships;
  const rels: unknown[] = Array.isArray(listed) ? listed : [];
  const names = new Set(
    rels.map((c) => String((c as { relationshipName?: unknown })?.relationshipName ?? "").toLowerCase()),
  );
  return (
    names.has(DEAL_SOLUTIONS_RELATIONSHIP.toLowerCase()) &&
    names.has(MICROSOFT_TEAM_RELATIONSHIP.toLowerCase())
  );
}

/**
 * The semi-join finding opportunities whose deal solutions a seller added or edited in `window`
 * (a SystemModstamp condition). Salesforce's documentation does not settle whether a detail row's
 * change moves its master's SystemModstamp, so the change feed looks for the rows themselves. A removed
 * row is not seen here: its opportunity is read again at the next change or reconciliation.
 */
export function dealSolutionsChangedIn(window: string): string {
  return `Id IN (SELECT ${DEAL_SOLUTION_FIELDS.opportunity} FROM ${DEAL_SOLUTION_OBJECT} WHERE ${window})`;
}
