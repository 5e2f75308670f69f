import { RemoteApiError, type SetupReport, type VerifyReport } from "@cosell/core";
import { ensureOpportunityChangeEvents, verifyOpportunityChangeEvents } from "./cdc-setup.js";
import type { SalesforceClient } from "./client.js";
import type { SalesforceConfig } from "./config.js";
import { customFieldSpecs } from "./custom-fields.js";
import { type DeployDeps, deployIfBare } from "./deploy-package.js";
import { assertDunsFieldExists, verifyDunsField } from "./duns-field.js";
import { ensureGlobalValueSets } from "./global-value-sets.js";
import { ensureListViews, verifyListViews } from "./list-views.js";
import type { Row, StageMapping } from "./mapping.js";
import { metadataErrorText, metadataExists } from "./metadata-components.js";
import { ensureLayouts, verifyLayouts } from "./page-layout.js";
import { picklistChecks, picklistUpgrades, upgradeToPicklists } from "./picklist-fields.js";
import { ensureQuickActions, verifyQuickActions } from "./quick-actions.js";
import { ensureSellerPermissionSet, verifySellerPermissionSet } from "./seller-permission-set.js";
import { migrateSolutionText } from "./solution-migration.js";
import { DEAL_SOLUTION_OBJECT, syncObjectGrants } from "./solution-objects.js";
import { differingObjectGrants, fullObjectGrants } from "./solution-permissions.js";
import { ensureSolutionObjects, verifySolutionObjects } from "./solution-setup.js";
import { syncFieldGrants, syncPermissionSetMetadata } from "./sync-permission-set.js";
import { ensureDeclineRule, verifyDeclineRule } from "./validation-rule.js";
import { soqlString } from "./writer.js";

/** Metadata API limit: components per call. */
const METADATA_CHUNK = 10;

function chunks<T>(xs: readonly T[], n: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += n) out.push(xs.slice(i, i + n));
  return out;
}

/**
 * A component as read, to be sent back whole (an update replaces it): without the XML attributes
 * jsforce may keep (`$`) and, for a permission set, without the field permissions, rebuilt by the caller.
 */
function sansMetadataAttributes(md: Row): Row {
  return Object.fromEntries(
    Object.entries(md).filter(
      ([k]) => !k.startsWith("$") && k !== "fieldPermissions" && k !== "objectPermissions",
    ),
  );
}

/**
 * Creates what the adapter needs, through the Metadata API: the custom fields on Opportunity, the
 * validation rule that makes a decline need a reason, the sellers' list views and quick actions, a
 * permission set granting read/edit on them (new fields are invisible to the API user until field-level
 * security is granted, salesforce.md §6), its assignment to the integration user, the sellers'
 * permission set (not assigned: the admin picks the sellers) and the Co-sell section and actions on
 * the page layouts in crm.layouts. Reads first and
 * creates only what is missing, so a second run changes nothing and says so.
 */
