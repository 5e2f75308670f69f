import { stableGuid } from "../ids.js";
import type { ColumnDef, ColumnType, LookupTarget, ManyToManyDef, OptionDef, TableDef } from "./types.js";

/**
 * The tables the emulator knows out of the box: the columns a co-sell connector reads and writes
 * (dynamics.md §2), with Dataverse's logical names, types and state models.
 */

export type ColumnSpec = Partial<Omit<ColumnDef, "logicalName" | "type">> & { display?: string };

function pascal(name: string): string {
  return name.replace(/(^|_)([a-z])/g, (_m, sep: string, c: string) => sep + c.toUpperCase());
}

export function column(
  table: string,
  logicalName: string,
  type: ColumnType,
  spec: ColumnSpec = {},
): ColumnDef {
  const { display, ...rest } = spec;
  return {
    logicalName,
    schemaName: rest.schemaName ?? pascal(logicalName),
    type,
    displayName: display ?? pascal(logicalName),
    metadataId: stableGuid(`attribute:${table}.${logicalName}`),
    custom: false,
    requiredLevel: "None",
    ...rest,
  };
}

const lookup = (nav: string, target: string): LookupTarget => ({ nav, table: target });

export const ACTIVE_INACTIVE_STATE: OptionDef[] = [
  { value: 0, label: "Active", defaultStatus: 1 },
  { value: 1, label: "Inactive", defaultStatus: 2 },
];
export const ACTIVE_INACTIVE_STATUS: OptionDef[] = [
  { value: 1, label: "Active", state: 0 },
  { value: 2, label: "Inactive", state: 1 },
];

/** Opportunity states (dynamics.md §2.1): Open, Won, Lost. */
export const OPPORTUNITY_STATE: OptionDef[] = [
  { value: 0, label: "Open", defaultStatus: 1 },
  { value: 1, label: "Won", defaultStatus: 3 },
  { value: 2, label: "Lost", defaultStatus: 4 },
];
/** Opportunity status reasons and the state each belongs to. */
export const OPPORTUNITY_STATUS: OptionDef[] = [
  { value: 1, label: "In Progress", state: 0 },
  { value: 2, label: "On Hold", state: 0 },
  { value: 3, label: "Won", state: 1 },
  { value: 4, label: "Canceled", state: 2 },
  { value: 5, label: "Out-Sold", state: 2 },
];
const SALES_STAGE: OptionDef[] = [
  { value: 0, label: "Qualify" },
  { value: 1, label: "Develop" },
  { value: 2, label: "Propose" },
  { value: 3, label: "Close" },
];

export function systemColumns(table: string, ownership: TableDef["ownership"]): ColumnDef[] {
  const cols = [
    column(table, "createdon", "DateTime", { readOnly: true, display: "Created On" }),
    column(table, "modifiedon", "DateTime", { readOnly: true, display: "Modified On" }),
    column(table, "versionnumber", "BigInt", { readOnly: true, display: "Version Number" }),
    column(table, "createdby", "Lookup", {
      readOnly: true,
      display: "Created By",
      targets: [lookup("createdby", "systemuser")],
    }),
    column(table, "modifiedby", "Lookup", {
      readOnly: true,
      display: "Modified By",
      targets: [lookup("modifiedby", "systemuser")],
    }),
  ];
  if (ownership === "UserOwned")
    cols.push(
      column(table, "ownerid", "Owner", {
        display: "Owner",
        requiredLevel: "SystemRequired",
        targets: [lookup("ownerid", "systemuser")],
      }),
    );
  return cols;
}

interface TableSpec {
  logicalName: string;
  entitySetName: string;
  primaryId: string;
  primaryName: string;
  displayName: string;
  objectTypeCode: number;
  ownership: TableDef["ownership"];
  isActivity?: boolean;
  changeTrackingEnabled?: boolean;
  manyToMany?: ManyToManyDef[];
  columns: (c: (name: string, type: ColumnType, spec?: ColumnSpec) => ColumnDef) => ColumnDef[];
  /** State and status options, when the table has a state model. */
  states?: { state: OptionDef[]; status: OptionDef[] };
}

