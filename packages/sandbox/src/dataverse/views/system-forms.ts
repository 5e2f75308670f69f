import type { Env } from "../env.js";
import { DataverseError, dvErrors } from "../errors.js";
import { subgridProblem } from "../schema/relationships.js";
import type { Row } from "../store/store.js";
import { toDataverseDateTime } from "../values.js";
import { FormXmlError, validateFormXml } from "./form-xml.js";

/**
 * Forms (`systemform` rows, learn.microsoft.com/power-apps/developer/data-platform/reference/entities/systemform):
 * a form's FormXml is checked on every create and update against the columns of its table, and
 * PublishXml stamps `publishedon` on the forms of the tables it names. Dataverse keeps unpublished
 * form changes apart (RetrieveUnpublished reads them); the sandbox stores a write at once and shows
 * publishing through `publishedon` only, which is what a test of "was it published" needs.
 */

/** `componenttype` of a form (systemform) in `solutioncomponent`. */
export const FORM_COMPONENT = 60;

/**
 * A FormXml Dataverse would refuse. Its error code for a bad FormXml is not documented; the sandbox
 * answers as for a bad view: QueryBuilderNoAttribute (0x80041103) for an unknown column,
 * InvalidArgument (0x80040203) otherwise.
 */
function invalidForm(e: Error): DataverseError {
  const code = /doesn't contain attribute/.test(e.message) ? "0x80041103" : "0x80040203";
  return new DataverseError(400, code, e.message);
}

/** Checks a created or updated form (the row as it will be stored); throws the Web API's 400. */
export function checkSystemForm(env: Env, row: Row, before?: Row): void {
  // ObjectTypeCode and Type are not valid for update (IsValidForUpdate False in the table
  // reference). Whether Dataverse ignores or refuses a change is not documented; the sandbox refuses.
  if (before && (before.objecttypecode !== row.objecttypecode || before.type !== row.type))
    throw dvErrors.badRequest(
      "The table (objecttypecode) and type of a form cannot be changed: create a new form instead.",
    );
  const entity = row.objecttypecode;
  if (typeof entity !== "string" || !entity)
    throw dvErrors.badRequest(
      "A form needs objecttypecode: the logical name of its table, e.g. 'opportunity'.",
    );
  const table = env.schema.table(entity);
  if (!table) throw dvErrors.badRequest(`The objecttypecode '${entity}' names no table.`);
  if (typeof row.name !== "string" || !row.name.trim()) throw dvErrors.badRequest("A form needs a name.");
  if (typeof row.formxml !== "string") throw dvErrors.badRequest("A form needs formxml.");
  try {
    validateFormXml(table, row.formxml, (relationship, target) =>
      subgridProblem(env, table, relationship, target),
    );
  } catch (e) {
    if (e instanceof FormXmlError) throw invalidForm(e);
    throw e;
  }
}

/** PublishXml / PublishAllXml: stamps `publishedon` on the forms of `tables` (every form when undefined). */
export function publishForms(env: Env, tables: string[] | undefined): void {
  const now = toDataverseDateTime(env.clock.now());
  const wanted = tables?.map((t) => t.toLowerCase());
  for (const form of [...env.store.all("systemform")]) {
    if (wanted && !wanted.includes(String(form.objecttypecode).toLowerCase())) continue;
    env.store.put("systemform", String(form.formid), {
      ...form,
      publishedon: now,
      versionnumber: env.store.nextVersion(),
    });
  }
}
