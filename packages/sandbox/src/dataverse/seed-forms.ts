import { stableGuid } from "./ids.js";

/**
 * The forms every Dynamics 365 Sales environment has on opportunity, as far as the emulator's schema
 * goes: the main form "Opportunity" (type 2) and its quick create form (type 7). Their FormXml
 * follows the out-of-the-box layout (a header, a Summary tab with the opportunity's facts and a
 * timeline, a Details tab) with the standard columns the emulator knows; control class ids are the
 * FormXml reference's (learn.microsoft.com/previous-versions/dynamicscrm-2016/developers-guide/gg334472(v=crm.8)).
 */

const CLASS = {
  text: "{4273EDBD-AC1D-40D3-9FB2-095C621B552D}",
  memo: "{E0DECE4B-6FC8-4A8F-A065-082708572369}",
  lookup: "{270BD3DB-D9AF-4782-9025-509E298DEC0A}",
  money: "{533B9E00-756B-4312-95A0-DC888637AC78}",
  date: "{5B773807-9FB2-42DB-97C3-7A91EFF8ADFF}",
  integer: "{C6D124CA-7EDA-4A60-AEA9-7FB8D318B68F}",
  picklist: "{3EF39988-22BB-4F0B-BBBE-64B5A3748AEE}",
  status: "{5D68B988-0661-4DB2-BC3E-17598AD3BE6C}",
  notes: "{06375649-C143-495E-A496-C962E5B4488E}",
} as const;

const braced = (key: string) => `{${stableGuid(`form:${key}`)}}`;

function cell(key: string, label: string, control: string): string {
  return `<cell id="${braced(key)}"><labels><label description="${label}" languagecode="1033" /></labels>${control}</cell>`;
}

function field(form: string, column: string, label: string, kind: keyof typeof CLASS, idPrefix = ""): string {
  return cell(
    `${form}:${idPrefix}${column}`,
    label,
    `<control id="${idPrefix}${column}" classid="${CLASS[kind]}" datafieldname="${column}" disabled="false" />`,
  );
}

function section(form: string, name: string, label: string, cells: string[]): string {
  return (
    `<section name="${name}" showlabel="true" showbar="false" id="${braced(`${form}:${name}`)}" columns="1">` +
    `<labels><label description="${label}" languagecode="1033" /></labels>` +
    `<rows>${cells.map((c) => `<row>${c}</row>`).join("")}</rows></section>`
  );
}

function tab(form: string, name: string, label: string, sections: string[]): string {
  return (
    `<tab name="${name}" id="${braced(`${form}:${name}`)}" expanded="true" showlabel="true" verticallayout="true">` +
    `<labels><label description="${label}" languagecode="1033" /></labels>` +
    `<columns><column width="100%"><sections>${sections.join("")}</sections></column></columns></tab>`
  );
}

function mainFormXml(): string {
  const f = "opportunity:main";
  const header =
    `<header id="${braced(`${f}:header`)}" celllabelposition="Top" columns="1111"><rows><row>` +
    field(f, "estimatedclosedate", "Est. Close Date", "date", "header_") +
    field(f, "estimatedvalue", "Est. Revenue", "money", "header_") +
    field(f, "statuscode", "Status Reason", "status", "header_") +
    field(f, "ownerid", "Owner", "lookup", "header_") +
    `</row></rows></header>`;
  const summary = tab(f, "Summary", "Summary", [
    section(f, "opportunity_information", "Opportunity information", [
      field(f, "name", "Topic", "text"),
      field(f, "parentcontactid", "Contact", "lookup"),
      field(f, "parentaccountid", "Account", "lookup"),
      field(f, "transactioncurrencyid", "Currency", "lookup"),
      field(f, "estimatedvalue", "Est. Revenue", "money"),
      field(f, "estimatedclosedate", "Est. Close Date", "date"),
      field(f, "closeprobability", "Probability", "integer"),
    ]),
    section(f, "description_section", "Description", [field(f, "description", "Description", "memo")]),
    section(f, "timeline_section", "Timeline", [
      cell(`${f}:timeline`, "Timeline", `<control id="notescontrol" classid="${CLASS.notes}" />`),
    ]),
  ]);
  const details = tab(f, "Details", "Details", [
    section(f, "sales_information", "Sales information", [
      field(f, "salesstage", "Sales Stage", "picklist"),
      field(f, "stepname", "Pipeline Phase", "text"),
      field(f, "campaignid", "Source Campaign", "lookup"),
      field(f, "customerid", "Potential Customer", "lookup"),
    ]),
  ]);
  return `<form>${header}<tabs>${summary}${details}</tabs></form>`;
}

function quickCreateFormXml(): string {
  const f = "opportunity:quickcreate";
  return (
    `<form><tabs>` +
    tab(f, "tab_1", "General", [
      section(f, "quickcreate_section", "Opportunity", [
        field(f, "name", "Topic", "text"),
        field(f, "parentaccountid", "Account", "lookup"),
        field(f, "estimatedvalue", "Est. Revenue", "money"),
        field(f, "estimatedclosedate", "Est. Close Date", "date"),
      ]),
    ]) +
    `</tabs></form>`
  );
}

/** The stable `formid` of the seeded main Opportunity form. */
export const OPPORTUNITY_MAIN_FORM_ID = stableGuid("systemform:opportunity:main");

/** The seeded forms, as `systemform` create bodies by id. */
export function seededForms(): [string, Record<string, unknown>][] {
  return [
    [
      OPPORTUNITY_MAIN_FORM_ID,
      {
        name: "Opportunity",
        description: "A form for this entity.",
        objecttypecode: "opportunity",
        type: 2,
        isdefault: true,
        formxml: mainFormXml(),
      },
    ],
    [
      stableGuid("systemform:opportunity:quickcreate"),
      {
        name: "Opportunity Quick Create",
        description: "A quick create form for opportunities.",
        objecttypecode: "opportunity",
        type: 7,
        isdefault: true,
        formxml: quickCreateFormXml(),
      },
    ],
  ];
}
