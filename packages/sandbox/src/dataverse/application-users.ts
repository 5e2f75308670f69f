import type { Env } from "./env.js";
import { isGuid, stableGuid } from "./ids.js";
import { createRow } from "./records/writes.js";
import { roleId, SEED_IDS } from "./seed.js";

/** An application (S2S) user to create for an Entra app registration. */
export interface ApplicationUserSpec {
  /** The app's client id, as in the tokens it gets. */
  clientId: string;
  /** Shown as `# <name>` (Dataverse's convention for application users). */
  name?: string;
  /** Security role names (see `SEED_ROLES`); none means every request is refused with PrivilegeDenied. */
  roles?: string[];
}

/**
 * The `applicationid` stored for a client id. Dataverse stores the app's GUID; sandbox client ids
 * that are not GUIDs are mapped to a stable GUID so the column keeps its type.
 */
export function applicationIdFor(clientId: string): string {
  return isGuid(clientId) ? clientId.toLowerCase() : stableGuid(`application:${clientId}`);
}

/** The `systemuserid` of the application user for `clientId`, if there is one. */
export function findApplicationUser(env: Env, clientId: string): string | undefined {
  const appId = applicationIdFor(clientId);
  for (const u of env.store.all("systemuser")) if (u.applicationid === appId) return String(u.systemuserid);
  return undefined;
}

/** Replaces a user's security roles; unknown role names throw. */
export function setUserRoles(env: Env, userId: string, roles: readonly string[]): void {
  for (const r of roles)
    if (!env.store.get("role", roleId(r)))
      throw new Error(
        `Unknown security role '${r}'. Known roles: ${[...env.store.all("role")].map((x) => x.name).join(", ")}`,
      );
  for (const existing of env.store.linked("systemuserroles", userId))
    env.store.unlink("systemuserroles", userId, existing);
  for (const r of roles) env.store.link("systemuserroles", userId, roleId(r));
}

/** Creates the application user for `spec.clientId` (or returns the existing one, roles unchanged). */
export function ensureApplicationUser(env: Env, spec: ApplicationUserSpec): string {
  const existing = findApplicationUser(env, spec.clientId);
  if (existing) return existing;
  const appId = applicationIdFor(spec.clientId);
  const id = stableGuid(`systemuser:application:${appId}`);
  const table = env.schema.require("systemuser");
  env.store.transaction(() => {
    createRow(
      env,
      table,
      {
        firstname: "#",
        lastname: spec.name ?? spec.clientId,
        applicationid: appId,
        azureactivedirectoryobjectid: stableGuid(`service-principal:${appId}`),
        accessmode: 4,
        "businessunitid@odata.bind": `/businessunits(${SEED_IDS.businessUnit})`,
      },
      { userId: SEED_IDS.systemUser },
      { id, internal: true },
    );
    setUserRoles(env, id, spec.roles ?? []);
  });
  return id;
}
