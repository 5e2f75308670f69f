import { errorMessage, RemoteApiError, type SetupReport, type VerifyReport } from "@cosell/core";
import { ensureChoiceColumns } from "./choice-setup.js";
import { type CosellColumns, columnDefinitions, referralKeyDefinition } from "./columns.js";
import type { DynamicsConfig } from "./config.js";
import { checkForm, ensureForm, namedForm } from "./form-setup.js";
import type { EntraDirectory } from "./graph.js";
import type { WebApiClient } from "./http.js";
import { checkChoiceColumns, checkSellerRole } from "./seller-checks.js";
import { ensureSellerRole } from "./seller-role.js";
import { ensureOwnComponentsInSolution } from "./solution-membership.js";
import { checkSolutionTables, ensureSolutionTables, finishSolutionTables } from "./solution-setup.js";
import { solutionTableDefinitions } from "./solution-tables.js";
import { checkViews, ensureViews } from "./view-setup.js";

const OPPORTUNITY = "EntityDefinitions(LogicalName='opportunity')";

/** A `Label` as the metadata API answers it. */
interface Label {
  UserLocalizedLabel?: { Label?: string } | null;
  LocalizedLabels?: { Label?: string; LanguageCode?: number }[];
}

interface OpportunityMetadata {
  ChangeTrackingEnabled?: boolean;
  Attributes?: { LogicalName: string; Description?: Label | null }[];
  Keys?: { SchemaName: string; KeyAttributes?: string[]; EntityKeyIndexStatus?: string }[];
}

async function opportunityMetadata(http: WebApiClient): Promise<OpportunityMetadata> {
  return http.getJson<OpportunityMetadata>(
    `${OPPORTUNITY}?$select=LogicalName,ChangeTrackingEnabled&$expand=Attributes($select=LogicalName,Description),Keys`,
    "reading the opportunity table's metadata",
    { Consistency: "Strong" },
  );
}

/** The English text of a label (the user's language first). */
function labelText(l: Label | null | undefined): string | undefined {
  return l?.UserLocalizedLabel?.Label ?? l?.LocalizedLabels?.find((x) => x.LanguageCode === 1033)?.Label;
}

/**
 * Creates what the adapter needs, skipping what exists: the publisher (prefix) and unmanaged
 * solution, the custom columns on opportunity, the alternate key on the referral id, change tracking
 * on opportunity (unless `changeTracking: off`), the co-sell views (view-setup.ts), the Co-sell tab
 * on the main form (form-setup.ts), then publishes the opportunity table. A column
 * whose meaning changed in a release (the consent column's did) and still carries the description an
 * earlier setup gave it gets its labels rewritten in place; a description an admin wrote is kept.
 */
/** What setup needs besides the client: a way to wait, a clock, and where progress lines go. */
export interface SetupDeps {
  sleep(ms: number): Promise<void>;
  now(): Date;
  logger?: { info(obj: object, msg: string): void };
}

/** Between two reads of the key's index status. */
const KEY_POLL_MS = 5_000;

/** An alternate key setup waits for: where it is, and what the rows that break its index share. */
export interface KeyToWaitFor {
  /** Table logical name. */
  table: string;
  /** Its display name in messages (Power Apps → Tables → …). */
  tableLabel: string;
  schemaName: string;
  column: string;
  /** Why an index fails, e.g. "opportunities share a referral id". */
  duplicates: string;
}

/**
 * Waits until an alternate key's index is built (the referral id's, the catalog's). Dataverse builds it with an
 * asynchronous system job; `EntityKeyIndexStatus` goes Pending → InProgress → Active, or Failed
 * (learn.microsoft.com/power-apps/developer/data-platform/webapi/reference/entitykeyindexstatus;
 * learn.microsoft.com/power-apps/developer/data-platform/define-alternate-keys-entity). Until it is
 * Active an upsert by the key is refused, so setup does not report success before. One progress
 * line per poll; Failed is a named error with the fix; waiting longer than `keyIndexTimeoutMs` stops
 * with what to do.
 */
