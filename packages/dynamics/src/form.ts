import { createHash } from "node:crypto";
import { type CosellColumns, columnDefinitions } from "./columns.js";
import { subgridProblems, subgridSections } from "./solution-subgrids.js";

/**
 * The "Co-sell" tab setup puts on the main Opportunity form, as FormXml: `<tab><labels/><columns>
 * <column><sections><section><labels/><rows><row><cell><labels/><control id classid datafieldname
 * disabled /></cell></row>…` (the FormXml reference: <tab>, <section>, <cell> and <control>,
 * learn.microsoft.com/previous-versions/dynamicscrm-2016/developers-guide/gg334472(v=crm.8) and its
 * siblings; learn.microsoft.com/power-apps/developer/model-driven-apps/customize-entity-forms). The
 * tab is found by its `name` (`<prefix>_cosell`), which cosell owns; the rest of the form is never
 * parsed or rewritten: the tab is spliced into the text, so an admin's own tabs, header, events and
 * formatting stay byte for byte.
 */

/** One control of the tab: the column it is bound to and whether sellers may edit it. */
export interface TabField {
  column: string;
  /** cosell's own status columns: shown, read-only on the form (`disabled="true"`). */
  readOnly: boolean;
}

/** One section of the tab. */
export interface TabSection {
  name: string;
  label: string;
  fields: TabField[];
}

/** The label sellers see on the tab. */
export const TAB_LABEL = "Co-sell";

/** The tab's `name`, how setup and doctor find it again. */
export const tabName = (prefix: string) => `${prefix}_cosell`;

/**
 * Control class ids by column type, from the `<control>` reference's table (CheckBoxControl,
 * PicklistControl, TextBoxControl, URLControl, TextAreaControl, DateTimeControl).
 */
const CLASS_IDS = {
  Boolean: "{B0C6723A-8503-4FD7-BB28-C8A06AC933C2}",
  Picklist: "{3EF39988-22BB-4F0B-BBBE-64B5A3748AEE}",
  String: "{4273EDBD-AC1D-40D3-9FB2-095C621B552D}",
  Url: "{71716B6C-711E-476C-8AB8-5D11542BFB47}",
  Memo: "{E0DECE4B-6FC8-4A8F-A065-082708572369}",
  DateTime: "{5B773807-9FB2-42DB-97C3-7A91EFF8ADFF}",
} as const;

/** The four sections, in reading order: what the seller decides first, cosell's status last. */
export function tabSections(c: CosellColumns, prefix: string): TabSection[] {
  const edit = (column: string): TabField => ({ column, readOnly: false });
  const status = (column: string): TabField => ({ column, readOnly: true });
  return [
    {
      name: `${prefix}_cosell_deal`,
      label: "The deal",
      fields: [
        edit(c.syncFlag),
        edit(c.salesStage),
        edit(c.favorite),
        edit(c.consent),
        edit(c.consentToContact),
      ],
    },
    {
      name: `${prefix}_cosell_answer`,
      label: "Your answer",
      fields: [edit(c.response), edit(c.closeReasonCode), edit(c.closeReason)],
    },
    {
      name: `${prefix}_cosell_microsoft`,
      label: "Microsoft",
      fields: [
        edit(c.helpRequested),
        edit(c.helpType),
        edit(c.helpNotes),
        status(c.microsoftAnswer),
        status(c.microsoftOpportunityId),
        status(c.registrationStatusCode),
        status(c.registrationStatus),
      ],
    },
    {
      name: `${prefix}_cosell_sync`,
      label: "Sync",
      fields: [
        status(c.coSellStatus),
        status(c.respondBy),
        status(c.syncStatus),
        status(c.lastSyncOn),
        status(c.lastSyncError),
        status(c.referralLink),
        status(c.sentBy),
      ],
    },
  ];
}

const esc = (s: string) =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

/** A stable `{GUID}` for a tab, section or cell: the same on every run, so a rerun compares equal. */
function formGuid(key: string): string {
  const h = createHash("sha256").update(`cosell-form:${key}`).digest("hex");
  return `{${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}}`.toUpperCase();
}

const label = (text: string) => `<labels><label description="${esc(text)}" languagecode="1033" /></labels>`;

