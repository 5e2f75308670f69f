import type { FieldDef, FieldType, PicklistEntry, SObjectDef } from "./types.js";

// A tiny DSL so each object below reads like its field reference page (salesforce.md §7).

type Opts = Partial<FieldDef>;

const field = (name: string, label: string, type: FieldType, opts: Opts = {}): FieldDef => ({
  name,
  label,
  type,
  nillable: true,
  createable: true,
  updateable: true,
  ...opts,
});

const RO: Opts = { createable: false, updateable: false };
/** Required on create (not nillable, no system default). */
const REQ: Opts = { nillable: false };

const text = (name: string, label: string, length: number, opts: Opts = {}) =>
  field(name, label, "string", { length, ...opts });
const longText = (name: string, label: string, length = 32000, opts: Opts = {}) =>
  field(name, label, "textarea", { length, extraTypeInfo: "plaintextarea", ...opts });

/** Active picklist entries whose label is the value. */
export function picklistEntries(values: readonly string[], defaultValue?: string): PicklistEntry[] {
  return values.map((v) => ({ value: v, label: v, active: true, defaultValue: v === defaultValue }));
}

const pick = (name: string, label: string, values: readonly string[], opts: Opts = {}) =>
  field(name, label, "picklist", { length: 255, picklist: picklistEntries(values), ...opts });

const ref = (name: string, label: string, to: string, relationshipName: string, opts: Opts = {}) =>
  field(name, label, "reference", { length: 18, referenceTo: [to], relationshipName, ...opts });

const bool = (name: string, label: string, defaultValue: boolean, opts: Opts = {}) =>
  field(name, label, "boolean", { nillable: false, defaultedOnCreate: true, defaultValue, ...opts });

const idField = (): FieldDef =>
  field("Id", "Record ID", "id", {
    ...RO,
    nillable: false,
    length: 18,
    defaultedOnCreate: true,
    idLookup: true,
  });

const isDeleted = (): FieldDef => bool("IsDeleted", "Deleted", false, RO);

const systemModstamp = (): FieldDef =>
  field("SystemModstamp", "System Modstamp", "datetime", { ...RO, nillable: false, defaultedOnCreate: true });

/** CreatedDate/ById, LastModifiedDate/ById, SystemModstamp: set by the org on every write. */
const audit = (): FieldDef[] => [
  field("CreatedDate", "Created Date", "datetime", { ...RO, nillable: false, defaultedOnCreate: true }),
  ref("CreatedById", "Created By ID", "User", "CreatedBy", {
    ...RO,
    nillable: false,
    defaultedOnCreate: true,
  }),
  field("LastModifiedDate", "Last Modified Date", "datetime", {
    ...RO,
    nillable: false,
    defaultedOnCreate: true,
  }),
  ref("LastModifiedById", "Last Modified By ID", "User", "LastModifiedBy", {
    ...RO,
    nillable: false,
    defaultedOnCreate: true,
  }),
  systemModstamp(),
];

const owner = (): FieldDef =>
  ref("OwnerId", "Owner ID", "User", "Owner", { nillable: false, defaultedOnCreate: true });

/** Street/City/State/PostalCode/Country plus the read-only compound `<Prefix>Address`. */
const address = (prefix: string, label: string): FieldDef[] => [
  field(`${prefix}Street`, `${label} Street`, "textarea", { length: 255 }),
  text(`${prefix}City`, `${label} City`, 40),
  text(`${prefix}State`, `${label} State/Province`, 80),
  text(`${prefix}PostalCode`, `${label} Zip/Postal Code`, 20),
  text(`${prefix}Country`, `${label} Country`, 80),
  field(`${prefix}Latitude`, `${label} Latitude`, "double", { precision: 18, scale: 15 }),
  field(`${prefix}Longitude`, `${label} Longitude`, "double", { precision: 18, scale: 15 }),
  field(`${prefix}Address`, `${label} Address`, "address", { ...RO, addressPrefix: prefix }),
];