function table(spec: TableSpec): TableDef {
  const c = (name: string, type: ColumnType, s?: ColumnSpec) => column(spec.logicalName, name, type, s);
  const cols: ColumnDef[] = [
    c(spec.primaryId, "Uniqueidentifier", { readOnly: false, display: spec.displayName }),
    ...spec.columns(c),
  ];
  if (spec.states)
    cols.push(
      c("statecode", "State", {
        display: "Status",
        options: spec.states.state,
        requiredLevel: "SystemRequired",
      }),
      c("statuscode", "Status", { display: "Status Reason", options: spec.states.status }),
    );
  cols.push(...systemColumns(spec.logicalName, spec.ownership));
  return {
    logicalName: spec.logicalName,
    schemaName: pascal(spec.logicalName),
    entitySetName: spec.entitySetName,
    primaryId: spec.primaryId,
    primaryName: spec.primaryName,
    displayName: spec.displayName,
    metadataId: stableGuid(`entity:${spec.logicalName}`),
    objectTypeCode: spec.objectTypeCode,
    ownership: spec.ownership,
    isActivity: spec.isActivity ?? false,
    columns: new Map(cols.map((col) => [col.logicalName, col])),
    keys: new Map(),
    changeTrackingEnabled: spec.changeTrackingEnabled ?? false,
    manyToMany: spec.manyToMany ?? [],
  };
}

const money = (
  c: (name: string, type: ColumnType, spec?: ColumnSpec) => ColumnDef,
  name: string,
  display: string,
) => [
  c(name, "Money", { display, precision: 2, minValue: -922337203685477, maxValue: 922337203685477 }),
  c(`${name}_base`, "Money", { display: `${display} (Base)`, readOnly: true, precision: 2 }),
];

const currency = (c: (name: string, type: ColumnType, spec?: ColumnSpec) => ColumnDef) => [
  c("transactioncurrencyid", "Lookup", {
    display: "Currency",
    targets: [lookup("transactioncurrencyid", "transactioncurrency")],
  }),
  c("exchangerate", "Decimal", { display: "Exchange Rate", readOnly: true, precision: 10 }),
];

