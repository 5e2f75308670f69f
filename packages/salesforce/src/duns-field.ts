import { RemoteApiError, type VerifyReport } from "@cosell/core";
import type { SalesforceClient } from "./client.js";
import type { SalesforceFieldNames } from "./config.js";
import { metadataByName } from "./metadata-components.js";

/**
 * `crm.fields.accountDuns`: an Account field of the admin's that cosell reads and writes the
 * customer's DUNS number in. cosell does not create it, but a custom field is invisible to the
 * integration user until field-level security is granted (salesforce.md §6), and the adapter then
 * leaves the DUNS number out without a word. So the Cosell_Sync permission set grants read and edit
 * on it, which also makes the field a reference of the package: a check-only deploy on an org
 * without it names the permission set and the field.
 *
 * A standard field (`DunsNumber`) gets no grant: whether a permission set may carry field
 * permissions on it depends on the org's edition and licences, which nothing here settles; its
 * access stays the profile's, and doctor says when the integration user cannot see it.
 */
export function dunsFullName(f: Pick<SalesforceFieldNames, "accountDuns">): string | undefined {
  return f.accountDuns ? `Account.${f.accountDuns}` : undefined;
}

const isCustom = (name: string) => name.toLowerCase().endsWith("__c");

/** The Cosell_Sync grant on the configured custom DUNS field (none for a standard one or none configured). */
export function dunsGrant(
  f: Pick<SalesforceFieldNames, "accountDuns">,
): { field: string; readable: true; editable: true }[] {
  const name = dunsFullName(f);
  return name && isCustom(f.accountDuns!) ? [{ field: name, readable: true, editable: true }] : [];
}

/** Whether the org has the configured custom field, read through the Metadata API (which field-level security does not hide). */
async function customFieldExists(client: SalesforceClient, fullName: string): Promise<boolean> {
  return !!metadataByName(await client.readMetadata("CustomField", [fullName]), fullName);
}

const missingText = (fullName: string) =>
  `crm.fields.accountDuns names ${fullName}, which this org does not have. Create the field on Account (Setup → Object Manager → Account → Fields & Relationships), or remove crm.fields.accountDuns from the config; then run \`cosell setup\` again.`;

/**
 * Before setup grants on it: a configured custom DUNS field that the org lacks stops setup with the
 * fix, before anything is saved (the grant would be refused halfway through otherwise).
 */
export async function assertDunsFieldExists(
  client: SalesforceClient,
  f: Pick<SalesforceFieldNames, "accountDuns">,
): Promise<void> {
  const name = dunsFullName(f);
  if (!name || !isCustom(f.accountDuns!)) return;
  if (!(await customFieldExists(client, name)))
    throw new RemoteApiError("SALESFORCE_DUNS_FIELD_NOT_FOUND", missingText(name), {
      details: { field: name },
    });
}

/** Doctor's check of the DUNS field, when one is configured: it exists and the integration user can edit it. */
export async function verifyDunsField(
  client: SalesforceClient,
  f: Pick<SalesforceFieldNames, "accountDuns">,
  permissionSet: string,
): Promise<VerifyReport["checks"][number] | undefined> {
  const name = dunsFullName(f);
  if (!name) return undefined;
  const check = "account DUNS field";
  let exists: boolean;
  let account: { fields: Record<string, unknown>[] };
  try {
    exists = !isCustom(f.accountDuns!) || (await customFieldExists(client, name));
    account = await client.describe("Account");
  } catch (e) {
    // Doctor reports what it cannot read instead of stopping before the other checks.
    return {
      name: check,
      ok: false,
      detail: `Could not check ${name}: ${(e as Error).message}`,
      fix: 'Give the integration user "View Setup and Configuration" and "Modify Metadata Through Metadata API Functions" (or "Modify All Data").',
    };
  }
  if (!exists) return { name: check, ok: false, detail: `${name} does not exist.`, fix: missingText(name) };
  const field = account.fields.find((x) => String(x.name).toLowerCase() === f.accountDuns!.toLowerCase());
  if (field?.updateable === true)
    return {
      name: check,
      ok: true,
      detail: `${name} is read and written with the customer's DUNS number.`,
    };
  return {
    name: check,
    ok: false,
    detail: `${name} is ${field ? "read-only" : "not visible"} to the integration user: the customer's DUNS number is left out of the sync.`,
    fix: isCustom(f.accountDuns!)
      ? `Run \`cosell setup\` (grants read and edit on ${name} in the permission set ${permissionSet} and assigns it).`
      : `Give the integration user's profile read and edit on ${name}, or set crm.fields.accountDuns to a custom field.`,
  };
}