const obj = (
  name: string,
  keyPrefix: string,
  label: string,
  labelPlural: string,
  fields: FieldDef[],
  opts: Partial<SObjectDef> = {},
): SObjectDef => ({
  name,
  keyPrefix,
  label,
  labelPlural,
  createable: true,
  updateable: true,
  deletable: true,
  queryable: true,
  fields,
  ...opts,
});

const INDUSTRIES = [
  "Agriculture",
  "Banking",
  "Communications",
  "Consulting",
  "Education",
  "Energy",
  "Finance",
  "Government",
  "Healthcare",
  "Manufacturing",
  "Media",
  "Retail",
  "Technology",
  "Transportation",
  "Other",
];

const account = obj("Account", "001", "Account", "Accounts", [
  idField(),
  isDeleted(),
  text("Name", "Account Name", 255, { ...REQ, nameField: true }),
  pick("Type", "Account Type", [
    "Prospect",
    "Customer - Direct",
    "Customer - Channel",
    "Channel Partner / Reseller",
    "Installation Partner",
    "Technology Partner",
    "Other",
  ]),
  ref("ParentId", "Parent Account ID", "Account", "Parent", { childRelationshipName: "ChildAccounts" }),
  ...address("Billing", "Billing"),
  ...address("Shipping", "Shipping"),
  field("Phone", "Account Phone", "phone", { length: 40 }),
  field("Website", "Website", "url", { length: 255 }),
  pick("Industry", "Industry", INDUSTRIES),
  field("AnnualRevenue", "Annual Revenue", "currency", { precision: 18, scale: 0 }),
  field("NumberOfEmployees", "Employees", "int", { precision: 8, scale: 0 }),
  longText("Description", "Account Description"),
  owner(),
  ...audit(),
]);

const contact = obj("Contact", "003", "Contact", "Contacts", [
  idField(),
  isDeleted(),
  ref("AccountId", "Account ID", "Account", "Account", {
    childRelationshipName: "Contacts",
    cascadeDelete: true,
  }),
  text("LastName", "Last Name", 80, REQ),
  text("FirstName", "First Name", 40),
  pick("Salutation", "Salutation", ["Mr.", "Ms.", "Mrs.", "Dr.", "Prof."]),
  text("Name", "Full Name", 121, { ...RO, nillable: false, nameField: true, calculated: true }),
  ...address("Mailing", "Mailing"),
  field("Phone", "Business Phone", "phone", { length: 40 }),
  field("MobilePhone", "Mobile Phone", "phone", { length: 40 }),
  field("Email", "Email", "email", { length: 80, idLookup: true }),
  text("Title", "Title", 128),
  text("Department", "Department", 80),
  longText("Description", "Contact Description"),
  owner(),
  ...audit(),
]);

const campaign = obj("Campaign", "701", "Campaign", "Campaigns", [
  idField(),
  isDeleted(),
  text("Name", "Name", 80, { ...REQ, nameField: true }),
  pick("Type", "Type", [
    "Conference",
    "Webinar",
    "Trade Show",
    "Public Relations",
    "Partners",
    "Email",
    "Other",
  ]),
  pick("Status", "Status", ["Planned", "In Progress", "Completed", "Aborted"]),
  field("StartDate", "Start Date", "date"),
  field("EndDate", "End Date", "date"),
  bool("IsActive", "Active", false),
  longText("Description", "Description"),
  owner(),
  ...audit(),
]);

