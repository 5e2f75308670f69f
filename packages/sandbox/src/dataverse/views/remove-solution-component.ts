import type { Env } from "../env.js";
import { DataverseError, dvErrors } from "../errors.js";
import { isLookupRef } from "../store/store.js";
import { solutionNamed } from "./saved-queries.js";

/**
 * `RemoveSolutionComponent` (learn.microsoft.com/power-apps/developer/data-platform/webapi/reference/removesolutioncomponent):
 * takes `SolutionComponent` (a solutioncomponent), `ComponentType` and `SolutionUniqueName`, all
 * required, and answers `RemoveSolutionComponentResponse` with the `id` of the component removed
 * (…/reference/removesolutioncomponentresponse). What an admin does with "Remove from this solution"
 * in the maker portal: the component stays in the environment, only its membership goes.
 *
 * Learn does not say which id `SolutionComponent` carries: the solutioncomponent row's or the
 * component's own (the SDK's RemoveSolutionComponentRequest names it ComponentId). Both are taken.
 */
export function removeSolutionComponentAction(env: Env, body: Record<string, unknown>): { id: string } {
  const { SolutionComponent, ComponentType, SolutionUniqueName } = body;
  const given =
    SolutionComponent && typeof SolutionComponent === "object"
      ? (SolutionComponent as Record<string, unknown>).solutioncomponentid
      : undefined;
  if (
    typeof given !== "string" ||
    typeof ComponentType !== "number" ||
    typeof SolutionUniqueName !== "string"
  )
    throw dvErrors.badRequest(
      "RemoveSolutionComponent needs SolutionComponent (a solutioncomponent with its solutioncomponentid), ComponentType (Int32) and SolutionUniqueName (String).",
      "0x80060888",
    );
  const sol = solutionNamed(env, SolutionUniqueName);
  if (sol.ismanaged === true)
    throw dvErrors.badRequest(
      `The solution '${SolutionUniqueName}' is managed: components can only be removed from an unmanaged solution.`,
    );
  const id = given.toLowerCase();
  const row = [...env.store.all("solutioncomponent")].find(
    (c) =>
      (c.solutioncomponentid === id || c.objectid === id) &&
      c.componenttype === ComponentType &&
      isLookupRef(c.solutionid) &&
      c.solutionid.id === String(sol.solutionid),
  );
  if (!row)
    throw new DataverseError(
      404,
      "0x80040217",
      `The solution '${SolutionUniqueName}' has no component ${given} of ComponentType ${ComponentType}.`,
    );
  env.store.remove("solutioncomponent", String(row.solutioncomponentid));
  return { id: String(row.solutioncomponentid) };
}
