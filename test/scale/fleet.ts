import { randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  type AnySandbox,
  CRM_MODULES,
  type CrmKind,
  DEMO_CRMS,
  pickReadyToShare,
  runCli,
  SECRET_KEYS,
} from "@cosell/cli";
import { columnsFor } from "@cosell/dynamics";
import { type FaultRates, startSandbox } from "@cosell/sandbox";
import pg from "pg";
import { captureIo } from "../../packages/cli/test/helpers/io.js";
import { partnerCenterSection, secretsByReference } from "../../packages/cli/test/helpers/serve-rig.mjs";

/**
 * A fleet of partner tenants on one PostgreSQL deployment. Each tenant gets a sandbox of its own
 * (its own Entra ID, Partner Center account and CRM org or environment, on their own ports): the
 * sandbox emulates one partner, and a Partner Center account shared by two tenants would let one
 * tenant's cycle see (and link) the other's referrals, which no real deployment does.
 */

/** The fields the checks read and the edits write, per CRM (the adapters' default names). */
const FIELDS = {
  dynamics: {
    table: "opportunity",
    id: "opportunityid",
    value: "estimatedvalue",
    notes: "description",
    referralId: columnsFor("cosell").referralId,
    open: (r: Record<string, unknown>) => r.statecode === 0 || r.statecode === undefined,
  },
  salesforce: {
    table: "Opportunity",
    id: "Id",
    value: "Amount",
    notes: "Description",
    referralId: "Cosell_Referral_Id__c",
    open: (r: Record<string, unknown>) => r.IsClosed !== true,
  },
} as const;

interface CrmControl {
  all(table: string): Record<string, unknown>[];
  get(table: string, id: string): Record<string, unknown> | undefined;
  update(table: string, id: string, fields: Record<string, unknown>): unknown;
}

/** One tenant: its sandbox, config file and the deals it starts with. */
export interface Tenant {
  name: string;
  kind: CrmKind;
  sandbox: AnySandbox;
  configPath: string;
  /** CRM opportunities a seller opted in before the run. */
  optedIn: string[];
  /** Referrals Microsoft sent before the run. */
  inbound: string[];
  crm: CrmControl;
  fields: (typeof FIELDS)[CrmKind];
}

/** A database of its own (the deployment's fixed schemas collide with no other test), and its drop. */
export async function createDatabase(
  serverUrl: string,
  prefix: string,
): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `${prefix}_${process.pid}_${randomBytes(3).toString("hex")}`;
  const admin = async (sql: string) => {
    const c = new pg.Client({ connectionString: serverUrl });
    await c.connect();
    try {
      await c.query(sql);
    } finally {
      await c.end();
    }
  };
  await admin(`CREATE DATABASE ${name}`);
  const u = new URL(serverUrl);
  u.pathname = `/${name}`;
  return { url: u.toString(), drop: () => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}

export interface FleetOptions {
  dir: string;
  databaseUrl: string;
  kinds: readonly CrmKind[];
  /** Opted-in CRM deals per tenant (from the sandbox's seeded open opportunities). */
  deals: number;
  /** Inbound referrals per tenant. */
  inbound: number;
  seed: number;
  /** Extra config for one tenant (by index), e.g. webhook URLs for the one `serve` receives for. */
  extraConfig?: (
    index: number,
    tenant: { kind: CrmKind; sandbox: AnySandbox },
  ) => Promise<ExtraConfig | undefined>;
}

export interface ExtraConfig {
  partnerCenter?: Record<string, unknown>;
  crm?: Record<string, unknown>;
}

/**
 * Starts a sandbox per tenant, writes each tenant's config (secrets as `env:` references of its
 * own), runs `cosell setup`, opts deals in, sends inbound referrals and registers every tenant with
 * `cosell tenants add`. `env` is what the cosell processes need (every tenant's secrets).
 */
export async function startFleet(
  opts: FleetOptions,
): Promise<{ tenants: Tenant[]; env: Record<string, string>; stop(): Promise<void> }> {
  const env: Record<string, string> = { COSELL_DATABASE_URL: opts.databaseUrl };
  const tenants: Tenant[] = [];
  const stop = async () => {
    for (const t of tenants) await t.sandbox.stop().catch(() => undefined);
  };
  try {
    for (const [i, kind] of opts.kinds.entries()) {
      const name = `${kind === "salesforce" ? "sf" : "dyn"}${String(i).padStart(2, "0")}`;
      const demo = DEMO_CRMS[kind];
      const sandbox = (await startSandbox({
        systems: demo.systems,
        seed: opts.seed + i,
      })) as unknown as AnySandbox;
      const dir = join(opts.dir, name);
      mkdirSync(dir, { recursive: true });
      const extra = await opts.extraConfig?.(i, { kind, sandbox });
      const crmSection = CRM_MODULES[kind].sandboxConfig!(
        demo.credentials(sandbox),
        demo.sandboxOptions?.(sandbox),
      ) as Record<string, unknown>;
      const config = {
        partnerCenter: secretsByReference(
          {
            ...(await partnerCenterSection(sandbox)),
            // Faults are on: enough attempts that a burst of 429/5xx rarely fails a whole call.
            retry: { maxAttempts: 8 },
            ...extra?.partnerCenter,
          },
          env,
          `${name}_pc`,
          SECRET_KEYS,
        ),
        crm: secretsByReference({ ...crmSection, ...extra?.crm }, env, `${name}_crm`, SECRET_KEYS),
        state: { path: "unused.sqlite" },
        log: { level: "warn" },
      };
      const configPath = join(dir, "cosell.json");
      writeFileSync(configPath, JSON.stringify(config, null, 2));
      const cli = async (...argv: string[]) => {
        const io = captureIo({ env, cwd: dir });
        const code = await runCli(argv, io);
        if (code !== 0) throw new Error(`cosell ${argv.join(" ")} (${name}) exited ${code}: ${io.err()}`);
        return io;
      };
      await cli("--config", configPath, "setup", kind);
      if (kind === "dynamics")
        (sandbox as unknown as { dataverse: { activateKeys(): void } }).dataverse.activateKeys();

      const adapter = CRM_MODULES[kind].createAdapter!(crmSection);
      const optedIn = await pickReadyToShare(adapter, demo.openOpportunities(sandbox), opts.deals);
      await adapter.close?.();
      if (optedIn.length < opts.deals)
        throw new Error(`${name}: only ${optedIn.length} opportunities ready to share, ${opts.deals} wanted`);
      demo.optIn(sandbox, optedIn);
      const inbound = Array.from(
        { length: opts.inbound },
        (_, n) => sandbox.partnerCenter.sendInboundReferral({ name: `${name} inbound ${n}` } as never).id,
      );
      await cli("tenants", "add", name, "--tenant-config", configPath);
      const crm = (sandbox as unknown as Record<string, CrmControl>)[
        kind === "salesforce" ? "salesforce" : "dataverse"
      ]!;
      tenants.push({ name, kind, sandbox, configPath, optedIn, inbound, crm, fields: FIELDS[kind] });
    }
  } catch (e) {
    await stop();
    throw e;
  }
  return { tenants, env, stop };
}

