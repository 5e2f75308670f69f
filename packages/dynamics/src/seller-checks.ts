import type { VerifyReport } from "@cosell/core";
import { choiceColumns } from "./choice-columns.js";
import type { DynamicsConfig } from "./config.js";
import type { WebApiClient } from "./http.js";
import {
  findSellerRole,
  ROLE_COMPONENT,
  rolePrivilegeNames,
  SELLER_ROLE_NAME,
  solutionComponentIds,
  wantedPrivileges,
} from "./seller-role.js";

type Check = VerifyReport["checks"][number];

/** `componenttype` of a column and of a global choice in `solutioncomponent`. */
const ATTRIBUTE_COMPONENT = 2;
const OPTION_SET_COMPONENT = 9;

const SETUP_FIX = "Run `cosell setup`: it creates what is missing in the solution and changes nothing else.";

/**
 * What `cosell doctor` checks of the seller-facing choices, each named: the choice column on
 * opportunity, its global choice with every option cosell writes, and both in the solution.
 */
export async function checkChoiceColumns(http: WebApiClient, cfg: DynamicsConfig): Promise<Check> {
  const attrs = await http.getJson<{ value: { LogicalName: string; MetadataId: string }[] }>(
    "EntityDefinitions(LogicalName='opportunity')/Attributes?$select=LogicalName",
    "reading the opportunity columns",
  );
  const columnIds = new Map(attrs.value.map((a) => [a.LogicalName, a.MetadataId.toLowerCase()]));
  const sets = await http.getJson<{
    value: { Name: string; MetadataId: string; Options?: { Value: number }[] }[];
  }>("GlobalOptionSetDefinitions", "reading the global choices");
  const setByName = new Map(sets.value.map((s) => [s.Name.toLowerCase(), s]));
  const inSolution = async (type: number) =>
    (await solutionComponentIds(http, cfg.solutionUniqueName, type)) ?? new Set<string>();
  const columnsInSolution = await inSolution(ATTRIBUTE_COMPONENT);
  const setsInSolution = await inSolution(OPTION_SET_COMPONENT);
  const problems: string[] = [];
  const names: string[] = [];
  for (const choice of choiceColumns(cfg.publisherPrefix, cfg.optionValuePrefix)) {
    const column = choice.column.logicalName;
    names.push(column);
    const id = columnIds.get(column);
    const set = setByName.get(choice.optionSetName);
    if (!id)
      problems.push(`the choice column ${column} ("${choice.column.display}") is missing on opportunity`);
    else if (!columnsInSolution.has(id))
      problems.push(`${column} is not in solution "${cfg.solutionUniqueName}"`);
    if (!set) {
      problems.push(`the global choice ${choice.optionSetName} is missing`);
      continue;
    }
    if (!setsInSolution.has(set.MetadataId.toLowerCase()))
      problems.push(
        `the global choice ${choice.optionSetName} is not in solution "${cfg.solutionUniqueName}"`,
      );
    const values = new Set((set.Options ?? []).map((o) => o.Value));
    const wanted = (choice.optionSet.Options as { Value: number }[]).map((o) => o.Value);
    const lacking = wanted.filter((v) => !values.has(v));
    if (lacking.length) problems.push(`${choice.optionSetName} lacks the options ${lacking.join(", ")}`);
  }
  return problems.length
    ? {
        name: "choice columns",
        ok: false,
        detail: `${problems.join("; ")}.`,
        fix: `${SETUP_FIX} An option missing from a global choice means crm.optionValuePrefix differs from the one the choices were created with (docs/dynamics.md, "What sellers see").`,
      }
    : {
        name: "choice columns",
        ok: true,
        detail: `${names.join(", ")} exist, with their global choices, in the solution.`,
      };
}

/** The *Co-sell Seller* role: it exists, holds each privilege by name, and is in the solution. */
export async function checkSellerRole(http: WebApiClient, cfg: DynamicsConfig): Promise<Check> {
  const name = "seller security role";
  const who = await http.getJson<{ BusinessUnitId: string }>("WhoAmI", "WhoAmI");
  const roleId = await findSellerRole(http, who.BusinessUnitId);
  if (!roleId)
    return {
      name,
      ok: false,
      detail: `The security role "${SELLER_ROLE_NAME}" does not exist.`,
      fix: SETUP_FIX,
    };
  const problems: string[] = [];
  const held = await rolePrivilegeNames(http, roleId);
  const missing = (await wantedPrivileges(http, cfg)).filter((w) => !held.has(w.name.toLowerCase()));
  if (missing.length) problems.push(`it lacks ${missing.map((m) => m.name).join(", ")}`);
  const members = await solutionComponentIds(http, cfg.solutionUniqueName, ROLE_COMPONENT);
  if (!members?.has(roleId.toLowerCase())) problems.push(`it is not in solution "${cfg.solutionUniqueName}"`);
  return problems.length
    ? {
        name,
        ok: false,
        detail: `The security role "${SELLER_ROLE_NAME}": ${problems.join("; ")}.`,
        fix: `${SETUP_FIX} Or add the privileges in Power Apps → Settings → Security roles → ${SELLER_ROLE_NAME}.`,
      }
    : {
        name,
        ok: true,
        detail: `"${SELLER_ROLE_NAME}" holds its privileges and is in the solution; assign it to sellers (docs/dynamics.md, "What sellers see").`,
      };
}
