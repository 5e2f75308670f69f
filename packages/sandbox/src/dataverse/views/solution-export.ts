import { strToU8, zipSync } from "fflate";
import type { Env } from "../env.js";
import { dvErrors } from "../errors.js";
import { isLookupRef } from "../store/store.js";
import { solutionNamed } from "./saved-queries.js";

/** `componenttype` values whose root component is named by schema name rather than id. */
const ENTITY = 1;

const xmlAttr = (s: string) =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

/**
 * `ExportSolution` (learn.microsoft.com/power-apps/developer/data-platform/webapi/reference/exportsolution):
 * `SolutionName` and `Managed` are required; the answer's `ExportSolutionFile` is the solution zip,
 * base64. The sandbox's zip holds what an admin checks before moving a solution on: `solution.xml`
 * with its manifest and one `RootComponent` per component of the solution (a table by its schema
 * name, anything else by its id), plus `customizations.xml` and `[Content_Types].xml` as in a real
 * export. The component definitions themselves (FormXml, FetchXml, attribute metadata) are not
 * written into `customizations.xml`: the sandbox cannot be imported from its own export.
 */
export function exportSolution(env: Env, body: Record<string, unknown>): { ExportSolutionFile: string } {
  const { SolutionName, Managed } = body;
  if (typeof SolutionName !== "string" || typeof Managed !== "boolean")
    throw dvErrors.badRequest(
      "ExportSolution needs SolutionName (String) and Managed (Boolean).",
      "0x80060888",
    );
  const sol = solutionNamed(env, SolutionName);
  const solutionId = String(sol.solutionid);
  const components = [...env.store.all("solutioncomponent")].filter(
    (c) => isLookupRef(c.solutionid) && c.solutionid.id === solutionId,
  );
  const tables = new Map(env.schema.tables().map((t) => [t.metadataId.toLowerCase(), t.schemaName]));
  const roots = components.map((c) => {
    const type = Number(c.componenttype);
    const id = String(c.objectid);
    const schemaName = type === ENTITY ? tables.get(id.toLowerCase()) : undefined;
    return schemaName
      ? `      <RootComponent type="${type}" schemaName="${xmlAttr(schemaName)}" behavior="0" />`
      : `      <RootComponent type="${type}" id="{${xmlAttr(id)}}" behavior="0" />`;
  });
  const publisher = isLookupRef(sol.publisherid) ? env.store.get("publisher", sol.publisherid.id) : undefined;
  const solutionXml = [
    `<?xml version="1.0" encoding="utf-8"?>`,
    `<ImportExportXml version="9.2" SolutionPackageVersion="9.2" languagecode="1033" generatedBy="CrmLive">`,
    "  <SolutionManifest>",
    `    <UniqueName>${xmlAttr(String(sol.uniquename))}</UniqueName>`,
    `    <Version>${xmlAttr(String(sol.version ?? "1.0.0.0"))}</Version>`,
    `    <Managed>${Managed ? 1 : 0}</Managed>`,
    "    <Publisher>",
    `      <UniqueName>${xmlAttr(String(publisher?.uniquename ?? ""))}</UniqueName>`,
    `      <CustomizationPrefix>${xmlAttr(String(publisher?.customizationprefix ?? ""))}</CustomizationPrefix>`,
    "    </Publisher>",
    "    <RootComponents>",
    ...roots,
    "    </RootComponents>",
    "    <MissingDependencies />",
    "  </SolutionManifest>",
    "</ImportExportXml>",
    "",
  ].join("\n");
  const zip = zipSync({
    "[Content_Types].xml": strToU8(
      '<?xml version="1.0" encoding="utf-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="xml" ContentType="application/octet-stream" /></Types>',
    ),
    "solution.xml": strToU8(solutionXml),
    "customizations.xml": strToU8(
      '<?xml version="1.0" encoding="utf-8"?>\n<ImportExportXml xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><Entities /><Roles /><Workflows /></ImportExportXml>\n',
    ),
  });
  return { ExportSolutionFile: Buffer.from(zip).toString("base64") };
}
