import { ConfigError, errorMessage, type VerifyReport } from "@cosell/core";
import type { CosellColumns } from "./columns.js";
import type { DynamicsConfig } from "./config.js";
import { TAB_LABEL, tabProblems, withCosellTab } from "./form.js";
import type { WebApiClient } from "./http.js";

/**
 * Setup and doctor for the Co-sell tab on the main Opportunity form. Forms are `systemform` rows
 * (learn.microsoft.com/power-apps/developer/data-platform/reference/entities/systemform): a main form
 * has `type` 2 and its table in `objecttypecode`; its layout is the `formxml` column, which an update
 * (PATCH) replaces whole (learn.microsoft.com/power-apps/developer/model-driven-apps/customize-entity-forms).
 * The update is sent with `MSCRM.SolutionUniqueName` so the form joins the cosell solution
 * (learn.microsoft.com/power-apps/developer/data-platform/webapi/create-update-entity-definitions-using-web-api).
 * That page documents the header for creating components; whether an update of an existing form
 * honours it is not spelled out, so setup then reads the solution's components (type 60 = system
 * form, learn.microsoft.com/power-apps/developer/data-platform/reference/entities/solutioncomponent)
 * and adds the form with `AddSolutionComponent` when it is not there.
 */

/** `componenttype` of a form in `solutioncomponent`. */
const FORM_COMPONENT = 60;
/** `systemform.type` of a main form. */
const MAIN_FORM = 2;

interface FormRow {
  formid: string;
  name: string;
  formxml?: string | null;
}

const quote = (s: string) => `'${s.replace(/'/g, "''")}'`;

/** The main opportunity forms (every one: the error for a wrong name lists them). */
async function mainForms(http: WebApiClient): Promise<FormRow[]> {
  const filter = `objecttypecode eq 'opportunity' and type eq ${MAIN_FORM}`;
  const res = await http.getJson<{ value: FormRow[] }>(
    `systemforms?$select=formid,name,formxml&$filter=${encodeURIComponent(filter)}`,
    "reading the main Opportunity forms",
  );
  return res.value;
}

/** The form named in `crm.form` (exact name first, then ignoring case), or a named error listing the others. */
export async function namedForm(http: WebApiClient, cfg: DynamicsConfig): Promise<FormRow> {
  const forms = await mainForms(http);
  const form =
    forms.find((f) => f.name === cfg.form) ??
    forms.find((f) => f.name.toLowerCase() === cfg.form.toLowerCase());
  if (form) return form;
  const names = forms.map((f) => `"${f.name}"`).join(", ");
  throw new ConfigError(
    "DYNAMICS_FORM_NOT_FOUND",
    forms.length
      ? `crm.form: the environment has no main Opportunity form named "${cfg.form}". Its main Opportunity forms are ${names}: set crm.form to the one sellers use, then run \`cosell setup\` again.`
      : `crm.form: the environment has no main Opportunity form at all, so the Co-sell tab has nowhere to go. Create one (Power Apps → Tables → Opportunity → Forms), set crm.form to its name, then run \`cosell setup\` again.`,
    { key: "crm.form", form: cfg.form, forms: forms.map((f) => f.name) },
  );
}

/** Whether the form is a component of the solution (false when the solution does not exist). */
async function inSolution(http: WebApiClient, solution: string, formId: string): Promise<boolean> {
  const sols = await http.getJson<{ value: { solutionid: string }[] }>(
    `solutions?$select=solutionid&$filter=${encodeURIComponent(`uniquename eq ${quote(solution)}`)}`,
    "reading the solution",
  );
  const id = sols.value[0]?.solutionid;
  if (!id) return false;
  const filter = `_solutionid_value eq ${id} and componenttype eq ${FORM_COMPONENT} and objectid eq ${formId}`;
  const comps = await http.getJson<{ value: unknown[] }>(
    `solutioncomponents?$select=objectid&$filter=${encodeURIComponent(filter)}`,
    "reading the solution's forms",
  );
  return comps.value.length > 0;
}

/**
 * Adds the Co-sell tab to the form, or puts it back as cosell defines it, and puts the form in the
 * cosell solution. `form` was read before anything was created (a wrong `crm.form` stops setup
 * early). Publishing is left to the caller; `written` says whether the FormXml changed.
 */
export async function ensureForm(
  http: WebApiClient,
  cfg: DynamicsConfig,
  c: CosellColumns,
  form: FormRow,
): Promise<{ created: string[]; unchanged: string[]; written: boolean }> {
  const label = `Tab "${TAB_LABEL}" on form "${form.name}"`;
  const next = withCosellTab(form.formxml ?? "", c, cfg.publisherPrefix);
  const created: string[] = [];
  const unchanged: string[] = [];
  if (next.changed) {
    await http.ok(
      {
        method: "PATCH",
        url: `systemforms(${form.formid})`,
        headers: { "MSCRM.SolutionUniqueName": cfg.solutionUniqueName },
        body: { formxml: next.formXml },
      },
      `adding the Co-sell tab to form "${form.name}"`,
    );
    created.push(next.added ? label : `${label}: put back as cosell defines it`);
  } else unchanged.push(label);
  if (!(await inSolution(http, cfg.solutionUniqueName, form.formid))) {
    await http.ok(
      {
        method: "POST",
        url: "AddSolutionComponent",
        body: {
          ComponentId: form.formid,
          ComponentType: FORM_COMPONENT,
          SolutionUniqueName: cfg.solutionUniqueName,
          AddRequiredComponents: false,
        },
      },
      `adding form "${form.name}" to solution ${cfg.solutionUniqueName}`,
    );
    created.push(`Form "${form.name}" added to solution "${cfg.solutionUniqueName}"`);
  }
  return { created, unchanged, written: next.changed };
}

/**
 * Doctor's check of the tab: the form named in `crm.form` exists, its Co-sell tab binds every column
 * cosell puts there, cosell's status columns are read-only on it, and the form is in the solution.
 */
export async function checkForm(
  http: WebApiClient,
  cfg: DynamicsConfig,
  c: CosellColumns,
): Promise<VerifyReport["checks"][number]> {
  const name = "form";
  let form: FormRow;
  let member: boolean;
  try {
    form = await namedForm(http, cfg);
    member = await inSolution(http, cfg.solutionUniqueName, form.formid);
  } catch (e) {
    if (e instanceof ConfigError)
      return {
        name,
        ok: false,
        detail: e.message,
        fix: "Set crm.form to the name of a main Opportunity form.",
      };
    // Doctor reports what it cannot read instead of stopping: the other checks still count.
    return {
      name,
      ok: false,
      detail: `Cannot read the Opportunity forms or the solution's components: ${errorMessage(e)}`,
      fix: "Give the application user read access to System Form and Solution Component (System Customizer has both), then run `cosell doctor` again.",
    };
  }
  const problems = tabProblems(form.formxml ?? "", c, cfg.publisherPrefix);
  if (!member) problems.push(`the form is not in solution ${cfg.solutionUniqueName}`);
  if (problems.length)
    return {
      name,
      ok: false,
      detail: `Co-sell tab on form "${form.name}": ${problems.join("; ")}.`,
      fix: `Run \`cosell setup\`: it puts the "${TAB_LABEL}" tab back as cosell defines it (your changes inside that tab are replaced; the rest of the form is kept), adds the form to the solution and publishes it.`,
    };
  return {
    name,
    ok: true,
    detail: `Form "${form.name}" has the "${TAB_LABEL}" tab with every co-sell column (cosell's status columns read-only), in solution ${cfg.solutionUniqueName}.`,
  };
}
