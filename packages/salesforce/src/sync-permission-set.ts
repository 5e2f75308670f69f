import type { SalesforceConfig } from "./config.js";
import { customFieldSpecs } from "./custom-fields.js";
import { dunsGrant } from "./duns-field.js";
import type { Row } from "./mapping.js";
import { solutionFieldGrants, syncObjectGrants } from "./solution-objects.js";

export const SYNC_PERMISSION_SET_LABEL = "Cosell Sync";

/** The integration user's field grants: read and edit on every field cosell creates, and on the configured custom DUNS field. */
export function syncFieldGrants(
  config: Pick<SalesforceConfig, "fields">,
): { field: string; readable: true; editable: true }[] {
  return [
    ...customFieldSpecs(config.fields).map((s) => ({
      field: s.fullName,
      readable: true as const,
      editable: true as const,
    })),
    ...solutionFieldGrants(true).map((g) => ({
      field: g.field,
      readable: true as const,
      editable: true as const,
    })),
    ...dunsGrant(config.fields),
  ];
}

/** The integration user's permission set as created, for setup, a deploy or a metadata package. */
export function syncPermissionSetMetadata(config: Pick<SalesforceConfig, "fields" | "permissionSet">): Row {
  return {
    fullName: config.permissionSet,
    label: SYNC_PERMISSION_SET_LABEL,
    description: "Read and edit the co-sell fields cosell syncs with Microsoft Partner Center.",
    fieldPermissions: syncFieldGrants(config),
    objectPermissions: syncObjectGrants(),
  };
}
