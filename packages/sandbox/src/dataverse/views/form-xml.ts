import type { TableDef } from "../schema/types.js";
import { parseXml, type XmlElement, XmlSyntaxError } from "./xml.js";

/**
 * FormXml, the layout of a form (`systemform.formxml`): `<form><tabs><tab><columns><column>
 * <sections><section><rows><row><cell><control id=… classid=… datafieldname=… />` (the FormXml
 * reference, learn.microsoft.com/previous-versions/dynamicscrm-2016/developers-guide/gg334472(v=crm.8)
 * for `<control>`; learn.microsoft.com/power-apps/developer/model-driven-apps/customize-entity-forms).
 * Checked here: well-formedness, the `<form>` root, that a tab's content sits where the schema puts
 * it, that every control bound with `datafieldname` names a column of the form's table, and that
 * control ids are unique on the form (the reference: "uniquely identifies the control on the form").
 * Everything else (header, footer, navigation, events, parameters) is kept as written and not
 * checked: the sandbox may accept a form Dataverse refuses for a reason it does not model.
 */

/** A FormXml the sandbox cannot accept. */
export class FormXmlError extends Error {}

/** Where each layout element may appear: child → the parents the FormXml schema gives it. */
const PARENTS: Record<string, string[]> = {
  tab: ["tabs"],
  columns: ["tab"],
  sections: ["column"],
  section: ["sections"],
  // The header and footer hold rows too.
  rows: ["section", "header", "footer"],
  row: ["rows"],
  cell: ["row"],
};

/** The bound columns of a form, in document order. */
export interface FormXmlSummary {
  /** `datafieldname` of every control that has one. */
  boundColumns: string[];
  /** Every control id. */
  controlIds: string[];
}

function walk(
  el: XmlElement,
  parent: XmlElement | undefined,
  visit: (el: XmlElement, parent?: XmlElement) => void,
) {
  visit(el, parent);
  for (const child of el.children) walk(child, el, visit);
}

/** `classid` of a subgrid control (the `<control>` reference's table). */
export const SUBGRID_CLASS_ID = "{E7A81278-8635-4D9E-8D4D-59480B391C5B}";

/**
 * Why a subgrid's `RelationshipName` / `TargetEntityType` cannot show on a form of the table
 * (undefined when they can).
 */
export type SubgridCheck = (relationship: string, target: string) => string | undefined;

/** Validates `text` as the FormXml of a form of `table`; throws {@link FormXmlError}. */
export function validateFormXml(table: TableDef, text: string, subgrid?: SubgridCheck): FormXmlSummary {
  let root: XmlElement;
  try {
    root = parseXml(text);
  } catch (e) {
    if (e instanceof XmlSyntaxError) throw new FormXmlError(`The FormXml is not well-formed: ${e.message}`);
    throw e;
  }
  if (root.name !== "form")
    throw new FormXmlError(`The FormXml root element must be <form>, not <${root.name}>.`);
  const boundColumns: string[] = [];
  const controlIds: string[] = [];
  const seen = new Set<string>();
  walk(root, undefined, (el, parent) => {
    const allowed = PARENTS[el.name];
    if (allowed && parent && !allowed.includes(parent.name))
      throw new FormXmlError(
        `<${el.name}> must be inside <${allowed.join("> or <")}>, not <${parent.name}>.`,
      );
    if (el.name === "tab" && !el.children.some((x) => x.name === "columns"))
      throw new FormXmlError(`The tab '${el.attributes.name ?? el.attributes.id ?? "?"}' needs <columns>.`);
    if (el.name !== "control") return;
    const id = el.attributes.id;
    if (id !== undefined) {
      if (seen.has(id.toLowerCase()))
        throw new FormXmlError(
          `The control id '${id}' is used twice on the form: every control needs its own id.`,
        );
      seen.add(id.toLowerCase());
      controlIds.push(id);
    }
    const field = el.attributes.datafieldname;
    if (field !== undefined && field !== "") {
      if (!table.columns.has(field))
        throw new FormXmlError(
          `'${table.logicalName}' entity doesn't contain attribute with Name = '${field}'.`,
        );
      boundColumns.push(field);
    }
    if (subgrid && el.attributes.classid?.toUpperCase() === SUBGRID_CLASS_ID) {
      const param = (name: string) =>
        el.children
          .find((x) => x.name === "parameters")
          ?.children.find((x) => x.name === name)
          ?.text.trim() ?? "";
      const problem = subgrid(param("RelationshipName"), param("TargetEntityType"));
      if (problem) throw new FormXmlError(`The subgrid '${id ?? "?"}': ${problem}`);
    }
    const disabled = el.attributes.disabled;
    if (disabled !== undefined && !["0", "1", "true", "false"].includes(disabled))
      throw new FormXmlError(
        `The disabled attribute of control '${id ?? field}' must be true, false, 1 or 0.`,
      );
  });
  return { boundColumns, controlIds };
}