export async function waitForKeyIndex(
  http: WebApiClient,
  cfg: DynamicsConfig,
  key: KeyToWaitFor,
  deps: SetupDeps,
): Promise<string> {
  const logical = key.schemaName.toLowerCase();
  const start = deps.now().getTime();
  for (;;) {
    const found = await http.getJson<{ EntityKeyIndexStatus?: string }>(
      `EntityDefinitions(LogicalName='${key.table}')/Keys(LogicalName='${logical}')?$select=EntityKeyIndexStatus`,
      `reading the index status of the alternate key ${key.schemaName}`,
      { Consistency: "Strong" },
    );
    const status = found.EntityKeyIndexStatus ?? "Active";
    const waited = Math.round((deps.now().getTime() - start) / 1000);
    if (status === "Active") return `${waited} s`;
    if (status === "Failed")
      throw new RemoteApiError(
        "DATAVERSE_KEY_INDEX_FAILED",
        `Dataverse could not build the index of the alternate key ${key.schemaName} on ${key.column} (EntityKeyIndexStatus Failed), usually because ${key.duplicates}. Clear or fix the duplicate ${key.column} values, then reactivate the key (Power Apps → Tables → ${key.tableLabel} → Keys, or the ReactivateEntityKey action) and run \`cosell setup\` again.`,
      );
    if (deps.now().getTime() - start >= cfg.keyIndexTimeoutMs)
      throw new RemoteApiError(
        "DATAVERSE_KEY_INDEX_PENDING",
        `The alternate key ${key.schemaName} is still ${status} after ${waited} s: Dataverse builds its index in a system job that can take longer on large tables. Run \`cosell setup\` again later (it waits again and creates nothing twice), or raise crm.keyIndexTimeoutMs.`,
      );
    deps.logger?.info(
      { key: key.schemaName, status, waitedSeconds: waited },
      `Waiting for Dataverse to build the index of the alternate key ${key.schemaName}: ${status} (${waited} s so far)`,
    );
    await deps.sleep(KEY_POLL_MS);
  }
}

