import type { SandboxResponse } from "../../kit/http.js";
import type { Env } from "../env.js";
import { dvErrors } from "../errors.js";
import { closeOpportunity } from "../records/close-opportunity.js";
import { removeSolutionComponentAction } from "../views/remove-solution-component.js";
import { addSolutionComponentAction } from "../views/saved-queries.js";
import { exportSolution } from "../views/solution-export.js";
import { publishForms } from "../views/system-forms.js";
import { type DvRequest, noContent, odataJson, readJson } from "./respond.js";

/**
 * Unbound functions and actions: `WhoAmI`, `WinOpportunity`, `LoseOpportunity`, `PublishXml`,
 * `PublishAllXml`, `AddSolutionComponent`, `RemoveSolutionComponent`, `ExportSolution`.
 */
export const OPERATIONS = new Set([
  "WhoAmI",
  "WinOpportunity",
  "LoseOpportunity",
  "PublishXml",
  "PublishAllXml",
  "AddSolutionComponent",
  "RemoveSolutionComponent",
  "ExportSolution",
]);

function badJson() {
  return dvErrors.badRequest("Invalid JSON. A token was not recognized in the JSON content.", "0x80060888");
}

/** Runs the unbound operation `name` (one of {@link OPERATIONS}). */
export function operationRoute(env: Env, name: string, req: DvRequest): SandboxResponse {
  const isFunction = name === "WhoAmI";
  if (isFunction ? req.method !== "GET" : req.method !== "POST")
    throw dvErrors.methodNotAllowed(req.method, req.url.pathname);
  switch (name) {
    case "WhoAmI": {
      const user = env.store.get("systemuser", req.caller.userId);
      const bu = user?.businessunitid;
      return odataJson(200, {
        "@odata.context": `${req.base}$metadata#Microsoft.Dynamics.CRM.WhoAmIResponse`,
        BusinessUnitId: bu && typeof bu === "object" ? bu.id : env.org.businessUnitId,
        UserId: req.caller.userId,
        OrganizationId: env.org.organizationId,
      });
    }
    case "WinOpportunity":
      closeOpportunity(env, "Won", readJson(req, badJson), req.caller);
      return noContent();
    case "LoseOpportunity":
      closeOpportunity(env, "Lost", readJson(req, badJson), req.caller);
      return noContent();
    case "PublishXml": {
      const body = readJson(req, badJson) as { ParameterXml?: unknown };
      if (
        typeof body.ParameterXml !== "string" ||
        !/<importexportxml>[\s\S]*<\/importexportxml>/.test(body.ParameterXml)
      )
        throw dvErrors.badRequest(
          'PublishXml needs ParameterXml, e.g. "<importexportxml><entities><entity>opportunity</entity></entities></importexportxml>".',
          "0x80060888",
        );
      // Publishing names tables; one the environment lacks is an error, not a silent no-op.
      const tables = [...body.ParameterXml.matchAll(/<entity>\s*([^<\s]+)\s*<\/entity>/g)].map((m) => m[1]!);
      for (const t of tables)
        if (!env.schema.table(t)) throw dvErrors.badRequest(`PublishXml: the entity '${t}' does not exist.`);
      // Publishing a table publishes its forms
      // (learn.microsoft.com/power-apps/developer/data-platform/webapi/reference/publishxml).
      publishForms(env, tables);
      return noContent();
    }
    case "PublishAllXml":
      publishForms(env, undefined);
      return noContent();
    case "AddSolutionComponent":
      addSolutionComponentAction(env, readJson(req, badJson) as Record<string, unknown>);
      return noContent();
    case "RemoveSolutionComponent":
      return odataJson(200, {
        "@odata.context": `${req.base}$metadata#Microsoft.Dynamics.CRM.RemoveSolutionComponentResponse`,
        ...removeSolutionComponentAction(env, readJson(req, badJson) as Record<string, unknown>),
      });
    case "ExportSolution":
      return odataJson(200, {
        "@odata.context": `${req.base}$metadata#Microsoft.Dynamics.CRM.ExportSolutionResponse`,
        ...exportSolution(env, readJson(req, badJson) as Record<string, unknown>),
      });
    default:
      return noContent();
  }
}