export async function runSetup(
  client: SalesforceClient,
  config: SalesforceConfig,
  userId: () => string | undefined,
  deps?: DeployDeps,
): Promise<SetupReport> {
  const created: string[] = [];
  const unchanged: string[] = [];
  // Before anything is saved: the permission set grants on the admin's DUNS field, and a grant on a
  // field that does not exist is refused (a deploy then saves nothing, a step-by-step run stops halfway).
  await assertDunsFieldExists(client, config.fields);
  // A first install is one deploy of the whole package (all or nothing); the steps below then find
  // it in place and add what a package cannot carry. An org set up before is upgraded step by step.
  const first = deps ? await deployIfBare(client, config, deps) : undefined;
  if (first) created.push(...first.created);
  const specs = customFieldSpecs(config.fields);
  // Before the fields: a picklist naming a global value set that does not exist is refused.
  const valueSets = await ensureGlobalValueSets(client);
  created.push(...valueSets.created);
  unchanged.push(...valueSets.unchanged);

  const present = new Map<string, Row>();
  for (const part of chunks(specs, METADATA_CHUNK)) {
    const read = await client.readMetadata(
      "CustomField",
      part.map((s) => s.fullName),
    );
    for (const md of read) if (metadataExists(md)) present.set(String(md.fullName), md);
  }
  const missing = specs.filter((s) => !present.has(s.fullName));
  // A field whose meaning changed still carries the description an earlier setup gave it: say what it
  // means now. A description the admin wrote is theirs and left alone.
  const outdated = specs.filter((s) => {
    const md = present.get(s.fullName);
    return md && s.earlierDescriptions?.includes(String(md.description ?? ""));
  });
  const upgrades = picklistUpgrades(specs, present);
  for (const s of specs)
    if (present.has(s.fullName) && !outdated.includes(s) && !upgrades.some((u) => u.spec === s))
      unchanged.push(`Field ${s.description}`);
  for (const part of chunks(outdated, METADATA_CHUNK)) {
    const res = await client.saveMetadata(
      "update",
      "CustomField",
      part.map((s) => ({
        ...sansMetadataAttributes(present.get(s.fullName)!),
        label: s.metadata.label,
        description: s.metadata.description,
        inlineHelpText: s.metadata.inlineHelpText,
      })),
    );
    res.forEach((r, k) => {
      if (!r.success)
        throw new RemoteApiError(
          "SALESFORCE_SETUP_FAILED",
          `Updating the description of ${part[k]!.fullName} failed: ${metadataErrorText(r.errors)}. The integration user needs "Modify Metadata Through Metadata API Functions" (or "Modify All Data").`,
        );
      created.push(`Field ${part[k]!.description}: label, description and help text say what it now means`);
    });
  }
  for (const part of chunks(missing, METADATA_CHUNK)) {
    const res = await client.saveMetadata(
      "create",
      "CustomField",
      part.map((s) => s.metadata),
    );
    res.forEach((r, k) => {
      if (!r.success)
        throw new RemoteApiError(
          "SALESFORCE_SETUP_FAILED",
          `Creating ${part[k]!.fullName} failed: ${metadataErrorText(r.errors)}. The integration user needs "Modify Metadata Through Metadata API Functions" (or "Modify All Data").`,
        );
      created.push(`Field ${part[k]!.description}`);
    });
  }
  // Fields an earlier setup made text become cosell's picklists in place (after the missing fields:
  // the decline rule narrowed on the way names some of them).
  created.push(...(await upgradeToPicklists(client, config, upgrades)));

  // After the fields: the rule's formula names them, and Salesforce refuses a formula naming a missing field.
  const rule = await ensureDeclineRule(client, config.fields);
  (rule.changed ? created : unchanged).push(rule.line);
  // Also after the fields: Salesforce refuses a view whose filters or columns name a missing field.
  const views = await ensureListViews(client, config.fields);
  created.push(...views.created);
  unchanged.push(...views.unchanged);
  // Also after the fields: an action's predefined values and form name them.
  const actions = await ensureQuickActions(client, config.fields);
  created.push(...actions.created);
  unchanged.push(...actions.unchanged);

  const psName = config.permissionSet;
  // The solution objects before the permission set that grants them (Salesforce refuses a grant on a
  // missing object or field).
  const solutionObjects = await ensureSolutionObjects(client);
  created.push(...solutionObjects.created);
  unchanged.push(...solutionObjects.unchanged);
  const wanted = syncFieldGrants(config);
  const objectGrants = syncObjectGrants();
  const [ps] = await client.readMetadata("PermissionSet", [psName]);
  if (!metadataExists(ps)) {
    const [r] = await client.saveMetadata("create", "PermissionSet", [syncPermissionSetMetadata(config)]);
    if (!r?.success)
      throw new RemoteApiError(
        "SALESFORCE_SETUP_FAILED",
        `Creating the permission set ${psName} failed: ${metadataErrorText(r?.errors)}.`,
      );
    created.push(
      `Permission set ${psName} (read/edit on ${specs.length} fields)`,
      `Permission set ${psName}: create, read, edit and delete on ${objectGrants.map((g) => g.object).join(", ")}`,
    );
  } else {
    const current = (
      Array.isArray(ps!.fieldPermissions) ? ps!.fieldPermissions : [ps!.fieldPermissions]
    ).filter((fp): fp is Row => !!fp && typeof fp === "object");
    const yes = (v: unknown) => v === true || v === "true";
    const granted = new Set(
      current
        .filter((fp) => yes(fp.readable) && yes(fp.editable))
        .map((fp) => String(fp.field).toLowerCase()),
    );
    const lacking = wanted.filter((w) => !granted.has(w.field.toLowerCase()));
    const lackingObjects = differingObjectGrants(ps, objectGrants);
    if (lacking.length || lackingObjects.length) {
      // The FULL list goes back: an update replaces the permission set's contents (Metadata API
      // PermissionSet: "include all of its metadata to avoid accidentally overwriting" it,
      // developer.salesforce.com/docs/platform/api-metadata/references/meta-types/metadata-permissionset.html), so a partial
      // list could revoke earlier grants. Grants on fields that are not cosell's are kept as they are.
      const ours = new Set(wanted.map((w) => w.field.toLowerCase()));
      const fieldPermissions = [
        ...current
          .filter((fp) => !ours.has(String(fp.field).toLowerCase()))
          .map((fp) => ({ field: String(fp.field), readable: yes(fp.readable), editable: yes(fp.editable) })),
        ...wanted,
      ];
      const [r] = await client.saveMetadata("update", "PermissionSet", [
        {
          ...sansMetadataAttributes(ps!),
          fullName: psName,
          label: String(ps!.label ?? "Cosell Sync"),
          fieldPermissions,
          objectPermissions: fullObjectGrants(ps, objectGrants),
        },
      ]);
      if (!r?.success)
        throw new RemoteApiError(
          "SALESFORCE_SETUP_FAILED",
          `Updating the permission set ${psName} failed: ${metadataErrorText(r?.errors)}.`,
        );
      created.push(
        `Permission set ${psName}: read/edit granted on ${lacking.length} more fields${lackingObjects.length ? ` and on ${lackingObjects.join(", ")}` : ""}`,
      );
    } else unchanged.push(`Permission set ${psName}`);
  }

  const user = userId();
  if (user) {
    const rows = await client.query(
      `SELECT Id, PermissionSetId FROM PermissionSetAssignment WHERE AssigneeId = ${soqlString(user)} AND PermissionSet.Name = ${soqlString(psName)}`,
    );
    if (rows.length) unchanged.push(`Permission set ${psName} assigned to the integration user`);
    else {
      const [p] = await client.query(`SELECT Id FROM PermissionSet WHERE Name = ${soqlString(psName)}`);
      const [r] = await client.create([
        { attributes: { type: "PermissionSetAssignment" }, PermissionSetId: p?.Id, AssigneeId: user },
      ]);
      if (!r?.success)
        throw new RemoteApiError(
          "SALESFORCE_SETUP_FAILED",
          `Assigning ${psName} to the integration user failed: ${metadataErrorText(r?.errors)}. Assign it in Setup → Permission Sets.`,
        );
      created.push(`Permission set ${psName} assigned to the integration user`);
    }
  }
  // The sellers' own permission set; assigning it is the admin's call (docs/salesforce.md).
  const seller = await ensureSellerPermissionSet(client, config.fields);
  (seller.changed ? created : unchanged).push(seller.line);
  // Last of the components: a layout names the fields and the actions, and a layout that is not there
  // (crm.layouts names another) stops setup with the fix after everything else is in place.
  const layouts = await ensureLayouts(client, config.fields, config.layouts);
  created.push(...layouts.created);
  unchanged.push(...layouts.unchanged);
  // Last: the rows need the objects and the integration user's grants on them.
  const migration = await migrateSolutionText(client, config);
  if (migration.migrated)
    created.push(
      `Solutions of ${migration.migrated} opportunities moved from text into ${DEAL_SOLUTION_OBJECT} rows`,
    );
  if (migration.failed.size)
    throw new RemoteApiError(
      "SALESFORCE_SETUP_FAILED",
      `Moving the solutions text of ${[...migration.failed.keys()].join(", ")} into ${DEAL_SOLUTION_OBJECT} rows failed: ${[...migration.failed.values()][0]}. Fix the solution lines on those opportunities and run \`cosell setup\` again.`,
    );
  const skipped: string[] = [];
  if (config.changeFeed === "cdc") {
    const cdc = await ensureOpportunityChangeEvents(client);
    (cdc.kind === "created" ? created : cdc.kind === "unchanged" ? unchanged : skipped).push(cdc.line);
  }
  // What the deploy just made is not "already there".
  const kept = first ? unchanged.filter((line) => !first.names.some((n) => mentions(line, n))) : unchanged;
  return { created, unchanged: kept, ...(skipped.length ? { skipped } : {}) };
}

