import type { DynamicsConfig } from "./config.js";
import type { WebApiClient } from "./http.js";
import { solutionTableNames } from "./solution-tables.js";

/**
 * The *Co-sell Seller* security role: what a seller needs on opportunity and on cosell's own tables, so an
 * admin gives sellers what they need by assigning one role. Created in the cosell solution with the
 * `roles` table and the `AddPrivilegesRole` action
 * (learn.microsoft.com/power-apps/developer/data-platform/webapi/reference/addprivilegesrole);
 * privileges are looked up in `privileges` by name (`prv<Right><Table SchemaName>`, e.g.
 * `prvReadOpportunity`). The application user's own roles get the same rights on cosell's tables.
 */

export const SELLER_ROLE_NAME = "Co-sell Seller";

type Right = "Read" | "Write" | "Append" | "AppendTo" | "Create" | "Delete";
type TableRights = readonly { table: (prefix: string) => string; rights: readonly Right[] }[];

/**
 * The tables the role covers and the rights on each, by logical name from the publisher prefix. A
 * seller edits co-sell deals and relates catalog solutions to them: relating two rows needs Append on
 * one side and Append To on the other, for N:N on both (learn.microsoft.com/power-platform/admin/
 * security-roles-privileges, "Append", "Append To"). The catalog and Microsoft's team are cosell's
 * to write, so sellers only read them. Tables that do not exist in the environment are skipped, so a
 * table added by a later release needs one line here.
 */
export const SELLER_ROLE_TABLES: readonly { table: (prefix: string) => string; rights: readonly Right[] }[] =
  [
    { table: () => "opportunity", rights: ["Read", "Write", "Append", "AppendTo"] },
    { table: (p) => solutionTableNames(p).solution, rights: ["Read", "Append", "AppendTo"] },
    { table: (p) => solutionTableNames(p).team, rights: ["Read"] },
  ];

/**
 * What the application user's roles get on cosell's own tables (organization-wide): cosell fills the
 * catalog and writes and removes Microsoft's team rows. Opportunity is left to the admin's role.
 */
export const APPLICATION_USER_TABLES: TableRights = [
  {
    table: (p) => solutionTableNames(p).solution,
    rights: ["Read", "Write", "Create", "Delete", "Append", "AppendTo"],
  },
  {
    table: (p) => solutionTableNames(p).team,
    rights: ["Read", "Write", "Create", "Delete", "Append", "AppendTo"],
  },
];

/** `componenttype` of a security role in `solutioncomponent`. */
export const ROLE_COMPONENT = 20;

/**
 * Depth of each privilege: `Global` (organization) for reads, so sellers see the co-sell deals of
 * colleagues, and for Append To, so they relate any catalog entry (the catalog's rows are the
 * application user's); `Basic` (user) for writes and Append, so they change their own deals.
 */
const DEPTH: Record<Right, string> = {
  Read: "Global",
  Write: "Basic",
  Append: "Basic",
  AppendTo: "Global",
  Create: "Basic",
  Delete: "Basic",
};

const quote = (s: string) => `'${s.replace(/'/g, "''")}'`;

interface PrivilegeRow {
  privilegeid: string;
  name: string;
}

/** The privileges a role must hold for `tables` (default: the seller role's): name and depth. */
export async function wantedPrivileges(
  http: WebApiClient,
  cfg: DynamicsConfig,
  tables: TableRights = SELLER_ROLE_TABLES,
): Promise<{ table: string; name: string; depth: string }[]> {
  const defs = await http.getJson<{ value: { LogicalName: string; SchemaName: string }[] }>(
    "EntityDefinitions?$select=LogicalName,SchemaName",
    "reading the tables' names",
  );
  const schemaOf = new Map(defs.value.map((t) => [t.LogicalName, t.SchemaName]));
  return tables
    .map((t) => ({ table: t.table(cfg.publisherPrefix), rights: t.rights }))
    .filter((t) => schemaOf.has(t.table))
    .flatMap((t) =>
      t.rights.map((r) => ({ table: t.table, name: `prv${r}${schemaOf.get(t.table)}`, depth: DEPTH[r] })),
    );
}

/** Privilege rows by name (names the environment lacks are absent from the answer). */
export async function privilegesNamed(http: WebApiClient, names: readonly string[]): Promise<PrivilegeRow[]> {
  if (!names.length) return [];
  const filter = names.map((n) => `name eq ${quote(n)}`).join(" or ");
  return (
    await http.getJson<{ value: PrivilegeRow[] }>(
      `privileges?$select=privilegeid,name&$filter=${encodeURIComponent(filter)}`,
      "reading privileges",
    )
  ).value;
}

/** The names of the privileges a role holds (lower case). */
export async function rolePrivilegeNames(http: WebApiClient, roleId: string): Promise<Set<string>> {
  const rows = await http.getJson<{ value: { name: string }[] }>(
    `roles(${roleId})/roleprivileges_association?$select=name`,
    "reading the role's privileges",
  );
  return new Set(rows.value.map((p) => p.name.toLowerCase()));
}

/** The role named {@link SELLER_ROLE_NAME} in a business unit, if any. */
export async function findSellerRole(
  http: WebApiClient,
  businessUnitId: string,
): Promise<string | undefined> {
  const filter = `name eq ${quote(SELLER_ROLE_NAME)} and _businessunitid_value eq ${businessUnitId}`;
  const roles = await http.getJson<{ value: { roleid: string }[] }>(
    `roles?$select=roleid&$filter=${encodeURIComponent(filter)}`,
    "reading security roles",
  );
  return roles.value[0]?.roleid;
}