export async function runSetup(
  http: WebApiClient,
  cfg: DynamicsConfig,
  c: CosellColumns,
  deps: SetupDeps,
): Promise<SetupReport> {
  const created: string[] = [];
  const unchanged: string[] = [];
  const prefix = cfg.publisherPrefix;
  // Read first: a crm.form naming no form stops setup before anything is created.
  const form = await namedForm(http, cfg);

  const pubs = await http.getJson<{ value: { publisherid: string }[] }>(
    `publishers?$select=publisherid&$filter=${encodeURIComponent(`customizationprefix eq '${prefix}'`)}`,
    "reading publishers",
  );
  let publisherId = pubs.value[0]?.publisherid;
  if (publisherId) unchanged.push(`Publisher with prefix "${prefix}"`);
  else {
    const res = await http.ok(
      {
        method: "POST",
        url: "publishers",
        headers: { Prefer: "return=representation" },
        body: {
          uniquename: prefix,
          friendlyname: `${prefix} (cosell co-sell sync)`,
          customizationprefix: prefix,
          customizationoptionvalueprefix: cfg.optionValuePrefix,
        },
      },
      "creating the publisher",
    );
    publisherId = (JSON.parse(res.text) as { publisherid: string }).publisherid;
    created.push(`Publisher with prefix "${prefix}"`);
  }

  const sols = await http.getJson<{ value: unknown[] }>(
    `solutions?$select=solutionid&$filter=${encodeURIComponent(`uniquename eq '${cfg.solutionUniqueName}'`)}`,
    "reading solutions",
  );
  if (sols.value.length) unchanged.push(`Solution "${cfg.solutionUniqueName}"`);
  else {
    await http.ok(
      {
        method: "POST",
        url: "solutions",
        body: {
          uniquename: cfg.solutionUniqueName,
          friendlyname: "cosell co-sell sync",
          version: "1.0.0.0",
          "publisherid@odata.bind": `/publishers(${publisherId})`,
        },
      },
      "creating the solution",
    );
    created.push(`Solution "${cfg.solutionUniqueName}"`);
  }

  const meta = await opportunityMetadata(http);
  const have = new Map((meta.Attributes ?? []).map((a) => [a.LogicalName, a]));
  const solutionHeader = { "MSCRM.SolutionUniqueName": cfg.solutionUniqueName };
  for (const col of columnDefinitions(prefix, cfg.optionValuePrefix)) {
    const name = `Column ${col.logicalName} ("${col.display}")`;
    const existing = have.get(col.logicalName);
    if (existing) {
      if (!col.earlierDescriptions?.includes(labelText(existing.Description) ?? "")) {
        unchanged.push(name);
        continue;
      }
      // As Microsoft documents it: read the definition, change the labels, PUT it back whole
      // (PUT replaces the definition; MergeLabels keeps the labels of other languages).
      const path = `${OPPORTUNITY}/Attributes(LogicalName='${col.logicalName}')/${String(col.payload["@odata.type"])}`;
      const current = await http.getJson<Record<string, unknown>>(path, `reading column ${col.logicalName}`);
      const { "@odata.context": _context, ...definition } = current;
      await http.ok(
        {
          method: "PUT",
          url: `${OPPORTUNITY}/Attributes(LogicalName='${col.logicalName}')`,
          headers: { ...solutionHeader, "MSCRM.MergeLabels": "true" },
          body: {
            ...definition,
            "@odata.type": col.payload["@odata.type"],
            DisplayName: col.payload.DisplayName,
            Description: col.payload.Description,
          },
        },
        `updating the description of column ${col.logicalName}`,
      );
      created.push(`${name}: description says what it now means`);
      continue;
    }
    await http.ok(
      { method: "POST", url: `${OPPORTUNITY}/Attributes`, headers: solutionHeader, body: col.payload },
      `creating column ${col.logicalName}`,
    );
    created.push(name);
  }

  const choices = await ensureChoiceColumns(http, cfg, new Set(have.keys()), deps);
  created.push(...choices.created);
  unchanged.push(...choices.unchanged);

  const keyName = `Alternate key ${c.referralKey} on ${c.referralId}`;
  const existingKey = (meta.Keys ?? []).find(
    (k) => k.SchemaName.toLowerCase() === c.referralKey.toLowerCase(),
  );
  if (!existingKey) {
    await http.ok(
      {
        method: "POST",
        url: `${OPPORTUNITY}/Keys`,
        headers: solutionHeader,
        body: referralKeyDefinition(prefix),
      },
      "creating the referral id alternate key",
    );
  }
  // A key created now, or by an earlier run that stopped waiting (or failed since), is waited for
  // once everything else is in place.
  const keyIndex = !existingKey
    ? "created"
    : existingKey.EntityKeyIndexStatus !== undefined && existingKey.EntityKeyIndexStatus !== "Active"
      ? "building"
      : "active";
  if (keyIndex === "active") unchanged.push(keyName);

  if (cfg.changeTracking !== "off") {
    if (meta.ChangeTrackingEnabled) unchanged.push("Change tracking on opportunity");
    else {
      await http.ok(
        {
          method: "PUT",
          url: OPPORTUNITY,
          headers: { "MSCRM.MergeLabels": "true" },
          body: {
            "@odata.type": "Microsoft.Dynamics.CRM.EntityMetadata",
            LogicalName: "opportunity",
            ChangeTrackingEnabled: true,
          },
        },
        "turning on change tracking for opportunity",
      );
      created.push("Change tracking on opportunity");
    }
  }

  const own = await ensureSolutionTables(http, {
    prefix,
    optionValuePrefix: cfg.optionValuePrefix,
    solutionUniqueName: cfg.solutionUniqueName,
  });
  created.push(...own.created);
  unchanged.push(...own.unchanged);

  // Views query the columns above and the form binds them, so both come after them; one publish
  // covers all three.
  const publish = created.length > 0 || keyIndex === "created";
  const views = await ensureViews(http, cfg, c);
  created.push(...views.created);
  unchanged.push(...views.unchanged);
  const tab = await ensureForm(http, cfg, c, form);
  created.push(...tab.created);
  unchanged.push(...tab.unchanged);
  const role = await ensureSellerRole(http, cfg);
  created.push(...role.created);
  unchanged.push(...role.unchanged);
  // After `publish` was decided: putting a table back in the solution needs no publish.
  const members = await ensureOwnComponentsInSolution(http, cfg.solutionUniqueName, own.components);
  created.push(...members.created);
  unchanged.push(...members.unchanged);

  const ownTables = solutionTableDefinitions(prefix, cfg.optionValuePrefix)
    .map((t) => `<entity>${t.logicalName}</entity>`)
    .join("");
  if (publish || views.written || tab.written)
    await http.ok(
      {
        method: "POST",
        url: "PublishXml",
        body: {
          ParameterXml: `<importexportxml><entities><entity>opportunity</entity>${ownTables}</entities></importexportxml>`,
        },
      },
      // Publishing the table publishes its views and forms too
      // (learn.microsoft.com/power-apps/developer/data-platform/webapi/reference/publishxml).
      "publishing the opportunity table, its views and its form",
    );
  if (keyIndex !== "active") {
    const took = await waitForKeyIndex(
      http,
      cfg,
      {
        table: "opportunity",
        tableLabel: "Opportunity",
        schemaName: c.referralKey,
        column: c.referralId,
        duplicates: "opportunities share a referral id",
      },
      deps,
    );
    (keyIndex === "created" ? created : unchanged).push(`${keyName} (index Active after ${took})`);
  }
  const rows = await finishSolutionTables(http, cfg, c, own, (key) => waitForKeyIndex(http, cfg, key, deps));
  created.push(...rows.created);
  unchanged.push(...rows.unchanged);
  return { created, unchanged };
}