/** Checks fields, field access, the decline rule, the list views, the seller permission set, the quick actions, the page layouts, the external id, stages and the change feed; changes nothing. */
export async function runVerify(
  client: SalesforceClient,
  config: SalesforceConfig,
  stages: () => Promise<StageMapping>,
): Promise<VerifyReport> {
  const checks: VerifyReport["checks"] = [];
  const conn = await client.connection().then(
    (c) => c,
    (e: Error) => {
      checks.push({
        name: "login",
        ok: false,
        detail: e.message,
        fix: "Fix the crm.auth settings (see docs/salesforce.md, Connected app).",
      });
      return undefined;
    },
  );
  if (!conn) return { ok: false, checks };
  checks.push({ name: "login", ok: true, detail: `Logged in to ${conn.instanceUrl}.` });

  const describe = await client.describe("Opportunity");
  const byName = new Map(describe.fields.map((f) => [String(f.name).toLowerCase(), f] as const));
  const specs = customFieldSpecs(config.fields);
  const missing = specs.filter((s) => !byName.has(s.fullName.split(".")[1]!.toLowerCase()));
  const readOnly = specs.filter((s) => {
    const f = byName.get(s.fullName.split(".")[1]!.toLowerCase());
    return f && f.updateable !== true;
  });
  checks.push({
    name: "custom fields",
    ok: !missing.length && !readOnly.length,
    detail: missing.length
      ? `Missing or not visible to the integration user: ${missing.map((s) => s.fullName).join(", ")}.`
      : readOnly.length
        ? `Not editable by the integration user: ${readOnly.map((s) => s.fullName).join(", ")}.`
        : `All ${specs.length} co-sell fields exist and are editable.`,
    ...(missing.length || readOnly.length
      ? {
          fix: `Run \`cosell setup\` (creates the fields and the permission set ${config.permissionSet}, and assigns it), or assign ${config.permissionSet} to the integration user.`,
        }
      : {}),
  });
  checks.push(...picklistChecks(byName, config));
  if (!missing.length)
    checks.push(
      await verifyDeclineRule(client, config.fields),
      await verifyListViews(client, config.fields),
      await verifySellerPermissionSet(client, config.fields),
      await verifyQuickActions(client, config.fields),
      await verifyLayouts(client, config.fields, config.layouts),
      await verifySolutionObjects(client),
    );
  const ext = byName.get(config.fields.referralId.toLowerCase());
  if (ext)
    checks.push({
      name: "referral id external id",
      ok: ext.externalId === true && ext.unique === true,
      detail:
        ext.externalId === true && ext.unique === true
          ? `${config.fields.referralId} is a unique external ID (inbound creates upsert on it).`
          : `${config.fields.referralId} is not a unique external ID: retried inbound creates could duplicate.`,
      ...(ext.externalId === true && ext.unique === true
        ? {}
        : {
            fix: `Edit the field in Setup → Object Manager → Opportunity and tick "Unique" and "External ID".`,
          }),
    });
  const duns = await verifyDunsField(client, config.fields, config.permissionSet);
  if (duns) checks.push(duns);
  if (config.fields.campaign === "CampaignId" && !byName.has("campaignid"))
    checks.push({
      name: "campaigns",
      ok: false,
      detail: "Opportunity has no CampaignId: Campaigns are not enabled for the integration user.",
      fix: 'Give the integration user the "Marketing User" feature licence, or set crm.fields.campaign to a custom text field.',
    });

  const mapping = await stages();
  const unknown = mapping.referencedStages().filter((s) => !mapping.has(s));
  const lacking = (["received", "accepted", "won", "lost"] as const).filter((s) => !mapping.toCrm(s));
  checks.push({
    name: "stages",
    ok: !unknown.length && !lacking.length,
    detail: unknown.length
      ? `The stage map names stages this org does not have: ${unknown.join(", ")}.`
      : lacking.length
        ? `No StageName for co-sell stages: ${lacking.join(", ")}.`
        : `Stages map by IsClosed/IsWon; received = "${mapping.toCrm("received")}".`,
    ...(unknown.length || lacking.length
      ? {
          fix: 'Add an open stage "Co-sell Review" for new referrals, or set crm.stages.toCrm / crm.stages.toDeal to stages of your org.',
        }
      : {}),
  });

  try {
    await client.query(
      `SELECT Id FROM Opportunity WHERE ${config.fields.optIn} = true ORDER BY SystemModstamp DESC LIMIT 1`,
    );
    checks.push({ name: "change feed", ok: true, detail: "Opportunities can be polled by SystemModstamp." });
  } catch (e) {
    checks.push({
      name: "change feed",
      ok: false,
      detail: (e as Error).message,
      fix: "Run `cosell setup`, then check the integration user can read Opportunity.",
    });
  }
  if (config.changeFeed === "cdc") checks.push(await verifyOpportunityChangeEvents(client));
  checks.push(await apiAllowance(client));
  return { ok: checks.every((c) => c.ok), checks };
}