/** The ids of the components of one type in the solution; undefined when the solution does not exist. */
export async function solutionComponentIds(
  http: WebApiClient,
  solution: string,
  type: number,
): Promise<Set<string> | undefined> {
  const sols = await http.getJson<{ value: { solutionid: string }[] }>(
    `solutions?$select=solutionid&$filter=${encodeURIComponent(`uniquename eq ${quote(solution)}`)}`,
    "reading the solution",
  );
  const id = sols.value[0]?.solutionid;
  if (!id) return undefined;
  const comps = await http.getJson<{ value: { objectid: string }[] }>(
    `solutioncomponents?$select=objectid&$filter=${encodeURIComponent(`_solutionid_value eq ${id} and componenttype eq ${type}`)}`,
    "reading the solution's components",
  );
  return new Set(comps.value.map((c) => c.objectid.toLowerCase()));
}

async function addPrivileges(
  http: WebApiClient,
  roleId: string,
  businessUnitId: string,
  missing: readonly { row: PrivilegeRow; depth: string }[],
  what: string,
): Promise<void> {
  await http.ok(
    {
      method: "POST",
      url: `roles(${roleId})/Microsoft.Dynamics.CRM.AddPrivilegesRole`,
      body: {
        Privileges: missing.map((m) => ({
          PrivilegeId: m.row.privilegeid,
          BusinessUnitId: businessUnitId,
          Depth: m.depth,
        })),
      },
    },
    what,
  );
}

/**
 * Creates the role (once) in the application user's business unit, adds it to the solution, gives it
 * the privileges it lacks, and extends the application user's roles to cosell's own tables.
 */
export async function ensureSellerRole(
  http: WebApiClient,
  cfg: DynamicsConfig,
): Promise<{ created: string[]; unchanged: string[] }> {
  const created: string[] = [];
  const unchanged: string[] = [];
  const who = await http.getJson<{ UserId: string; BusinessUnitId: string }>("WhoAmI", "WhoAmI");
  const name = `Security role "${SELLER_ROLE_NAME}"`;
  let roleId = await findSellerRole(http, who.BusinessUnitId);
  if (roleId) unchanged.push(name);
  else {
    const res = await http.ok(
      {
        method: "POST",
        url: "roles",
        headers: { Prefer: "return=representation", "MSCRM.SolutionUniqueName": cfg.solutionUniqueName },
        body: {
          name: SELLER_ROLE_NAME,
          "businessunitid@odata.bind": `/businessunits(${who.BusinessUnitId})`,
        },
      },
      `creating the security role "${SELLER_ROLE_NAME}"`,
    );
    roleId = (JSON.parse(res.text) as { roleid: string }).roleid;
    created.push(name);
  }
  // Whether the header puts a role row in the solution is not documented (it is for metadata), so
  // membership is read back and added when missing.
  const members = await solutionComponentIds(http, cfg.solutionUniqueName, ROLE_COMPONENT);
  if (members?.has(roleId.toLowerCase())) unchanged.push(`${name} in solution "${cfg.solutionUniqueName}"`);
  else {
    await http.ok(
      {
        method: "POST",
        url: "AddSolutionComponent",
        body: {
          ComponentId: roleId,
          ComponentType: ROLE_COMPONENT,
          SolutionUniqueName: cfg.solutionUniqueName,
          AddRequiredComponents: false,
        },
      },
      `adding the security role "${SELLER_ROLE_NAME}" to solution ${cfg.solutionUniqueName}`,
    );
    created.push(`${name} added to solution "${cfg.solutionUniqueName}"`);
  }

  const wanted = await wantedPrivileges(http, cfg);
  const rows = new Map(
    (
      await privilegesNamed(
        http,
        wanted.map((w) => w.name),
      )
    ).map((r) => [r.name.toLowerCase(), r]),
  );
  const held = await rolePrivilegeNames(http, roleId);
  const missing = wanted
    .filter((w) => !held.has(w.name.toLowerCase()) && rows.has(w.name.toLowerCase()))
    .map((w) => ({ row: rows.get(w.name.toLowerCase())!, depth: w.depth }));
  if (missing.length) {
    await addPrivileges(
      http,
      roleId,
      who.BusinessUnitId,
      missing,
      `giving "${SELLER_ROLE_NAME}" its privileges`,
    );
    created.push(`${name}: ${missing.map((m) => m.row.name).join(", ")}`);
  } else unchanged.push(`${name}: privileges`);

  // The application user reads and writes cosell's own tables too: its roles get organization-wide
  // rights on them (opportunity is left to the admin's role, docs/dynamics.md).
  const ownTables = await wantedPrivileges(http, cfg, APPLICATION_USER_TABLES);
  const ownRows = new Map(
    (
      await privilegesNamed(
        http,
        ownTables.map((w) => w.name),
      )
    ).map((r) => [r.name.toLowerCase(), r]),
  );
  if (ownTables.length) {
    const roles = await http.getJson<{ value: { roleid: string; name: string }[] }>(
      `systemusers(${who.UserId})/systemuserroles_association?$select=roleid,name`,
      "reading the application user's security roles",
    );
    for (const role of roles.value.filter((r) => r.roleid.toLowerCase() !== roleId!.toLowerCase())) {
      const has = await rolePrivilegeNames(http, role.roleid);
      const lacking = ownTables
        .filter((w) => !has.has(w.name.toLowerCase()) && ownRows.has(w.name.toLowerCase()))
        .map((w) => ({ row: ownRows.get(w.name.toLowerCase())!, depth: "Global" }));
      if (!lacking.length) continue;
      await addPrivileges(
        http,
        role.roleid,
        who.BusinessUnitId,
        lacking,
        `extending the role "${role.name}"`,
      );
      created.push(
        `Role "${role.name}" of the application user: ${lacking.map((m) => m.row.name).join(", ")}`,
      );
    }
  }
  return { created, unchanged };
}
