import type { SandboxResponse } from "../../kit/http.js";
import type { Env } from "../env.js";
import { DataverseError, dvErrors } from "../errors.js";
import { stableGuid } from "../ids.js";
import { type DvRequest, noContent, readJson } from "../routes/respond.js";

/**
 * Security privileges as Dataverse names them: one per table and access right, `prv<Right><SchemaName>`
 * (e.g. `prvReadOpportunity`), with the `accessright` bit of the right
 * (learn.microsoft.com/power-apps/developer/data-platform/reference/entities/privilege). The rows are
 * derived from the tables, so a table created later gets its privileges as in the real service.
 * Roles hold them through `roleprivileges_association`, filled by `AddPrivilegesRole`.
 */

/** `accessright` of each right (AccessRights enumeration). */
export const ACCESS_RIGHTS: Readonly<Record<string, number>> = {
  Read: 1,
  Write: 2,
  Append: 4,
  AppendTo: 16,
  Create: 32,
  Delete: 65536,
  Share: 262144,
  Assign: 524288,
};

/** `PrivilegeDepth` by name and by number (Basic 0, Local 1, Deep 2, Global 3). */
const DEPTHS = ["Basic", "Local", "Deep", "Global"];

/** The id of a privilege, the same in every run (a role's privileges survive a reset). */
export function privilegeId(name: string): string {
  return stableGuid(`privilege:${name.toLowerCase()}`);
}

/** Adds the privilege rows of tables that have none yet. */
export function syncPrivileges(env: Env): void {
  for (const t of env.schema.tables()) {
    if (t.logicalName === "privilege") continue;
    for (const [right, bit] of Object.entries(ACCESS_RIGHTS)) {
      const name = `prv${right}${t.schemaName}`;
      const id = privilegeId(name);
      if (env.store.get("privilege", id)) continue;
      env.store.put("privilege", id, {
        privilegeid: id,
        name,
        accessright: bit,
        versionnumber: env.store.nextVersion(),
      });
    }
  }
}

/**
 * `AddPrivilegesRole` bound to a role
 * (learn.microsoft.com/power-apps/developer/data-platform/webapi/reference/addprivilegesrole):
 * `Privileges` is a list of `RolePrivilege` (`PrivilegeId`, `BusinessUnitId`, `Depth`). Adding a
 * privilege the role holds already changes nothing.
 */
export function addPrivilegesRole(env: Env, roleId: string, req: DvRequest): SandboxResponse {
  if (req.method !== "POST") throw dvErrors.methodNotAllowed(req.method, req.url.pathname);
  const id = roleId.toLowerCase();
  if (!env.store.get("role", id)) throw dvErrors.recordNotFound("role", roleId);
  const body = readJson(req, () => dvErrors.badRequest("Invalid JSON.", "0x80060888")) as {
    Privileges?: unknown;
  };
  if (!Array.isArray(body.Privileges) || body.Privileges.length === 0)
    throw dvErrors.badRequest(
      "AddPrivilegesRole needs Privileges: a list of RolePrivilege ({ PrivilegeId, BusinessUnitId, Depth }).",
      "0x80060888",
    );
  syncPrivileges(env);
  const wanted = body.Privileges.map((p: Record<string, unknown>) => {
    const pid = typeof p.PrivilegeId === "string" ? p.PrivilegeId.toLowerCase() : "";
    if (!env.store.get("privilege", pid))
      throw new DataverseError(
        404,
        "0x80040217",
        `privilege With Id = ${String(p.PrivilegeId)} Does Not Exist`,
      );
    const depth = p.Depth;
    if (!(typeof depth === "number" ? DEPTHS[depth] : DEPTHS.includes(String(depth))))
      throw dvErrors.badRequest(
        `Depth '${String(depth)}' is not a PrivilegeDepth: use Basic, Local, Deep or Global.`,
        "0x80060888",
      );
    return pid;
  });
  for (const pid of wanted) env.store.link("roleprivileges", id, pid);
  return noContent();
}

/**
 * `RemovePrivilegeRole` bound to a role
 * (learn.microsoft.com/power-apps/developer/data-platform/webapi/reference/removeprivilegerole):
 * takes away one privilege (`PrivilegeId`).
 */
export function removePrivilegeRole(env: Env, roleId: string, req: DvRequest): SandboxResponse {
  if (req.method !== "POST") throw dvErrors.methodNotAllowed(req.method, req.url.pathname);
  const id = roleId.toLowerCase();
  if (!env.store.get("role", id)) throw dvErrors.recordNotFound("role", roleId);
  const body = readJson(req, () => dvErrors.badRequest("Invalid JSON.", "0x80060888")) as {
    PrivilegeId?: unknown;
  };
  if (typeof body.PrivilegeId !== "string")
    throw dvErrors.badRequest("RemovePrivilegeRole needs PrivilegeId (Guid).", "0x80060888");
  env.store.unlink("roleprivileges", id, body.PrivilegeId);
  return noContent();
}