/** A fresh copy of every built-in table (each server mutates its own: custom columns, keys, flags). */
export function builtInTables(): TableDef[] {
  return [
    table({
      logicalName: "opportunity",
      entitySetName: "opportunities",
      primaryId: "opportunityid",
      primaryName: "name",
      displayName: "Opportunity",
      objectTypeCode: 3,
      ownership: "UserOwned",
      changeTrackingEnabled: true,
      states: { state: OPPORTUNITY_STATE, status: OPPORTUNITY_STATUS },
      columns: (c) => [
        c("name", "String", { display: "Topic", maxLength: 300, requiredLevel: "ApplicationRequired" }),
        ...money(c, "estimatedvalue", "Est. Revenue"),
        ...money(c, "actualvalue", "Actual Revenue"),
        c("estimatedclosedate", "DateOnly", { display: "Est. Close Date", format: "DateOnly" }),
        c("actualclosedate", "DateOnly", { display: "Actual Close Date", format: "DateOnly" }),
        c("description", "Memo", { display: "Description", maxLength: 2000 }),
        c("closeprobability", "Integer", { display: "Probability", minValue: 0, maxValue: 100 }),
        c("salesstage", "Picklist", { display: "Sales Stage", options: SALES_STAGE }),
        c("stepname", "String", { display: "Pipeline Phase", maxLength: 200 }),
        ...currency(c),
        c("parentaccountid", "Lookup", {
          display: "Account",
          targets: [lookup("parentaccountid", "account")],
        }),
        c("parentcontactid", "Lookup", {
          display: "Contact",
          targets: [lookup("parentcontactid", "contact")],
        }),
        c("customerid", "Customer", {
          display: "Potential Customer",
          requiredLevel: "ApplicationRequired",
          targets: [lookup("customerid_account", "account"), lookup("customerid_contact", "contact")],
        }),
        c("campaignid", "Lookup", {
          display: "Source Campaign",
          targets: [lookup("campaignid", "campaign")],
        }),
      ],
    }),
    table({
      logicalName: "account",
      entitySetName: "accounts",
      primaryId: "accountid",
      primaryName: "name",
      displayName: "Account",
      objectTypeCode: 1,
      ownership: "UserOwned",
      changeTrackingEnabled: true,
      states: { state: ACTIVE_INACTIVE_STATE, status: ACTIVE_INACTIVE_STATUS },
      columns: (c) => [
        c("name", "String", {
          display: "Account Name",
          maxLength: 160,
          requiredLevel: "ApplicationRequired",
        }),
        c("accountnumber", "String", { display: "Account Number", maxLength: 20 }),
        c("telephone1", "String", { display: "Main Phone", maxLength: 50 }),
        c("emailaddress1", "String", { display: "Email", maxLength: 100 }),
        c("websiteurl", "String", { display: "Website", maxLength: 200 }),
        c("address1_line1", "String", { display: "Address 1: Street 1", maxLength: 250 }),
        c("address1_line2", "String", { display: "Address 1: Street 2", maxLength: 250 }),
        c("address1_city", "String", { display: "Address 1: City", maxLength: 80 }),
        c("address1_stateorprovince", "String", { display: "Address 1: State/Province", maxLength: 50 }),
        c("address1_postalcode", "String", { display: "Address 1: ZIP/Postal Code", maxLength: 20 }),
        c("address1_country", "String", { display: "Address 1: Country/Region", maxLength: 80 }),
        c("numberofemployees", "Integer", {
          display: "Number of Employees",
          minValue: 0,
          maxValue: 1000000000,
        }),
        ...money(c, "revenue", "Annual Revenue"),
        ...currency(c),
        c("primarycontactid", "Lookup", {
          display: "Primary Contact",
          targets: [lookup("primarycontactid", "contact")],
        }),
        c("parentaccountid", "Lookup", {
          display: "Parent Account",
          targets: [lookup("parentaccountid", "account")],
        }),
      ],
    }),
    table({
      logicalName: "contact",
      entitySetName: "contacts",
      primaryId: "contactid",
      primaryName: "fullname",
      displayName: "Contact",
      objectTypeCode: 2,
      ownership: "UserOwned",
      changeTrackingEnabled: true,
      states: { state: ACTIVE_INACTIVE_STATE, status: ACTIVE_INACTIVE_STATUS },
      columns: (c) => [
        c("firstname", "String", { display: "First Name", maxLength: 50 }),
        c("lastname", "String", {
          display: "Last Name",
          maxLength: 50,
          requiredLevel: "ApplicationRequired",
        }),
        c("fullname", "String", { display: "Full Name", maxLength: 160, readOnly: true }),
        c("emailaddress1", "String", { display: "Email", maxLength: 100 }),
        c("telephone1", "String", { display: "Business Phone", maxLength: 50 }),
        c("mobilephone", "String", { display: "Mobile Phone", maxLength: 50 }),
        c("jobtitle", "String", { display: "Job Title", maxLength: 100 }),
        c("parentcustomerid", "Customer", {
          display: "Company Name",
          targets: [
            lookup("parentcustomerid_account", "account"),
            lookup("parentcustomerid_contact", "contact"),
          ],
        }),
      ],
    }),
    table({
      logicalName: "campaign",
      entitySetName: "campaigns",
      primaryId: "campaignid",
      primaryName: "name",
      displayName: "Campaign",
      objectTypeCode: 4400,
      ownership: "UserOwned",
      states: {
        state: [
          { value: 0, label: "Active", defaultStatus: 0 },
          { value: 1, label: "Inactive", defaultStatus: 6 },
        ],
        status: [
          { value: 0, label: "Proposed", state: 0 },
          { value: 1, label: "Ready To Launch", state: 0 },
          { value: 2, label: "Launched", state: 0 },
          { value: 3, label: "Completed", state: 0 },
          { value: 4, label: "Canceled", state: 0 },
          { value: 5, label: "Suspended", state: 0 },
          { value: 6, label: "Inactive", state: 1 },
        ],
      },
      columns: (c) => [
        c("name", "String", { display: "Name", maxLength: 128, requiredLevel: "SystemRequired" }),
        c("codename", "String", { display: "Campaign Code", maxLength: 32 }),
        c("description", "Memo", { display: "Description", maxLength: 2000 }),
      ],
    }),
    table({
      logicalName: "systemuser",
      entitySetName: "systemusers",
      primaryId: "systemuserid",
      primaryName: "fullname",
      displayName: "User",
      objectTypeCode: 8,
      ownership: "BusinessOwned",
      manyToMany: [
        { nav: "systemuserroles_association", relationship: "systemuserroles", targetTable: "role" },
      ],
      columns: (c) => [
        c("firstname", "String", { display: "First Name", maxLength: 64 }),
        c("lastname", "String", { display: "Last Name", maxLength: 64 }),
        c("fullname", "String", { display: "Full Name", maxLength: 200, readOnly: true }),
        c("internalemailaddress", "String", { display: "Primary Email", maxLength: 100 }),
        c("domainname", "String", { display: "User Name", maxLength: 1024 }),
        c("azureactivedirectoryobjectid", "Uniqueidentifier", { display: "Azure AD Object ID" }),
        c("applicationid", "Uniqueidentifier", { display: "Application ID" }),
        c("address1_telephone1", "String", { display: "Main Phone", maxLength: 64 }),
        c("mobilephone", "String", { display: "Mobile Phone", maxLength: 64 }),
        c("title", "String", { display: "Title", maxLength: 128 }),
        c("isdisabled", "Boolean", {
          display: "Status",
          defaultValue: false,
          options: [
            { value: 0, label: "Enabled" },
            { value: 1, label: "Disabled" },
          ],
        }),
        c("accessmode", "Picklist", {
          display: "Access Mode",
          defaultValue: 0,
          options: [
            { value: 0, label: "Read-Write" },
            { value: 1, label: "Administrative" },
            { value: 2, label: "Read" },
            { value: 3, label: "Support User" },
            { value: 4, label: "Non-interactive" },
            { value: 5, label: "Delegated Admin" },
          ],
        }),
        c("businessunitid", "Lookup", {
          display: "Business Unit",
          targets: [lookup("businessunitid", "businessunit")],
        }),
      ],
    }),
    table({
      logicalName: "role",
      entitySetName: "roles",
      primaryId: "roleid",
      primaryName: "name",
      displayName: "Security Role",
      objectTypeCode: 1036,
      ownership: "BusinessOwned",
      manyToMany: [
        { nav: "systemuserroles_association", relationship: "systemuserroles", targetTable: "systemuser" },
        { nav: "roleprivileges_association", relationship: "roleprivileges", targetTable: "privilege" },
      ],
      columns: (c) => [
        c("name", "String", { display: "Name", maxLength: 100 }),
        c("businessunitid", "Lookup", {
          display: "Business Unit",
          targets: [lookup("businessunitid", "businessunit")],
        }),
      ],
    }),
    // Rows are derived from the tables (security/privileges.ts): read-only through the Web API.
    table({
      logicalName: "privilege",
      entitySetName: "privileges",
      primaryId: "privilegeid",
      primaryName: "name",
      displayName: "Privilege",
      objectTypeCode: 1023,
      ownership: "None",
      manyToMany: [
        { nav: "roleprivileges_association", relationship: "roleprivileges", targetTable: "role" },
      ],
      columns: (c) => [
        c("name", "String", { display: "Name", maxLength: 100 }),
        c("accessright", "Integer", { display: "Access Rights" }),
      ],
    }),
    table({
      logicalName: "businessunit",
      entitySetName: "businessunits",
      primaryId: "businessunitid",
      primaryName: "name",
      displayName: "Business Unit",
      objectTypeCode: 10,
      ownership: "BusinessOwned",
      columns: (c) => [c("name", "String", { display: "Name", maxLength: 160 })],
    }),
    table({
      logicalName: "transactioncurrency",
      entitySetName: "transactioncurrencies",
      primaryId: "transactioncurrencyid",
      primaryName: "currencyname",
      displayName: "Currency",
      objectTypeCode: 9105,
      ownership: "OrganizationOwned",
      states: { state: ACTIVE_INACTIVE_STATE, status: ACTIVE_INACTIVE_STATUS },
      columns: (c) => [
        c("currencyname", "String", { display: "Currency Name", maxLength: 100 }),
        c("isocurrencycode", "String", { display: "Currency Code", maxLength: 5 }),
        c("currencysymbol", "String", { display: "Currency Symbol", maxLength: 10 }),
        c("exchangerate", "Decimal", { display: "Exchange Rate", precision: 10, minValue: 0.0000000001 }),
        c("currencyprecision", "Integer", { display: "Currency Precision", minValue: 0, maxValue: 4 }),
      ],
    }),
    table({
      logicalName: "opportunityclose",
      entitySetName: "opportunitycloses",
      primaryId: "activityid",
      primaryName: "subject",
      displayName: "Opportunity Close",
      objectTypeCode: 4208,
      ownership: "UserOwned",
      isActivity: true,
      states: {
        state: [
          { value: 0, label: "Open", defaultStatus: 1 },
          { value: 1, label: "Completed", defaultStatus: 2 },
          { value: 2, label: "Canceled", defaultStatus: 3 },
        ],
        status: [
          { value: 1, label: "Open", state: 0 },
          { value: 2, label: "Completed", state: 1 },
          { value: 3, label: "Canceled", state: 2 },
        ],
      },
      columns: (c) => [
        c("subject", "String", { display: "Subject", maxLength: 200 }),
        ...money(c, "actualrevenue", "Actual Revenue"),
        c("actualend", "DateTime", { display: "Close Date" }),
        c("description", "Memo", { display: "Description", maxLength: 2000 }),
        c("category", "String", { display: "Category", maxLength: 250 }),
        ...currency(c),
        c("opportunityid", "Lookup", {
          display: "Opportunity",
          targets: [lookup("opportunityid", "opportunity")],
        }),
      ],
    }),
    table({
      logicalName: "publisher",
      entitySetName: "publishers",
      primaryId: "publisherid",
      primaryName: "friendlyname",
      displayName: "Publisher",
      objectTypeCode: 7101,
      ownership: "OrganizationOwned",
      columns: (c) => [
        c("uniquename", "String", { display: "Name", maxLength: 256 }),
        c("friendlyname", "String", { display: "Display Name", maxLength: 256 }),
        c("customizationprefix", "String", { display: "Prefix", maxLength: 8 }),
        c("customizationoptionvalueprefix", "Integer", {
          display: "Option Value Prefix",
          minValue: 10000,
          maxValue: 99999,
        }),
        c("description", "Memo", { display: "Description", maxLength: 2000 }),
      ],
    }),
    table({
      logicalName: "solution",
      entitySetName: "solutions",
      primaryId: "solutionid",
      primaryName: "friendlyname",
      displayName: "Solution",
      objectTypeCode: 7100,
      ownership: "OrganizationOwned",
      columns: (c) => [
        c("uniquename", "String", { display: "Name", maxLength: 65 }),
        c("friendlyname", "String", { display: "Display Name", maxLength: 256 }),
        c("version", "String", { display: "Version", maxLength: 256 }),
        c("ismanaged", "Boolean", {
          display: "Package Type",
          defaultValue: false,
          options: [
            { value: 0, label: "Unmanaged" },
            { value: 1, label: "Managed" },
          ],
        }),
        c("description", "Memo", { display: "Description", maxLength: 2000 }),
        c("publisherid", "Lookup", { display: "Publisher", targets: [lookup("publisherid", "publisher")] }),
      ],
    }),
    ...eventRegistrationTables(),
    ...customizationTables(),
  ];
}