/** Below this share of the daily allocation left, a sync may stop mid-day with REQUEST_LIMIT_EXCEEDED. */
const LOW_ALLOWANCE = 0.1;

/** How many of the org's daily API requests are left (the sync's cycles count against them). */
async function apiAllowance(client: SalesforceClient): Promise<VerifyReport["checks"][number]> {
  try {
    const daily = (await client.limits()).DailyApiRequests;
    if (!daily?.Max || daily.Remaining === undefined)
      return { name: "API limits", ok: true, detail: "The org does not report DailyApiRequests." };
    const left = daily.Remaining / daily.Max;
    const detail = `${daily.Remaining.toLocaleString("en-US")} of ${daily.Max.toLocaleString("en-US")} daily API requests left.`;
    return left >= LOW_ALLOWANCE
      ? { name: "API limits", ok: true, detail }
      : {
          name: "API limits",
          ok: false,
          detail,
          fix: "Raise run.intervalSeconds, or buy more API capacity; other integrations share this allocation.",
        };
  } catch (e) {
    return {
      name: "API limits",
      ok: false,
      detail: (e as Error).message,
      fix: 'Give the integration user "API Enabled" and "View Setup and Configuration".',
    };
  }
}

/** Whether a report line names a component (its full name, not as the start of a longer name). */
function mentions(line: string, fullName: string): boolean {
  const at = line.indexOf(fullName);
  return at >= 0 && !/[A-Za-z0-9_]/.test(line.charAt(at + fullName.length));
}
