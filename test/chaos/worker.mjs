// The chaos run's sync worker: a separate Node process the test SIGKILLs at random points and starts
// again. Plain JavaScript on core's build (CI runs `pnpm build` before the tests), so nothing is
// compiled at test time. Its state lives in a SQLite file and its CRM in the test process: both
// outlive every kill, exactly like `cosell run` against a real CRM.
//
// Settings come as JSON in COSELL_CHAOS_WORKER:
//   statePath  SQLite state file
//   crm        {kind:"http", url}: the test's CRM server (crm-server.ts); or {kind:"dynamics", config}:
//              @cosell/dynamics (its build) against the sandbox's Dataverse; or {kind:"salesforce",
//              config}: @cosell/salesforce (its build) against the sandbox's Salesforce org
//   pc         Partner Center client settings (the sandbox's credentials)
//   maxWaitMs  longest wait taken for a Retry-After or a backoff (0 = the full wait)
//   mode       "chaos": cycle until killed; "settle": cycle until two quiet cycles in a row, then exit 0
//   maxCycles  settle mode gives up (exit 2) after this many cycles
//
// Stdout is one JSON event per line: {"event":"start"|"cycle-start"|"checkpoint"|"cycle-end"|"cycle-failed"|"settled"}.
import { appendFileSync } from "node:fs";
import { createPartnerCenterClient, runCycle, SqliteStateStore } from "../../packages/core/dist/index.js";

const cfg = JSON.parse(process.env.COSELL_CHAOS_WORKER ?? "{}");
const emit = (event, data = {}) => process.stdout.write(`${JSON.stringify({ event, ...data })}\n`);
const wait = (ms) =>
  new Promise((resolve) => setTimeout(resolve, cfg.maxWaitMs > 0 ? Math.min(ms, cfg.maxWaitMs) : ms));

