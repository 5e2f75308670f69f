import {
  list,
  MetadataComponentError,
  type MetadataRecord,
  record,
  SoapFault,
  str,
} from "./metadata-types.js";
import { integrityError, ObjectComponents, type OrgSchemaView } from "./object-components.js";

/**
 * Page layouts (Metadata API Layout: fullName `Object-Layout Name`, layoutSections [{label, style,
 * customLabel, detailHeading, editHeading, layoutColumns [{layoutItems [{field, behavior} |
 * {emptySpace}]}]}], quickActionList {quickActionListItems [{quickActionName}]}, platformActionList
 * {actionListContext, platformActionListItems [{actionName, actionType, sortOrder}]};
 * developer.salesforce.com/docs/atlas.en-us.api_meta.meta/api_meta/meta_layouts.htm). An update
 * replaces the whole layout. The component is kept as sent (after validation) and read back as is.
 */

/** LayoutSectionStyle and UiBehavior values of the WSDL (an unknown one fails the whole call). */
const STYLES = new Set(["TwoColumnsTopToBottom", "TwoColumnsLeftToRight", "OneColumn", "CustomLinks"]);
const BEHAVIORS = new Set(["Edit", "Required", "Readonly"]);

/**
 * Actions every org has, which a layout may name without a QuickAction component (the standard
 * Opportunity layout's publisher and Lightning actions).
 */
const STANDARD_ACTIONS = new Set(
  [
    "FeedItem.TextPost",
    "FeedItem.ContentPost",
    "FeedItem.LinkPost",
    "FeedItem.PollPost",
    "NewTask",
    "NewEvent",
    "LogACall",
    "SendEmail",
    "NewNote",
    "Edit",
    "Delete",
    "Clone",
    "ChangeOwnerOne",
    "ChangeRecordType",
    "Share",
    "Follow",
  ].map((s) => s.toLowerCase()),
);

/** The name of the layout a new org has on Opportunity, and the fields it shows. */
export const STANDARD_OPPORTUNITY_LAYOUT = "Opportunity-Opportunity Layout";

/** What this store needs of the org (see {@link OrgSchemaView}). */
interface OrgView extends OrgSchemaView {
  /** Whether a QuickAction component with this full name (`Opportunity.Action`) exists. */
  hasQuickAction(fullName: string): boolean;
}

export interface LayoutDef {
  objectName: string;
  /** The part after `Object-`. */
  name: string;
  metadata: MetadataRecord;
}

/** The layout items holding a field, in section, column and row order. */
export function layoutFieldItems(md: MetadataRecord): MetadataRecord[] {
  return list(md, "layoutSections").flatMap((s) =>
    list(s, "layoutColumns").flatMap((c) => list(c, "layoutItems").filter((i) => str(i, "field"))),
  );
}

/** The quick action names a layout lists (publisher list and Lightning action list). */
export function layoutActionNames(md: MetadataRecord): string[] {
  const classic = list(record(md, "quickActionList"), "quickActionListItems")
    .map((i) => str(i, "quickActionName"))
    .filter((n): n is string => !!n);
  const lightning = list(record(md, "platformActionList"), "platformActionListItems")
    .filter((i) => str(i, "actionType") === "QuickAction")
    .map((i) => str(i, "actionName"))
    .filter((n): n is string => !!n);
  return [...classic, ...lightning];
}

/** The org's page layouts by lower-case full name, in creation order. */
export class Layouts extends ObjectComponents<LayoutDef> {
  constructor(private readonly org: OrgView) {
    super(org, "Layout", "a layout", {
      separator: "-",
      hint: "a layout's full name is Object-Layout Name",
      nameRequired: true,
    });
  }

  protected metadataOf(c: LayoutDef): MetadataRecord {
    return structuredClone(c.metadata);
  }

  /** The whole component is replaced on update: what an update leaves out is gone. */
  protected compile(md: MetadataRecord, objectName: string, name: string): LayoutDef {
    this.check(md, objectName);
    return { objectName, name, metadata: structuredClone({ ...md, fullName: `${objectName}-${name}` }) };
  }

  /** The standard Opportunity layout a new org starts with. */
  seed(): void {
    const fields = (names: string[]) =>
      names
        .filter((n) => this.org.schema.field("Opportunity", n))
        .map((field) => ({
          behavior: field === "Name" || field === "StageName" || field === "CloseDate" ? "Required" : "Edit",
          field,
        }));
    this.create({
      fullName: STANDARD_OPPORTUNITY_LAYOUT,
      layoutSections: [
        {
          customLabel: "false",
          detailHeading: "false",
          editHeading: "true",
          label: "Opportunity Information",
          layoutColumns: [
            { layoutItems: fields(["OwnerId", "Name", "AccountId", "Type", "LeadSource"]) },
            { layoutItems: fields(["CloseDate", "StageName", "Probability", "Amount", "NextStep"]) },
          ],
          style: "TwoColumnsTopToBottom",
        },
        {
          customLabel: "false",
          detailHeading: "true",
          editHeading: "true",
          label: "Description Information",
          layoutColumns: { layoutItems: fields(["Description"]) },
          style: "OneColumn",
        },
      ],
      quickActionList: {
        quickActionListItems: ["FeedItem.TextPost", "NewTask", "LogACall", "NewEvent", "SendEmail"].map(
          (quickActionName) => ({ quickActionName }),
        ),
      },
    });
  }