/** The tab as FormXml. `takenIds`: control ids used elsewhere on the form, which the tab must not reuse. */
export function buildTab(c: CosellColumns, prefix: string, takenIds: Set<string>): string {
  const defs = new Map(columnDefinitions(prefix, 0).map((d) => [d.logicalName, d]));
  const taken = new Set([...takenIds].map((x) => x.toLowerCase()));
  // A control id is conventionally its column's name; a column already on another tab (an admin's
  // own Co-sell section) keeps that id, and this tab's control gets the next free `<column>N`.
  const controlId = (column: string) => {
    let id = column;
    for (let n = 1; taken.has(id.toLowerCase()); n++) id = `${column}${n}`;
    taken.add(id.toLowerCase());
    return id;
  };
  const cell = (f: TabField) => {
    const def = defs.get(f.column);
    const type = String(def?.payload.AttributeType ?? "String");
    const format = (def?.payload.FormatName as { Value?: string } | undefined)?.Value;
    const classId =
      format === "Url" ? CLASS_IDS.Url : (CLASS_IDS[type as keyof typeof CLASS_IDS] ?? CLASS_IDS.String);
    return (
      `<row><cell id="${formGuid(`${prefix}:cell:${f.column}`)}" showlabel="true">${label(def?.display ?? f.column)}` +
      `<control id="${esc(controlId(f.column))}" classid="${classId}" datafieldname="${f.column}" disabled="${f.readOnly}" />` +
      `</cell></row>`
    );
  };
  const section = (s: TabSection) =>
    `<section name="${s.name}" showlabel="true" showbar="false" id="${formGuid(`${prefix}:section:${s.name}`)}" columns="1">` +
    `${label(s.label)}<rows>${s.fields.map(cell).join("")}</rows></section>`;
  const [deal, answer, microsoft, sync] = tabSections(c, prefix);
  const column = (sections: TabSection[], extra = "") =>
    `<column width="50%"><sections>${sections.map(section).join("")}${extra}</sections></column>`;
  return (
    `<tab name="${tabName(prefix)}" id="${formGuid(`${prefix}:tab`)}" expanded="true" showlabel="true" verticallayout="true">` +
    `${label(TAB_LABEL)}<columns>${column([deal!, answer!], subgridSections(prefix))}${column([microsoft!, sync!])}</columns></tab>`
  );
}

/** Where the tab named `name` sits in `formXml` (tabs do not nest, so its end is the next `</tab>`). */
export function findTab(formXml: string, name: string): { start: number; end: number } | undefined {
  const open = new RegExp(
    `<tab\\b[^>]*\\sname\\s*=\\s*(["'])${name.replace(/[^\w]/g, "\\$&")}\\1[^>]*>`,
    "i",
  ).exec(formXml);
  if (!open) return undefined;
  const close = formXml.indexOf("</tab>", open.index);
  if (close < 0) return undefined;
  return { start: open.index, end: close + "</tab>".length };
}

const ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };

