import { RemoteApiError, type VerifyReport } from "@cosell/core";
import type { SalesforceClient } from "./client.js";
import type { SalesforceFieldNames } from "./config.js";
import { customFieldSpecs, STATUS_KEYS } from "./custom-fields.js";
import type { Row } from "./mapping.js";
import { metadataErrorText } from "./metadata-components.js";
import { sellerObjectGrants, solutionFieldGrants } from "./solution-objects.js";
import { differingObjectGrants, fullObjectGrants } from "./solution-permissions.js";

/** The sellers' permission set (an admin assigns it; setup never does). */
export const SELLER_PERMISSION_SET = "Cosell_Seller";
const LABEL = "Co-sell Seller";
const DESCRIPTION =
  "For sellers: edit the co-sell fields they answer (opt-in, help, consents, favorite, sales stage, response, close reason), add and remove deal solutions; read cosell's status fields, the solution catalog and Microsoft's team.";

export interface FieldGrant {
  field: string;
  readable: true;
  editable: boolean;
}

/**
 * What sellers get: edit on the fields they fill in, read-only on the ones cosell writes from Partner
 * Center (STATUS_KEYS), so that a seller's edit there is not silently overwritten at the next sync.
 */
export function sellerFieldGrants(f: SalesforceFieldNames): FieldGrant[] {
  const status = new Set<string>(STATUS_KEYS);
  return customFieldSpecs(f).map((s) => ({
    field: s.fullName,
    readable: true,
    editable: !status.has(s.key),
  }));
}

/** Every field grant sellers get: the Opportunity fields and read on the solution objects' fields. */
function wantedGrants(f: SalesforceFieldNames): FieldGrant[] {
  return [...sellerFieldGrants(f), ...solutionFieldGrants(false)];
}

const yes = (v: unknown) => v === true || v === "true";

function currentGrants(ps: Row): Row[] {
  const v = ps.fieldPermissions;
  return (Array.isArray(v) ? v : [v]).filter((fp): fp is Row => !!fp && typeof fp === "object");
}

/** Grants that differ from what sellers should have (missing, not readable, edit where read-only is wanted or the reverse). */
function differing(ps: Row, wanted: FieldGrant[]): FieldGrant[] {
  const have = new Map(currentGrants(ps).map((fp) => [String(fp.field).toLowerCase(), fp] as const));
  return wanted.filter((w) => {
    const fp = have.get(w.field.toLowerCase());
    return !fp || !yes(fp.readable) || yes(fp.editable) !== w.editable;
  });
}

/** The permission set as created, for setup, a deploy or a metadata package. */
export function sellerPermissionSetMetadata(f: SalesforceFieldNames): Row {
  return {
    fullName: SELLER_PERMISSION_SET,
    label: LABEL,
    description: DESCRIPTION,
    fieldPermissions: wantedGrants(f),
    objectPermissions: sellerObjectGrants(),
  };
}

/**
 * Creates the permission set, or puts cosell's grants back. The update sends the FULL field list
 * (an update replaces the permission set's field permissions: "include all of its metadata to avoid
 * accidentally overwriting" it,
 * developer.salesforce.com/docs/platform/api-metadata/references/meta-types/metadata-permissionset.html);
 * grants on fields that are not cosell's are sent back as they were.
 */