/** Partner Center faults and the CRM's (the token servers stay clean, as in the chaos runs). */
export function setFaults(t: Tenant, rates: FaultRates): void {
  t.sandbox.faults.setRates(rates, "partner-center");
  t.sandbox.faults.setRates(rates, t.kind === "salesforce" ? "salesforce" : "dataverse");
}

/** The referral carrying each CRM id, and the CRM opportunity carrying each referral id. */
export function links(t: Tenant): {
  referralsOf: Map<string, string[]>;
  opportunitiesOf: Map<string, string[]>;
} {
  const referralsOf = new Map<string, string[]>();
  for (const r of t.sandbox.partnerCenter.all()) {
    const crmId = r.externalReferenceId ? String(r.externalReferenceId) : undefined;
    if (crmId) referralsOf.set(crmId, [...(referralsOf.get(crmId) ?? []), r.id]);
  }
  const opportunitiesOf = new Map<string, string[]>();
  for (const o of t.crm.all(t.fields.table)) {
    const ref = o[t.fields.referralId];
    if (typeof ref === "string" && ref)
      opportunitiesOf.set(ref, [...(opportunitiesOf.get(ref) ?? []), String(o[t.fields.id])]);
  }
  return { referralsOf, opportunitiesOf };
}

/** The edits made during the run: the last value per record, with the pair it was made on. */
export interface LastEdits {
  /** CRM id → the deal value a seller wrote last, and the referral it must reach. */
  value: Map<string, { referralId: string; value: number }>;
  /** Referral id → the notes Microsoft wrote last, and the opportunity they must reach. */
  notes: Map<string, { crmId: string; note: string }>;
}

/**
 * Everything wrong with one tenant's two sides: an opted-in deal or inbound referral linked zero or
 * several times, a CRM id on two referrals, a referral id on two opportunities, a last edit that did
 * not reach the other side. Empty when right.
 */
export function problems(t: Tenant, edits: LastEdits): string[] {
  const out: string[] = [];
  const { referralsOf, opportunitiesOf } = links(t);
  for (const crmId of t.optedIn) {
    const n = referralsOf.get(crmId)?.length ?? 0;
    if (n !== 1) out.push(`${t.name}: opted-in ${crmId} has ${n} referrals`);
  }
  for (const refId of t.inbound) {
    const n = opportunitiesOf.get(refId)?.length ?? 0;
    if (n !== 1) out.push(`${t.name}: inbound ${refId} has ${n} opportunities`);
  }
  for (const [crmId, refs] of referralsOf)
    if (refs.length > 1 && !t.optedIn.includes(crmId))
      out.push(`${t.name}: ${crmId} is on ${refs.length} referrals`);
  for (const [refId, opps] of opportunitiesOf)
    if (opps.length > 1 && !t.inbound.includes(refId))
      out.push(`${t.name}: referral ${refId} is on ${opps.length} opportunities`);
  for (const [crmId, { referralId, value }] of edits.value) {
    const got = t.sandbox.partnerCenter.get(referralId)?.details?.dealValue;
    if (got !== value) out.push(`${t.name}: ${crmId} value ${value} reads ${String(got)} in Partner Center`);
  }
  for (const [refId, { crmId, note }] of edits.notes) {
    const got = t.crm.get(t.fields.table, crmId)?.[t.fields.notes];
    if (got !== note)
      out.push(`${t.name}: referral ${refId} notes "${note}" read "${String(got)}" in the CRM`);
  }
  return out;
}

/** Pairs open on both sides (edits only go there: a closed deal takes no more edits). */
export function openPairs(t: Tenant): { crmId: string; referralId: string }[] {
  const { referralsOf, opportunitiesOf } = links(t);
  const pairs: { crmId: string; referralId: string }[] = [];
  for (const crmId of t.optedIn) {
    const ref = referralsOf.get(crmId);
    if (ref?.length === 1) pairs.push({ crmId, referralId: ref[0]! });
  }
  for (const refId of t.inbound) {
    const opp = opportunitiesOf.get(refId);
    if (opp?.length === 1) pairs.push({ crmId: opp[0]!, referralId: refId });
  }
  return pairs.filter(
    (p) =>
      t.fields.open(t.crm.get(t.fields.table, p.crmId) ?? {}) &&
      t.sandbox.partnerCenter.get(p.referralId)?.status === "Active",
  );
}