  /** Validates a component as Salesforce refuses it. */
  private check(md: MetadataRecord, objectName: string): void {
    const seen = new Set<string>();
    for (const s of list(md, "layoutSections")) {
      const style = str(s, "style");
      if (style && !STYLES.has(style))
        throw new SoapFault(
          "soapenv:Client",
          `'${style}' is not a valid value for the enum 'LayoutSectionStyle'`,
        );
      for (const c of list(s, "layoutColumns"))
        for (const i of list(c, "layoutItems")) {
          const name = str(i, "field");
          if (!name) continue;
          const f = this.org.schema.field(objectName, name);
          if (!f)
            throw new MetadataComponentError(
              "INVALID_CROSS_REFERENCE_KEY",
              `In field: field - no CustomField named ${objectName}.${name} found`,
              ["layoutSections"],
            );
          const behavior = str(i, "behavior");
          if (behavior && !BEHAVIORS.has(behavior))
            throw new SoapFault(
              "soapenv:Client",
              `'${behavior}' is not a valid value for the enum 'UiBehavior'`,
            );
          // The layout editor places a field once; a deployed layout naming it twice is refused.
          if (seen.has(f.name.toLowerCase()))
            throw integrityError(
              `The field ${f.name} appears more than once in the layout.`,
              "layoutSections",
            );
          seen.add(f.name.toLowerCase());
        }
    }
    this.checkRelatedLists(md, objectName);
    for (const action of layoutActionNames(md))
      if (!STANDARD_ACTIONS.has(action.toLowerCase()) && !this.org.hasQuickAction(action))
        throw new MetadataComponentError(
          "INVALID_CROSS_REFERENCE_KEY",
          `In field: QuickAction - no QuickAction named ${action} found`,
          ["quickActionList"],
        );
  }

  /**
   * A custom related list (`Child__c.Lookup__c`) must name a relationship field pointing at the
   * layout's object, and its columns fields of the child (or `NAME`). Standard lists (no dot, e.g.
   * `RelatedNoteList`) are taken as they are.
   */
  private checkRelatedLists(md: MetadataRecord, objectName: string): void {
    for (const item of list(md, "relatedLists")) {
      const name = str(item, "relatedList") ?? "";
      const [child, field] = name.split(".");
      if (!field) continue;
      const f = child ? this.org.schema.field(child, field) : undefined;
      if (f?.type !== "reference" || !f.referenceTo?.includes(objectName))
        throw new MetadataComponentError(
          "INVALID_CROSS_REFERENCE_KEY",
          `In field: relatedList - no RelatedList named ${name} found`,
          ["relatedLists"],
        );
      const columns = item.fields;
      for (const col of (Array.isArray(columns) ? columns : columns ? [columns] : []).map(String))
        if (col.toUpperCase() !== "NAME" && !this.org.schema.field(child!, col))
          throw new MetadataComponentError(
            "INVALID_CROSS_REFERENCE_KEY",
            `In field: fields - no CustomField named ${child}.${col} found`,
            ["relatedLists"],
          );
    }
  }

  /** The layouts of one object, in creation order. */
  of(objectName: string): LayoutDef[] {
    return this.all().filter((l) => l.objectName === objectName);
  }

  /** Takes a deleted field off every layout of its object. */
  dropField(objectName: string, field: string): void {
    const f = field.toLowerCase();
    for (const l of this.of(objectName)) {
      const sections = list(l.metadata, "layoutSections").map((s) => ({
        ...s,
        layoutColumns: list(s, "layoutColumns").map((c) => ({
          ...c,
          layoutItems: list(c, "layoutItems").filter((i) => str(i, "field")?.toLowerCase() !== f),
        })),
      }));
      if (sections.length) l.metadata = { ...l.metadata, layoutSections: sections };
    }
  }

  snapshot(): MetadataRecord[] {
    return this.all().map((l) => structuredClone(l.metadata));
  }

  /** Replaces the layouts with saved ones. */
  restore(saved: readonly MetadataRecord[]): void {
    this.clear();
    for (const md of saved) {
      const { objectName, name } = this.split(str(md, "fullName") ?? "");
      this.put({ objectName, name, metadata: structuredClone(md) });
    }
  }
}