type Check = VerifyReport["checks"][number];

/**
 * Checks, without changing anything: the app can sign in and is an application user with a security
 * role, every custom column and the alternate key exist (key index Active), change tracking (or the
 * polling fallback), the co-sell views (in the solution), the Co-sell tab on the main form, and the
 * Graph permission used to complete team members.
 */
export async function runVerify(
  http: WebApiClient,
  cfg: DynamicsConfig,
  c: CosellColumns,
  directory: EntraDirectory | undefined,
): Promise<VerifyReport> {
  const checks: Check[] = [];
  const fail = (name: string, detail: string, fix: string) => checks.push({ name, ok: false, detail, fix });
  const pass = (name: string, detail: string, fix?: string) =>
    checks.push({ name, ok: true, detail, ...(fix ? { fix } : {}) });

  let userId: string | undefined;
  try {
    userId = (await http.getJson<{ UserId: string }>("WhoAmI", "WhoAmI")).UserId;
    pass("connection", `Signed in to ${new URL(http.url("")).origin} as application user ${userId}.`);
  } catch (e) {
    fail(
      "connection",
      `Cannot call the Web API: ${errorMessage(e)}`,
      "Check tenantId, clientId and the secret/certificate; add the app as an application user of this environment (Power Platform admin center → Environments → Settings → Users + permissions → Application users).",
    );
    return { ok: false, checks };
  }

  try {
    const roles = await http.getJson<{ value: { name: string }[] }>(
      `systemusers(${userId})/systemuserroles_association?$select=name`,
      "reading the application user's security roles",
    );
    if (roles.value.length)
      pass("security role", `The application user has: ${roles.value.map((r) => r.name).join(", ")}.`);
    else
      fail(
        "security role",
        "The application user has no security role, so Dataverse refuses every read and write.",
        "Give the application user a security role with organization-level read/write/create on Opportunity, Account, Contact and read on Campaign, Currency and User, plus System Customizer for setup (docs/dynamics.md).",
      );
  } catch (e) {
    const status = e instanceof RemoteApiError ? e.status : undefined;
    fail(
      "security role",
      status === 403
        ? "Dataverse refused to read the application user's roles (PrivilegeDenied): it has no usable security role."
        : `Cannot read the roles: ${errorMessage(e)}`,
      'Assign a security role to the application user in the Power Platform admin center (docs/dynamics.md, "Application user and security role").',
    );
    return { ok: false, checks };
  }

  const meta = await http.getJson<{
    ChangeTrackingEnabled?: boolean;
    Attributes?: { LogicalName: string }[];
    Keys?: { SchemaName: string; EntityKeyIndexStatus?: string }[];
  }>(
    `EntityDefinitions(LogicalName='opportunity')?$select=LogicalName,ChangeTrackingEnabled&$expand=Attributes($select=LogicalName),Keys`,
    "reading the opportunity table's metadata",
  );
  const have = new Set((meta.Attributes ?? []).map((a) => a.LogicalName));
  const missing = columnDefinitions(cfg.publisherPrefix, cfg.optionValuePrefix)
    .map((d) => d.logicalName)
    .filter((n) => !have.has(n));
  if (missing.length)
    fail(
      "custom columns",
      `Missing on opportunity: ${missing.join(", ")}.`,
      "Run `cosell setup` (or create them in the solution with these names).",
    );
  else pass("custom columns", `All cosell columns (${c.syncFlag}, ${c.referralId}, …) exist on opportunity.`);
  await checkChoices(http, cfg, have, pass, fail);

  const key = (meta.Keys ?? []).find((k) => k.SchemaName.toLowerCase() === c.referralKey.toLowerCase());
  if (!key)
    fail(
      "alternate key",
      `No alternate key ${c.referralKey} on ${c.referralId}: inbound creates cannot be idempotent.`,
      "Run `cosell setup`.",
    );
  else if (key.EntityKeyIndexStatus && key.EntityKeyIndexStatus !== "Active")
    fail(
      "alternate key",
      `The alternate key ${c.referralKey} is ${key.EntityKeyIndexStatus}; upserts by referral id fail until it is Active.`,
      key.EntityKeyIndexStatus === "Failed"
        ? "Remove duplicate referral ids from opportunities, then reactivate the key (Settings → Customizations → Opportunity → Keys)."
        : "Wait a few minutes for Dataverse to build the index, then verify again.",
    );
  else pass("alternate key", `${c.referralKey} is Active.`);

  if (cfg.changeTracking === "off")
    pass("change feed", "Polling modifiedon (changeTracking: off in config); deletes are not seen.");
  else if (meta.ChangeTrackingEnabled)
    pass(
      "change feed",
      "Change tracking is on for opportunity: cosell reads delta links (deletes included).",
    );
  else if (cfg.changeTracking === "on")
    fail(
      "change feed",
      "Change tracking is off for opportunity but the config requires it.",
      'Turn on "Track changes" for Opportunity (run `cosell setup`), or set crm.changeTracking to auto.',
    );
  else
    pass(
      "change feed",
      "Change tracking is off for opportunity: cosell falls back to polling modifiedon (slower, and deleted opportunities are not seen).",
      'Turn on "Track changes" for Opportunity (Power Apps → Tables → Opportunity → Properties → Advanced options), or run `cosell setup`.',
    );

  checks.push(await checkViews(http, cfg, c));
  checks.push(await checkForm(http, cfg, c));
  checks.push(await checkSolutionTables(http, cfg.publisherPrefix, cfg.solutionUniqueName));
  checks.push(await checkChoiceColumns(http, cfg), await checkSellerRole(http, cfg));

  if (directory) {
    try {
      await directory.people(["00000000-0000-0000-0000-000000000000"]);
      pass(
        "graph",
        "Microsoft Graph /users is readable: owners missing an email or phone are completed from Entra ID.",
      );
    } catch (e) {
      fail(
        "graph",
        `Microsoft Graph refused the user look-up: ${errorMessage(e)}`,
        "Grant the app the Microsoft Graph application permission User.Read.All with admin consent, or set crm.resolveTeamFromGraph to false.",
      );
    }
  }
  return { ok: checks.every((x) => x.ok), checks };
}

