import { seededRandom } from "../kit/random.js";
import type { Env } from "./env.js";
import { stableGuid } from "./ids.js";
import { SEED_IDS } from "./seed.js";
import { isLookupRef, type LookupRef, type Row, type Stored } from "./store/store.js";
import { toDataverseDateTime } from "./values.js";

const DAY = 86_400_000;
const STEPS = ["1-Qualify", "2-Develop", "3-Propose", "4-Close"];

/** Options of {@link seedBulkOpportunities}. */
export interface BulkSeedOptions {
  /** PRNG seed (default 1): same seed, same rows. */
  seed?: number;
  /** Extra column values for every row (e.g. custom columns), as stored values. */
  extra?: (index: number) => Record<string, Stored>;
}

/**
 * Inserts `n` opportunities straight into the store (no HTTP, no per-row validation) for load tests:
 * 70% open (10% of those on hold), 15% won, 15% lost, spread over the seeded accounts and users,
 * created over the past year. Returns their ids. 100,000 rows take well under a few seconds.
 */
export function seedBulkOpportunities(env: Env, n: number, options: BulkSeedOptions = {}): string[] {
  const seed = options.seed ?? 1;
  const random = seededRandom(seed);
  const accounts = [...env.store.all("account")];
  const users = [...env.store.all("systemuser")].filter(
    (u) =>
      typeof u.azureactivedirectoryobjectid === "string" && u.applicationid == null && u.isdisabled !== true,
  );
  const owners: LookupRef[] = (users.length > 0 ? users : [{ systemuserid: SEED_IDS.systemUser } as Row]).map(
    (u) => ({
      id: String(u.systemuserid),
      table: "systemuser",
    }),
  );
  const rates = new Map<string, number>();
  for (const c of env.store.all("transactioncurrency"))
    rates.set(String(c.transactioncurrencyid), typeof c.exchangerate === "number" ? c.exchangerate : 1);
  const now = env.clock.now().getTime();
  const ids: string[] = [];
  const pick = <T>(list: T[]): T => list[Math.floor(random() * list.length)]!;

  for (let i = 0; i < n; i++) {
    const id = stableGuid(`bulk-opportunity:${seed}:${i}`);
    const account = accounts.length > 0 ? pick(accounts) : undefined;
    const owner = pick(owners);
    const currency: LookupRef = isLookupRef(account?.transactioncurrencyid ?? null)
      ? (account!.transactioncurrencyid as LookupRef)
      : { id: SEED_IDS.usd, table: "transactioncurrency" };
    const rate = rates.get(currency.id) ?? 1;
    const value = Math.round(random() * 5000) * 100 + 1000;
    const created = now - Math.floor(random() * 365 * DAY);
    const modified = created + Math.floor(random() * (now - created));
    const r = random();
    const state = r < 0.7 ? 0 : r < 0.85 ? 1 : 2;
    const status = state === 0 ? (random() < 0.1 ? 2 : 1) : state === 1 ? 3 : random() < 0.5 ? 4 : 5;
    const stage = state === 0 ? Math.floor(random() * 4) : 3;
    const closeDate = new Date(created + Math.floor(random() * 240 * DAY)).toISOString().slice(0, 10);
    const accountRef: Stored = account ? { id: String(account.accountid), table: "account" } : null;
    const row: Record<string, Stored> = {
      opportunityid: id,
      name: `Deal ${String(i + 1).padStart(6, "0")}${account ? ` – ${String(account.name)}` : ""}`,
      estimatedvalue: value,
      estimatedvalue_base: Math.round((value / rate) * 100) / 100,
      actualvalue: state === 1 ? value : null,
      actualvalue_base: state === 1 ? Math.round((value / rate) * 100) / 100 : null,
      estimatedclosedate: closeDate,
      actualclosedate: state === 0 ? null : toDataverseDateTime(modified).slice(0, 10),
      description: null,
      closeprobability: state === 0 ? [10, 40, 60, 80][stage]! : state === 1 ? 100 : 0,
      salesstage: stage,
      stepname: STEPS[stage]!,
      transactioncurrencyid: currency,
      exchangerate: rate,
      parentaccountid: accountRef,
      parentcontactid: isLookupRef(account?.primarycontactid ?? null)
        ? (account!.primarycontactid as LookupRef)
        : null,
      customerid: accountRef,
      campaignid: null,
      statecode: state,
      statuscode: status,
      createdon: toDataverseDateTime(created),
      modifiedon: toDataverseDateTime(modified),
      versionnumber: env.store.nextVersion(),
      createdby: owner,
      modifiedby: owner,
      ownerid: owner,
      ...(options.extra?.(i) ?? {}),
    };
    if (options.extra && env.store.keyConflicts("opportunity", id, row).length > 0)
      throw new Error(
        `seedOpportunities: row ${i} repeats an alternate-key value already in use; make extra() values unique.`,
      );
    env.store.put("opportunity", id, row);
    ids.push(id);
  }
  return ids;
}