const user = obj(
  "User",
  "005",
  "User",
  "Users",
  [
    idField(),
    text("Username", "Username", 80, { ...REQ, unique: true, idLookup: true }),
    text("LastName", "Last Name", 80, REQ),
    text("FirstName", "First Name", 40),
    text("Name", "Full Name", 121, { ...RO, nillable: false, nameField: true, calculated: true }),
    text("Alias", "Alias", 8, REQ),
    field("Email", "Email", "email", { length: 128, nillable: false }),
    field("Phone", "Phone", "phone", { length: 40 }),
    field("MobilePhone", "Mobile", "phone", { length: 40 }),
    text("Title", "Title", 80),
    text("CompanyName", "Company Name", 80),
    text("Department", "Department", 80),
    bool("IsActive", "Active", true),
    pick("TimeZoneSidKey", "Time Zone", ["GMT", "America/Los_Angeles", "America/New_York", "Europe/London"], {
      nillable: false,
      defaultedOnCreate: true,
      defaultValue: "GMT",
    }),
    pick("LocaleSidKey", "Locale", ["en_US", "en_GB", "de_DE", "fr_FR"], {
      nillable: false,
      defaultedOnCreate: true,
      defaultValue: "en_US",
    }),
    pick("LanguageLocaleKey", "Language", ["en_US", "de", "fr"], {
      nillable: false,
      defaultedOnCreate: true,
      defaultValue: "en_US",
    }),
    pick("EmailEncodingKey", "Email Encoding", ["UTF-8", "ISO-8859-1"], {
      nillable: false,
      defaultedOnCreate: true,
      defaultValue: "UTF-8",
    }),
    pick("UserType", "User Type", ["Standard", "PowerPartner"], {
      ...RO,
      nillable: false,
      defaultedOnCreate: true,
      defaultValue: "Standard",
    }),
    ...audit(),
  ],
  { deletable: false },
);

const OPPORTUNITY_TYPES = [
  "New Customer",
  "Existing Customer - Upgrade",
  "Existing Customer - Replacement",
  "Existing Customer - Downgrade",
];
export const LEAD_SOURCES = ["Web", "Phone Inquiry", "Partner Referral", "Purchased List", "Other"];
const FORECAST_NAMES = ["Omitted", "Pipeline", "Best Case", "Most Likely", "Commit", "Closed"];

const opportunity = obj("Opportunity", "006", "Opportunity", "Opportunities", [
  idField(),
  isDeleted(),
  ref("AccountId", "Account ID", "Account", "Account", {
    childRelationshipName: "Opportunities",
    cascadeDelete: true,
  }),
  text("Name", "Name", 120, { ...REQ, nameField: true }),
  longText("Description", "Description"),
  field("StageName", "Stage", "picklist", {
    ...REQ,
    length: 255,
    picklist: "stages",
    restrictedPicklist: true,
  }),
  field("Amount", "Amount", "currency", { precision: 18, scale: 2 }),
  field("Probability", "Probability (%)", "percent", { precision: 3, scale: 0, defaultedOnCreate: true }),
  field("ExpectedRevenue", "Expected Amount", "currency", {
    ...RO,
    precision: 18,
    scale: 2,
    calculated: true,
  }),
  field("TotalOpportunityQuantity", "Quantity", "double", { precision: 18, scale: 2 }),
  field("CloseDate", "Close Date", "date", REQ),
  pick("Type", "Opportunity Type", OPPORTUNITY_TYPES),
  text("NextStep", "Next Step", 255),
  pick("LeadSource", "Lead Source", LEAD_SOURCES),
  bool("IsClosed", "Closed", false, RO),
  bool("IsWon", "Won", false, RO),
  pick(
    "ForecastCategory",
    "Forecast Category",
    ["Omitted", "Pipeline", "BestCase", "MostLikely", "Forecast", "Closed"],
    {
      ...RO,
      nillable: false,
      defaultedOnCreate: true,
    },
  ),
  pick("ForecastCategoryName", "Forecast Category", FORECAST_NAMES, { defaultedOnCreate: true }),
  ref("CampaignId", "Campaign ID", "Campaign", "Campaign", { childRelationshipName: "Opportunities" }),
  // Null until the org has record types; a new record then gets the creating user's default one.
  ref("RecordTypeId", "Record Type ID", "RecordType", "RecordType"),
  bool("HasOpportunityLineItem", "Has Line Item", false, RO),
  ref("ContactId", "Contact ID", "Contact", "Contact"),
  owner(),
  field("FiscalQuarter", "Fiscal Quarter", "int", { ...RO, precision: 11, scale: 0 }),
  field("FiscalYear", "Fiscal Year", "int", { ...RO, precision: 11, scale: 0 }),
  text("Fiscal", "Fiscal Period", 6, RO),
  field("LastActivityDate", "Last Activity", "date", RO),
  ...audit(),
]);