export async function ensureSellerPermissionSet(
  client: SalesforceClient,
  f: SalesforceFieldNames,
): Promise<{ changed: boolean; line: string }> {
  const wanted = wantedGrants(f);
  const objects = sellerObjectGrants();
  // The report counts the Opportunity fields; the solution objects' grants are read-only but for deal solutions.
  const opportunityGrants = sellerFieldGrants(f);
  const editable = opportunityGrants.filter((w) => w.editable).length;
  const [ps] = await client.readMetadata("PermissionSet", [SELLER_PERMISSION_SET]);
  const present = typeof ps?.fullName === "string" && ps.fullName !== "";
  if (!present) {
    const [r] = await client.saveMetadata("create", "PermissionSet", [sellerPermissionSetMetadata(f)]);
    if (!r?.success)
      throw new RemoteApiError(
        "SALESFORCE_SETUP_FAILED",
        `Creating the permission set ${SELLER_PERMISSION_SET} failed: ${metadataErrorText(r?.errors)}. The integration user needs "Modify Metadata Through Metadata API Functions" (or "Modify All Data").`,
      );
    return {
      changed: true,
      line: `Permission set ${SELLER_PERMISSION_SET} for sellers (edit on ${editable} fields, read on ${opportunityGrants.length - editable}; assign it to sellers)`,
    };
  }
  const off = differing(ps!, wanted);
  const offObjects = differingObjectGrants(ps, objects);
  if (!off.length && !offObjects.length)
    return { changed: false, line: `Permission set ${SELLER_PERMISSION_SET}` };
  const ours = new Set(wanted.map((w) => w.field.toLowerCase()));
  const fieldPermissions = [
    ...currentGrants(ps!)
      .filter((fp) => !ours.has(String(fp.field).toLowerCase()))
      .map((fp) => ({ field: String(fp.field), readable: yes(fp.readable), editable: yes(fp.editable) })),
    ...wanted,
  ];
  const kept = Object.fromEntries(
    Object.entries(ps!).filter(
      ([k]) => !k.startsWith("$") && k !== "fieldPermissions" && k !== "objectPermissions",
    ),
  );
  const [r] = await client.saveMetadata("update", "PermissionSet", [
    {
      ...kept,
      fullName: SELLER_PERMISSION_SET,
      label: String(ps!.label ?? LABEL),
      fieldPermissions,
      objectPermissions: fullObjectGrants(ps, objects),
    },
  ]);
  if (!r?.success)
    throw new RemoteApiError(
      "SALESFORCE_SETUP_FAILED",
      `Updating the permission set ${SELLER_PERMISSION_SET} failed: ${metadataErrorText(r?.errors)}.`,
    );
  return {
    changed: true,
    line: `Permission set ${SELLER_PERMISSION_SET}: ${off.length} field grants${offObjects.length ? ` and the grants on ${offObjects.join(", ")}` : ""} restored`,
  };
}

/** Doctor's check: the permission set exists with the sellers' grants. Changes nothing. */
export async function verifySellerPermissionSet(
  client: SalesforceClient,
  f: SalesforceFieldNames,
): Promise<VerifyReport["checks"][number]> {
  const name = "seller permission set";
  const fix = `Run \`cosell setup\` (creates or restores ${SELLER_PERMISSION_SET}), then assign it to sellers: Setup → Permission Sets → ${LABEL} → Manage Assignments, or \`sf org assign permset --name ${SELLER_PERMISSION_SET} --on-behalf-of <username>\`.`;
  try {
    const [ps] = await client.readMetadata("PermissionSet", [SELLER_PERMISSION_SET]);
    if (typeof ps?.fullName !== "string" || ps.fullName === "")
      return {
        name,
        ok: false,
        detail: `${SELLER_PERMISSION_SET} is missing: sellers may not see or edit the co-sell fields.`,
        fix,
      };
    const off = [
      ...differing(ps, wantedGrants(f)).map((g) => g.field),
      ...differingObjectGrants(ps, sellerObjectGrants()),
    ];
    return off.length
      ? {
          name,
          ok: false,
          detail: `${SELLER_PERMISSION_SET} grants differ on ${off.join(", ")}.`,
          fix,
        }
      : { name, ok: true, detail: `${SELLER_PERMISSION_SET} exists (assign it to sellers).` };
  } catch (e) {
    return {
      name,
      ok: false,
      detail: `Could not read ${SELLER_PERMISSION_SET}: ${(e as Error).message}`,
      fix: 'Give the integration user "Modify Metadata Through Metadata API Functions" (or "Modify All Data").',
    };
  }
}