/**
 * Views, forms and solution membership: `savedquery` (a public view of a table; querytype 0 is a
 * main application view), `systemform` (a form; type 2 is a main form, its layout in `formxml`) and
 * `solutioncomponent` (what a solution holds; read-only through the Web API, filled by
 * `MSCRM.SolutionUniqueName` and `AddSolutionComponent`). Columns and option values from
 * learn.microsoft.com/power-apps/developer/data-platform/reference/entities/savedquery,
 * …/reference/entities/systemform and …/reference/entities/solutioncomponent.
 */
function customizationTables(): TableDef[] {
  return [
    table({
      logicalName: "savedquery",
      entitySetName: "savedqueries",
      primaryId: "savedqueryid",
      primaryName: "name",
      displayName: "View",
      objectTypeCode: 1039,
      ownership: "OrganizationOwned",
      states: { state: ACTIVE_INACTIVE_STATE, status: ACTIVE_INACTIVE_STATUS },
      columns: (c) => [
        c("name", "String", { display: "Name", maxLength: 200, requiredLevel: "SystemRequired" }),
        c("description", "Memo", { display: "Description", maxLength: 100000 }),
        // EntityName in the SDK; the Web API reads and writes it as the table's logical name.
        c("returnedtypecode", "String", {
          display: "Returned Type Code",
          maxLength: 100,
          requiredLevel: "SystemRequired",
        }),
        c("querytype", "Integer", {
          display: "Query Type",
          minValue: 0,
          maxValue: 2147483647,
          requiredLevel: "SystemRequired",
        }),
        c("fetchxml", "Memo", { display: "Fetch XML", maxLength: 1073741823 }),
        c("layoutxml", "Memo", { display: "Grid Layout", maxLength: 1073741823 }),
        c("isdefault", "Boolean", {
          display: "Default View",
          defaultValue: false,
          options: [
            { value: 0, label: "No" },
            { value: 1, label: "Yes" },
          ],
        }),
      ],
    }),
    table({
      logicalName: "systemform",
      entitySetName: "systemforms",
      primaryId: "formid",
      primaryName: "name",
      displayName: "System Form",
      objectTypeCode: 1030,
      ownership: "OrganizationOwned",
      columns: (c) => [
        c("name", "String", { display: "Name", maxLength: 100, requiredLevel: "SystemRequired" }),
        c("description", "Memo", { display: "Description", maxLength: 2000 }),
        // An EntityName column: the Web API reads and writes it as the table's logical name.
        c("objecttypecode", "String", { display: "Entity Name", maxLength: 100 }),
        c("type", "Picklist", {
          display: "Form Type",
          options: [
            { value: 0, label: "Dashboard" },
            { value: 2, label: "Main" },
            { value: 4, label: "Preview" },
            { value: 6, label: "Quick View Form" },
            { value: 7, label: "Quick Create" },
            { value: 11, label: "Card" },
            { value: 12, label: "Main - Interactive experience" },
          ],
        }),
        c("formxml", "Memo", { display: "Form XML", maxLength: 1073741823 }),
        c("isdefault", "Boolean", {
          display: "Default Form",
          defaultValue: false,
          options: [
            { value: 0, label: "No" },
            { value: 1, label: "Yes" },
          ],
        }),
        c("formactivationstate", "Picklist", {
          display: "Form State",
          defaultValue: 1,
          options: [
            { value: 0, label: "Inactive" },
            { value: 1, label: "Active" },
          ],
        }),
        // Set by PublishXml (read-only through the Web API).
        c("publishedon", "DateTime", { display: "Published On", readOnly: true }),
      ],
    }),
    table({
      logicalName: "solutioncomponent",
      entitySetName: "solutioncomponents",
      primaryId: "solutioncomponentid",
      primaryName: "solutioncomponentid",
      displayName: "Solution Component",
      objectTypeCode: 7103,
      ownership: "None",
      columns: (c) => [
        c("objectid", "Uniqueidentifier", { display: "Regarding" }),
        c("componenttype", "Picklist", {
          display: "Object Type Code",
          options: [
            { value: 1, label: "Entity" },
            { value: 2, label: "Attribute" },
            { value: 14, label: "Entity Key" },
            { value: 26, label: "View" },
            { value: 60, label: "System Form" },
          ],
        }),
        c("rootcomponentbehavior", "Integer", {
          display: "Root Component Behavior",
          minValue: 0,
          maxValue: 2,
        }),
        c("solutionid", "Lookup", { display: "Solution", targets: [lookup("solutionid", "solution")] }),
      ],
    }),
  ];
}