const contactRole = obj(
  "OpportunityContactRole",
  "00K",
  "Opportunity Contact Role",
  "Opportunity Contact Role",
  [
    idField(),
    ref("OpportunityId", "Opportunity ID", "Opportunity", "Opportunity", {
      nillable: false,
      updateable: false,
      childRelationshipName: "OpportunityContactRoles",
      cascadeDelete: true,
    }),
    ref("ContactId", "Contact ID", "Contact", "Contact", {
      nillable: false,
      childRelationshipName: "OpportunityContactRoles",
      cascadeDelete: true,
    }),
    pick("Role", "Role", [
      "Business User",
      "Decision Maker",
      "Economic Buyer",
      "Economic Decision Maker",
      "Evaluator",
      "Executive Sponsor",
      "Influencer",
      "Technical Buyer",
      "Other",
    ]),
    bool("IsPrimary", "Primary", false),
    isDeleted(),
    ...audit(),
  ],
);

const teamMember = obj(
  "OpportunityTeamMember",
  "00q",
  "Opportunity Team Member",
  "Opportunity Team Members",
  [
    idField(),
    ref("OpportunityId", "Opportunity ID", "Opportunity", "Opportunity", {
      nillable: false,
      updateable: false,
      childRelationshipName: "OpportunityTeamMembers",
      cascadeDelete: true,
    }),
    ref("UserId", "User ID", "User", "User", { nillable: false, updateable: false }),
    text("Name", "Team Member", 121, { ...RO, calculated: true, nameField: true }),
    pick("TeamMemberRole", "Team Role", [
      "Account Manager",
      "Channel Manager",
      "Executive Sponsor",
      "Lead Qualifier",
      "Pre-Sales Consultant",
      "Sales Manager",
      "Sales Rep",
    ]),
    pick("OpportunityAccessLevel", "Opportunity Access", ["Read", "Edit"], {
      nillable: false,
      defaultedOnCreate: true,
      defaultValue: "Read",
    }),
    text("Title", "Title", 80, RO),
    isDeleted(),
    ...audit(),
  ],
);

const stage = obj(
  "OpportunityStage",
  "01J",
  "Opportunity Stage",
  "Opportunity Stages",
  [
    idField(),
    text("MasterLabel", "Master Label", 255, { ...RO, nillable: false, nameField: true }),
    text("ApiName", "Api Name", 255, { ...RO, nillable: false }),
    bool("IsActive", "Is Active", true, RO),
    field("SortOrder", "Sort Order", "int", { ...RO, precision: 9, scale: 0 }),
    bool("IsClosed", "Closed", false, RO),
    bool("IsWon", "Won", false, RO),
    pick(
      "ForecastCategory",
      "Forecast Type",
      ["Omitted", "Pipeline", "BestCase", "MostLikely", "Forecast", "Closed"],
      {
        ...RO,
        nillable: false,
      },
    ),
    pick("ForecastCategoryName", "Forecast Category", FORECAST_NAMES, { ...RO, nillable: false }),
    field("DefaultProbability", "Probability (%)", "percent", { ...RO, precision: 3, scale: 0 }),
    text("Description", "Description", 255, RO),
    ...audit(),
  ],
  { createable: false, updateable: false, deletable: false },
);