/** The attributes of one start tag, entities decoded (however the stored XML escapes them). */
function attributes(tag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of tag.matchAll(/([\w:.-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/g))
    out[m[1]!] = (m[2] ?? m[3] ?? "").replace(/&(amp|lt|gt|quot|apos);/g, (_x, e: string) => ENTITIES[e]!);
  return out;
}

/** One `<control>` of a piece of FormXml. */
export interface FormControl {
  id?: string;
  classid?: string;
  datafieldname?: string;
  disabled?: string;
}

/** Every `<control>` in `xml`, in order. */
export function controlsIn(xml: string): FormControl[] {
  return [...xml.matchAll(/<control\b[^>]*>/g)].map((m) => attributes(m[0]));
}

/**
 * What makes the tab cosell's, as text: its label, then per section its name, label and controls
 * (column, class id, read-only or not). Whether Dataverse stores FormXml exactly as sent is not
 * documented; it may add attributes (`IsUserDefined`, `locklevel`, …), re-space or re-quote. Comparing
 * this rather than the text keeps a second setup from rewriting a tab that only looks different.
 */
export function tabSignature(tabXml: string): string {
  /** `xml` up to the first match of `stop` (all of it when there is none). */
  const upTo = (xml: string, stop: RegExp) => {
    const at = xml.search(stop);
    return at < 0 ? xml : xml.slice(0, at);
  };
  const labelText = (xml: string) => {
    const tag = /<label\b[^>]*>/.exec(xml)?.[0];
    return tag ? (attributes(tag).description ?? "") : "";
  };
  // `\b` keeps <sections> from splitting: the tab's own label comes before its first section.
  const [head = "", ...sections] = tabXml.split(/(?=<section\b)/);
  const tabLabel = labelText(upTo(head, /<columns\b/));
  const parts = sections.map((section) => {
    const open = /<section\b[^>]*>/.exec(section)?.[0] ?? "";
    const controls = controlsIn(section).map((x) => {
      const disabled = ["true", "1"].includes((x.disabled ?? "").toLowerCase());
      return `${x.datafieldname ?? ""}|${(x.classid ?? "").toUpperCase()}|${disabled}`;
    });
    return `${attributes(open).name ?? ""}:${labelText(upTo(section, /<rows\b/))}:${controls.join(",")}`;
  });
  return [tabLabel, ...parts].join("\n");
}

/**
 * The form with the Co-sell tab added (last among the tabs) or put back as cosell defines it, and
 * whether that changed anything. Nothing outside the tab changes.
 */
export function withCosellTab(
  formXml: string,
  c: CosellColumns,
  prefix: string,
): { formXml: string; changed: boolean; added: boolean } {
  const at = findTab(formXml, tabName(prefix));
  const outside = at ? formXml.slice(0, at.start) + formXml.slice(at.end) : formXml;
  const ids = new Set(controlsIn(outside).flatMap((x) => (x.id ? [x.id] : [])));
  const tab = buildTab(c, prefix, ids);
  if (at) {
    const current = formXml.slice(at.start, at.end);
    if (tabSignature(current) === tabSignature(tab)) return { formXml, changed: false, added: false };
    return { formXml: formXml.slice(0, at.start) + tab + formXml.slice(at.end), changed: true, added: false };
  }
  const close = formXml.lastIndexOf("</tabs>");
  if (close >= 0)
    return { formXml: formXml.slice(0, close) + tab + formXml.slice(close), changed: true, added: true };
  const empty = /<tabs\b[^>]*\/>/.exec(formXml);
  if (empty)
    return {
      formXml: `${formXml.slice(0, empty.index)}<tabs>${tab}</tabs>${formXml.slice(empty.index + empty[0].length)}`,
      changed: true,
      added: true,
    };
  const end = formXml.lastIndexOf("</form>");
  if (end < 0) throw new Error("The form's FormXml has no </form>.");
  return {
    formXml: `${formXml.slice(0, end)}<tabs>${tab}</tabs>${formXml.slice(end)}`,
    changed: true,
    added: true,
  };
}

/**
 * What is wrong with the Co-sell tab on this form (empty: nothing): missing, a column without a
 * control in it, or a status column a seller can edit there. `disabled` is a Boolean that the
 * reference writes as "0", "1", "true" or "false"; both spellings of true count.
 */
export function tabProblems(formXml: string, c: CosellColumns, prefix: string): string[] {
  const at = findTab(formXml, tabName(prefix));
  if (!at) return [`the "${TAB_LABEL}" tab is missing`];
  const controls = controlsIn(formXml.slice(at.start, at.end));
  const problems: string[] = [];
  const fields = tabSections(c, prefix).flatMap((s) => s.fields);
  const missing = fields.filter((f) => !controls.some((x) => x.datafieldname === f.column));
  if (missing.length) problems.push(`no control for ${missing.map((f) => f.column).join(", ")}`);
  const editable = fields.filter(
    (f) =>
      f.readOnly &&
      controls.some(
        (x) => x.datafieldname === f.column && !["true", "1"].includes((x.disabled ?? "").toLowerCase()),
      ),
  );
  if (editable.length)
    problems.push(`sellers can edit ${editable.map((f) => f.column).join(", ")} (not read-only)`);
  problems.push(...subgridProblems(formXml.slice(at.start, at.end), prefix));
  return problems;
}
