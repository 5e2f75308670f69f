import { RemoteApiError, type VerifyReport } from "@cosell/core";
import type { SalesforceClient } from "./client.js";
import type { Row } from "./mapping.js";
import { metadataByName, metadataErrorText } from "./metadata-components.js";
import { hasRelatedRecords, solutionObjectSpecs } from "./solution-objects.js";

/** Metadata API limit: components per call. */
const METADATA_CHUNK = 10;

async function readAll(client: SalesforceClient, type: string, names: string[]): Promise<Row[]> {
  const out: Row[] = [];
  for (let i = 0; i < names.length; i += METADATA_CHUNK)
    out.push(...(await client.readMetadata(type, names.slice(i, i + METADATA_CHUNK))));
  return out;
}

async function createAll(client: SalesforceClient, type: string, components: Row[]): Promise<void> {
  for (let i = 0; i < components.length; i += METADATA_CHUNK) {
    const part = components.slice(i, i + METADATA_CHUNK);
    const res = await client.saveMetadata("create", type, part);
    res.forEach((r, k) => {
      if (!r.success)
        throw new RemoteApiError(
          "SALESFORCE_SETUP_FAILED",
          `Creating ${String(part[k]!.fullName)} failed: ${metadataErrorText(r.errors)}. The integration user needs "Modify Metadata Through Metadata API Functions" (or "Modify All Data").`,
        );
    });
  }
}

/** What is missing of the solution objects and their fields, by full name. */
async function missingParts(client: SalesforceClient): Promise<{ objects: Row[]; fields: Row[] }> {
  const specs = solutionObjectSpecs();
  const objects = await readAll(
    client,
    "CustomObject",
    specs.map((s) => s.fullName),
  );
  const fieldSpecs = specs.flatMap((s) => s.fields);
  const fields = await readAll(
    client,
    "CustomField",
    fieldSpecs.map((f) => String(f.fullName)),
  );
  return {
    objects: specs.filter((s) => !metadataByName(objects, s.fullName)).map((s) => s.metadata),
    fields: fieldSpecs.filter((f) => !metadataByName(fields, String(f.fullName))),
  };
}

/**
 * Creates the catalog, deal-solution and Microsoft-team objects and their fields where missing (the
 * objects first: a field names its object, a lookup its target). Existing ones are left as they are.
 */
export async function ensureSolutionObjects(
  client: SalesforceClient,
): Promise<{ created: string[]; unchanged: string[] }> {
  const { objects, fields } = await missingParts(client);
  await createAll(client, "CustomObject", objects);
  await createAll(client, "CustomField", fields);
  const created = [
    ...objects.map((o) => `Object ${String(o.fullName)} "${String(o.label)}"`),
    ...fields.map((f) => `Field ${String(f.fullName)}`),
  ];
  const unchanged = solutionObjectSpecs()
    .filter((s) => !objects.some((o) => o.fullName === s.fullName))
    .filter((s) => !fields.some((f) => String(f.fullName).startsWith(`${s.fullName}.`)))
    .map((s) => `Object ${s.fullName} and its fields`);
  return { created, unchanged };
}

/** Doctor's check: each solution object and field exists. Changes nothing. */
export async function verifySolutionObjects(
  client: SalesforceClient,
): Promise<VerifyReport["checks"][number]> {
  const name = "solution objects";
  try {
    const { objects, fields } = await missingParts(client);
    const lacking = [...objects, ...fields].map((c) => String(c.fullName));
    // Objects the integration user cannot read are left out of Opportunity's child relationships: the
    // adapter then keeps to the old text field, so say so.
    const visible = hasRelatedRecords(await client.describe("Opportunity"));
    if (!lacking.length && !visible)
      return {
        name,
        ok: false,
        detail:
          "The solution objects exist but the integration user cannot read them: solutions stay in the old text field and Microsoft's team is not shown.",
        fix: "Run `cosell setup` (grants Cosell_Sync access to the objects), and check Cosell_Sync is assigned to the integration user.",
      };
    return lacking.length
      ? {
          name,
          ok: false,
          detail: `Missing: ${lacking.join(", ")}. Sellers cannot pick catalog solutions and Microsoft's team is not shown; cosell keeps solutions in the old text field meanwhile.`,
          fix: "Run `cosell setup` (creates the objects Cosell_Solution__c, Cosell_Deal_Solution__c and Cosell_Microsoft_Team_Member__c and their fields, and grants access to them).",
        }
      : {
          name,
          ok: true,
          detail: `${solutionObjectSpecs()
            .map((s) => s.fullName)
            .join(", ")} exist with their fields.`,
        };
  } catch (e) {
    return {
      name,
      ok: false,
      detail: `Could not read the solution objects: ${(e as Error).message}`,
      fix: 'Give the integration user "Modify Metadata Through Metadata API Functions" (or "Modify All Data").',
    };
  }
}