/** A sales process (Opportunity's BusinessProcess): which stages its record types offer. */
const businessProcess = obj("BusinessProcess", "019", "Business Process", "Business Processes", [
  idField(),
  text("Name", "Name", 80, { ...REQ, nameField: true }),
  text("Description", "Description", 255),
  pick("TableEnumOrId", "Entity Enumeration Or ID", ["Opportunity", "Lead", "Case", "Solution"], REQ),
  bool("IsActive", "Active", true),
  ...audit(),
]);

/** A record type (salesforce field reference "RecordType": BusinessProcessId, DeveloperName, SobjectType…). */
const recordType = obj("RecordType", "012", "Record Type", "Record Types", [
  idField(),
  text("Name", "Name", 80, { ...REQ, nameField: true }),
  text("DeveloperName", "Record Type Name", 80, REQ),
  text("Description", "Description", 255),
  text("NamespacePrefix", "Namespace Prefix", 15, RO),
  pick("SobjectType", "SObject Type Name", ["Opportunity", "Account", "Contact", "Lead", "Case"], REQ),
  bool("IsActive", "Active", true),
  ref("BusinessProcessId", "Business Process ID", "BusinessProcess", "BusinessProcess"),
  ...audit(),
]);

const permissionSet = obj("PermissionSet", "0PS", "Permission Set", "Permission Sets", [
  idField(),
  text("Name", "Name", 80, { ...REQ, unique: true }),
  text("Label", "Label", 80, { ...REQ, nameField: true }),
  text("Description", "Description", 255),
  bool("IsOwnedByProfile", "Is Owned by Profile", false, RO),
  bool("IsCustom", "Custom", true, RO),
  text("NamespacePrefix", "Namespace Prefix", 15, RO),
  ...audit(),
]);

const permissionSetAssignment = obj(
  "PermissionSetAssignment",
  "0Pa",
  "Permission Set Assignment",
  "Permission Set Assignments",
  [
    idField(),
    ref("PermissionSetId", "Permission Set ID", "PermissionSet", "PermissionSet", {
      nillable: false,
      updateable: false,
      childRelationshipName: "Assignments",
      cascadeDelete: true,
    }),
    ref("AssigneeId", "Assignee ID", "User", "Assignee", {
      nillable: false,
      updateable: false,
      childRelationshipName: "PermissionSetAssignments",
    }),
    bool("IsActive", "Is Active", true, RO),
    field("ExpirationDate", "Expiration Date", "datetime"),
    systemModstamp(),
  ],
  { updateable: true },
);

/** The standard objects of the sandbox org, in describeGlobal order. */
export const STANDARD_OBJECTS: readonly SObjectDef[] = [
  account,
  campaign,
  contact,
  opportunity,
  contactRole,
  stage,
  teamMember,
  permissionSet,
  permissionSetAssignment,
  user,
  businessProcess,
  recordType,
];

/** Objects that carry `CurrencyIsoCode` when multi-currency is on. */
export const CURRENCY_OBJECTS = new Set(["Account", "Campaign", "Contact", "Opportunity"]);

/**
 * The fields Salesforce gives every custom object: Id, Name (text up to 80 characters, the record's
 * name), IsDeleted and the audit fields, plus OwnerId unless the object's sharing is controlled by a
 * master record (a detail object has no owner of its own).
 */
export function customObjectStandardFields(
  nameLabel: string,
  owned: boolean,
  autoNumberFormat?: string,
): FieldDef[] {
  // An auto-number name is numbered by the org on insert and read-only (describe: autoNumber true).
  const name = autoNumberFormat
    ? text("Name", nameLabel, 80, {
        nameField: true,
        autoNumberFormat,
        createable: false,
        updateable: false,
        defaultedOnCreate: true,
        nillable: false,
      })
    : text("Name", nameLabel, 80, { ...REQ, nameField: true });
  return [idField(), ...(owned ? [owner()] : []), isDeleted(), name, ...audit()];
}