/**
 * Every option cosell writes must exist on its choice column, or Dataverse refuses the write of the
 * whole record ("outside the valid range"): the columns were created under another option value
 * prefix, or an option was deleted.
 */
async function checkChoices(
  http: WebApiClient,
  cfg: DynamicsConfig,
  have: Set<string>,
  pass: (name: string, detail: string) => void,
  fail: (name: string, detail: string, fix: string) => void,
): Promise<void> {
  const choices = columnDefinitions(cfg.publisherPrefix, cfg.optionValuePrefix).filter(
    (d) => d.payload.AttributeType === "Picklist" && have.has(d.logicalName),
  );
  const problems: string[] = [];
  for (const d of choices) {
    const wanted = (d.payload.OptionSet as { Options: { Value: number }[] }).Options.map((o) => o.Value);
    const found = await http.getJson<{ OptionSet?: { Options?: { Value: number }[] } }>(
      `EntityDefinitions(LogicalName='opportunity')/Attributes(LogicalName='${d.logicalName}')/Microsoft.Dynamics.CRM.PicklistAttributeMetadata?$select=LogicalName&$expand=OptionSet($select=Options)`,
      `reading the options of ${d.logicalName}`,
    );
    const values = new Set((found.OptionSet?.Options ?? []).map((o) => o.Value));
    const missing = wanted.filter((v) => !values.has(v));
    if (missing.length) problems.push(`${d.logicalName} lacks ${missing.join(", ")}`);
  }
  if (problems.length)
    fail(
      "choice options",
      `Options cosell writes are missing: ${problems.join("; ")}.`,
      `Set crm.optionValuePrefix to the option value prefix the columns were created with (the publisher's), or add the missing options to the columns (docs/dynamics.md, "Columns").`,
    );
  else if (choices.length)
    pass(
      "choice options",
      `Every option cosell writes exists (${choices.map((d) => d.logicalName).join(", ")}).`,
    );
}
