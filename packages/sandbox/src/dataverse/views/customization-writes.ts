import type { Env } from "../env.js";
import type { Row } from "../store/store.js";
import { addSolutionComponent, afterViewWrite } from "./saved-queries.js";
import { checkSystemForm, FORM_COMPONENT } from "./system-forms.js";

/**
 * What a write of a customization row entails besides storing it: a view or form is checked, and
 * the component joins the solution named by `MSCRM.SolutionUniqueName`. For a form, an update sent
 * with the header counts too: that is how an existing form (the out-of-the-box main form) becomes a
 * component of an unmanaged solution. Runs inside the request's transaction, so a refused write
 * leaves nothing behind.
 */
export function afterCustomizationWrite(
  env: Env,
  tableName: string,
  row: Row,
  solution: string | undefined,
  before?: Row,
): void {
  if (tableName === "savedquery") afterViewWrite(env, row, solution, before);
  else if (tableName === "systemform") {
    checkSystemForm(env, row, before);
    if (solution !== undefined) addSolutionComponent(env, solution, String(row.formid), FORM_COMPONENT);
  }
}