/** One POST to the CRM server, retried on 429 (after Retry-After), 5xx and connection failures. */
async function crmCall(route, body, counts) {
  const maxAttempts = 10;
  for (let attempt = 1; ; attempt++) {
    counts.total++;
    if (route === "/apply") counts.writes++;
    else counts.reads++;
    let res;
    try {
      res = await fetch(`${cfg.crm.url}${route}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body ?? {}),
      });
    } catch (e) {
      if (attempt >= maxAttempts)
        throw new Error(`CRM ${route}: connection failed ${attempt} times (${e.message})`);
      await wait(50 * attempt);
      continue;
    }
    if (res.status === 429 || res.status >= 500) {
      await res.text();
      if (attempt >= maxAttempts) throw new Error(`CRM ${route}: ${res.status} ${attempt} times`);
      const retryAfter = Number(res.headers.get("retry-after"));
      await wait(retryAfter > 0 ? retryAfter * 1000 : 50 * attempt);
      continue;
    }
    if (!res.ok) throw new Error(`CRM ${route}: ${res.status} ${await res.text()}`);
    return res.json();
  }
}

/** A CrmAdapter whose storage is the test's CRM server. Writes are upserts there, so retrying a reset apply is safe. */
function httpCrmAdapter() {
  const counts = { total: 0, reads: 0, writes: 0 };
  let description;
  return {
    async describe() {
      description ??= await crmCall("/describe", {}, counts);
      return description;
    },
    async *changes(cursor) {
      const { pages } = await crmCall("/changes", { cursor }, counts);
      yield* pages;
    },
    read: (ids) => crmCall("/read", { ids }, counts),
    apply: (writes) => crmCall("/apply", { writes }, counts),
    setup: async () => ({ created: [], unchanged: [] }),
    verifySetup: async () => ({ ok: true, checks: [] }),
    stats: () => ({ ...counts }),
  };
}

const store = tracedStore(SqliteStateStore.open(cfg.statePath));
/** The CRM adapter the settings name (the real ones load from their builds). */
async function crmAdapter() {
  if (cfg.crm.kind === "dynamics")
    return (await import("../../packages/dynamics/dist/index.js")).createDynamicsAdapter(cfg.crm.config, {
      sleep: wait,
    });
  if (cfg.crm.kind === "salesforce")
    return (await import("../../packages/salesforce/dist/index.js")).createSalesforceAdapter(cfg.crm.config);
  return httpCrmAdapter();
}

const adapter = traced(await crmAdapter());
const partnerCenter = tracedPc(createPartnerCenterClient(cfg.pc, { sleep: wait }));
emit("start", { pid: process.pid });

let quiet = 0;
for (let cycle = 1; ; cycle++) {
  emit("cycle-start", { cycle });
  try {
    const { summary } = await runCycle({
      adapter,
      partnerCenter,
      store,
      checkpoint: (name) => emit("checkpoint", { name }),
    });
    const writes = summary.apiCalls.crm.writes + summary.apiCalls.partnerCenter.writes;
    emit("cycle-end", { cycle, writes, errors: summary.errors.map((e) => `${e.key} ${e.code}`) });
    quiet = writes === 0 && summary.errors.length === 0 ? quiet + 1 : 0;
  } catch (e) {
    emit("cycle-failed", { cycle, code: e?.code ?? e?.name, message: String(e?.message ?? e).slice(0, 300) });
    quiet = 0;
    await wait(50);
  }
  if (cfg.mode === "settle" && quiet >= 2) {
    emit("settled", { cycle, pc: partnerCenter.stats() });
    store.close();
    process.exit(0);
  }
  if (cfg.mode === "settle" && cycle >= (cfg.maxCycles ?? 30)) {
    store.close();
    process.exit(2);
  }
}

// ── trace (tracePath): what each worker read, planned to keep and wrote, per record, for the diagnosis
// of a lost edit. Appended synchronously, so a SIGKILL loses at most the line being written.
function trace(what, data) {
  if (!cfg.tracePath) return;
  appendFileSync(
    cfg.tracePath,
    `${new Date().toISOString()} ${process.pid} ${what} ${JSON.stringify(data)}\n`,
  );
}
function tracedStore(s) {
  const putLink = s.putLink.bind(s);
  s.putLink = (link) => {
    trace("putLink", {
      crmId: link.crmId,
      referralId: link.referralId,
      baseline: link.baseline?.notes,
      crm: link.crm?.notes,
      referral: link.referral?.details?.notes,
      eTag: link.referral?.eTag,
    });
    return putLink(link);
  };
  return s;
}
function traced(a) {
  const changes = a.changes.bind(a);
  const read = a.read.bind(a);
  const apply = a.apply.bind(a);
  a.changes = async function* (cursor, options) {
    for await (const page of changes(cursor, options)) {
      for (const r of page.records)
        trace("crm-read", { crmId: r.crmId, notes: r.deal?.notes, at: r.modifiedAt });
      yield page;
    }
  };
  a.read = async (ids) => {
    const out = await read(ids);
    for (const r of out) trace("crm-read-id", { crmId: r.crmId, notes: r.deal?.notes });
    return out;
  };
  a.apply = async (writes) => {
    for (const w of writes)
      if (w.op === "update") trace("crm-write", { crmId: w.crmId, fields: w.fields, notes: w.deal?.notes });
    const out = await apply(writes);
    out.forEach((r, i) => {
      if (writes[i].op === "update")
        trace("crm-write-result", { crmId: writes[i].crmId, ok: r.ok, code: r.error?.code });
    });
    return out;
  };
  return a;
}
function tracedPc(pc) {
  const list = pc.listReferrals.bind(pc);
  const get = pc.getReferral.bind(pc);
  const update = pc.updateReferral.bind(pc);
  pc.listReferrals = async function* (options) {
    for await (const page of list(options)) {
      for (const r of page) trace("pc-read", { referralId: r.id, notes: r.details?.notes, eTag: r.eTag });
      yield page;
    }
  };
  pc.getReferral = async (id) => {
    const r = await get(id);
    trace("pc-get", { referralId: r.id, notes: r.details?.notes, eTag: r.eTag });
    return r;
  };
  pc.updateReferral = async (id, body, eTag, base) => {
    trace("pc-write", { referralId: id, notes: body.details?.notes, eTag, baseNotes: base?.details?.notes });
    try {
      const r = await update(id, body, eTag, base);
      trace("pc-write-result", { referralId: id, notes: r.details?.notes, eTag: r.eTag });
      return r;
    } catch (e) {
      trace("pc-write-failed", { referralId: id, code: e?.code, status: e?.status });
      throw e;
    }
  };
  return pc;
}