/**
 * The tables that register server-side event handlers (dynamics.md §3.3; Microsoft's "Register a
 * WebHook" and the serviceendpoint / sdkmessageprocessingstep table references): a service endpoint
 * (contract 8 = Webhook) and the steps that call it for a message on a table.
 */
function eventRegistrationTables(): TableDef[] {
  return [
    table({
      logicalName: "sdkmessage",
      entitySetName: "sdkmessages",
      primaryId: "sdkmessageid",
      primaryName: "name",
      displayName: "Sdk Message",
      objectTypeCode: 4606,
      ownership: "OrganizationOwned",
      columns: (c) => [c("name", "String", { display: "Name", maxLength: 256 })],
    }),
    table({
      logicalName: "sdkmessagefilter",
      entitySetName: "sdkmessagefilters",
      primaryId: "sdkmessagefilterid",
      primaryName: "name",
      displayName: "Sdk Message Filter",
      objectTypeCode: 4607,
      ownership: "OrganizationOwned",
      columns: (c) => [
        c("name", "String", { display: "Name", maxLength: 256 }),
        c("primaryobjecttypecode", "String", { display: "Primary Object Type Code", maxLength: 100 }),
        c("secondaryobjecttypecode", "String", { display: "Secondary Object Type Code", maxLength: 100 }),
        c("sdkmessageid", "Lookup", {
          display: "SDK Message",
          targets: [lookup("sdkmessageid", "sdkmessage")],
        }),
      ],
    }),
    table({
      logicalName: "serviceendpoint",
      entitySetName: "serviceendpoints",
      primaryId: "serviceendpointid",
      primaryName: "name",
      displayName: "Service Endpoint",
      objectTypeCode: 4618,
      ownership: "OrganizationOwned",
      columns: (c) => [
        c("name", "String", { display: "Name", maxLength: 256, requiredLevel: "SystemRequired" }),
        c("description", "Memo", { display: "Description", maxLength: 2000 }),
        c("url", "String", { display: "Url Address", maxLength: 2000 }),
        c("contract", "Picklist", {
          display: "Contract",
          requiredLevel: "SystemRequired",
          options: [
            { value: 1, label: "OneWay" },
            { value: 2, label: "Queue" },
            { value: 3, label: "Rest" },
            { value: 4, label: "TwoWay" },
            { value: 5, label: "Topic" },
            { value: 6, label: "Queue (Persistent)" },
            { value: 7, label: "Event Hub" },
            { value: 8, label: "Webhook" },
            { value: 9, label: "Event Grid" },
          ],
        }),
        c("authtype", "Picklist", {
          display: "Specifies mode of authentication with SB",
          options: [
            { value: 1, label: "ACS" },
            { value: 2, label: "SAS Key" },
            { value: 3, label: "SAS Token" },
            { value: 4, label: "Webhook Key" },
            { value: 5, label: "Http Header" },
            { value: 6, label: "Http Query String" },
          ],
        }),
        c("authvalue", "String", { display: "Authorization Value", maxLength: 4000 }),
        c("messageformat", "Picklist", {
          display: "Message Format",
          defaultValue: 2,
          options: [
            { value: 1, label: "Binary XML" },
            { value: 2, label: "Json" },
            { value: 3, label: "Text XML" },
          ],
        }),
      ],
    }),
    table({
      logicalName: "sdkmessageprocessingstep",
      entitySetName: "sdkmessageprocessingsteps",
      primaryId: "sdkmessageprocessingstepid",
      primaryName: "name",
      displayName: "Sdk Message Processing Step",
      objectTypeCode: 4608,
      ownership: "OrganizationOwned",
      states: {
        state: [
          { value: 0, label: "Enabled", defaultStatus: 1 },
          { value: 1, label: "Disabled", defaultStatus: 2 },
        ],
        status: [
          { value: 1, label: "Enabled", state: 0 },
          { value: 2, label: "Disabled", state: 1 },
        ],
      },
      columns: (c) => [
        c("name", "String", { display: "Name", maxLength: 256 }),
        c("description", "Memo", { display: "Description", maxLength: 2000 }),
        c("sdkmessageid", "Lookup", {
          display: "SDK Message",
          targets: [lookup("sdkmessageid", "sdkmessage")],
        }),
        c("sdkmessagefilterid", "Lookup", {
          display: "SdkMessage Filter",
          targets: [lookup("sdkmessagefilterid", "sdkmessagefilter")],
        }),
        c("eventhandler", "Lookup", {
          display: "Event Handler",
          targets: [lookup("eventhandler_serviceendpoint", "serviceendpoint")],
        }),
        c("stage", "Picklist", {
          display: "Execution Stage",
          requiredLevel: "SystemRequired",
          options: [
            { value: 10, label: "Pre-validation" },
            { value: 20, label: "Pre-operation" },
            { value: 30, label: "Main Operation" },
            { value: 40, label: "Post-operation" },
          ],
        }),
        c("mode", "Picklist", {
          display: "Execution Mode",
          requiredLevel: "SystemRequired",
          options: [
            { value: 0, label: "Synchronous" },
            { value: 1, label: "Asynchronous" },
          ],
        }),
        c("rank", "Integer", { display: "Execution Order", minValue: 0, maxValue: 2147483647 }),
        c("filteringattributes", "String", { display: "Filtering Attributes", maxLength: 100000 }),
        c("supporteddeployment", "Picklist", {
          display: "Deployment",
          defaultValue: 0,
          options: [
            { value: 0, label: "Server Only" },
            { value: 1, label: "Microsoft Dynamics 365 Client for Outlook Only" },
            { value: 2, label: "Both" },
          ],
        }),
        c("asyncautodelete", "Boolean", {
          display: "Asynchronous Automatic Delete",
          defaultValue: false,
          options: [
            { value: 0, label: "No" },
            { value: 1, label: "Yes" },
          ],
        }),
      ],
    }),
  ];
}
