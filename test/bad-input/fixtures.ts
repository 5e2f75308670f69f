import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import {
  applyReferralPatch,
  ConflictError,
  type CoSellDeal,
  type CrmAdapter,
  type CrmRecord,
  createPartnerCenterClient,
  MemoryStateStore,
  NotFoundError,
  type PartnerCenterClient,
  type PartnerCenterPort,
  type Referral,
  type ReferralPatchOperation,
  runCycle,
  type StateStore,
  type TokenProvider,
} from "@cosell/core";
import {
  createMemoryAdapter,
  ManualClock,
  MemoryCrm,
  MemoryPartnerCenter,
  sampleDeal,
  sampleInbound,
} from "@cosell/core/testing";

/**
 * Fixtures of the bad-input corpus: one small "world" (in-memory CRM, Partner Center, state store and
 * clock) per case, an adapter wrapper that lets a case corrupt what the CRM reports, and a loopback
 * HTTP front of the in-memory Partner Center whose answers a case can replace byte for byte.
 */

/** A CRM record as the adapter reports it, corruptible in any way a broken adapter or CRM could. */
export type RecordPatch = (rec: CrmRecord) => CrmRecord;

/** Wraps an adapter so `changes()` and `read()` report the records of `patches` corrupted. */
export function corruptingAdapter(inner: CrmAdapter, patches: Map<string, RecordPatch>): CrmAdapter {
  const patch = (r: CrmRecord) => patches.get(r.crmId)?.(structuredClone(r)) ?? r;
  return {
    ...inner,
    async *changes(cursor, options) {
      for await (const page of inner.changes(cursor, options))
        yield { ...page, records: page.records.map(patch) };
    },
    async read(ids) {
      return (await inner.read(ids)).map(patch);
    },
  };
}

/** One case's world: a CRM, Partner Center, a state store and a clock that stands still. */
export interface World {
  clock: ManualClock;
  crm: MemoryCrm;
  pc: MemoryPartnerCenter;
  store: StateStore;
  patches: Map<string, RecordPatch>;
  /** Runs one cycle through `port` (default: the in-memory Partner Center). */
  cycle(port?: PartnerCenterPort): ReturnType<typeof runCycle>;
}

/** A fresh world; `store` replaces the in-memory state store (e.g. a SQLite file). */
export function world(options: { store?: StateStore } = {}): World {
  const clock = new ManualClock();
  const crm = new MemoryCrm(clock.now);
  const pc = new MemoryPartnerCenter({ now: clock.now });
  const store = options.store ?? new MemoryStateStore();
  const patches = new Map<string, RecordPatch>();
  const adapter = corruptingAdapter(createMemoryAdapter(crm, { pageSize: 3, batchSize: 4 }), patches);
  return {
    clock,
    crm,
    pc,
    store,
    patches,
    cycle: (port = pc) => runCycle({ adapter, partnerCenter: port, store, now: clock.now }),
  };
}

/** Two well-formed opted-in opportunities that must sync whatever their neighbours look like. */
export function goodNeighbours(w: World): string[] {
  return [
    w.crm.createOpportunity(sampleDeal({ name: "Good neighbour A" }), { optedIn: true }),
    w.crm.createOpportunity(sampleDeal({ name: "Good neighbour B" }), { optedIn: true }),
  ];
}

/** A well-formed inbound referral from Microsoft that must reach the CRM whatever else arrives. */
export function goodInbound(w: World): Referral {
  return w.pc.sendInbound(sampleInbound({ name: "Good inbound" }));
}

/** The referrals carrying `crmId` (0 or 1 expected). */
export function referralsFor(pc: MemoryPartnerCenter, crmId: string): Referral[] {
  return pc.all().filter((r) => r.externalReferenceId === crmId);
}

/** True when `crmId` is linked to exactly one referral and the CRM shows it synced. */
export function synced(w: World, crmId: string): boolean {
  const link = w.store.getLinkByCrmId(crmId);
  const opp = w.crm.get(crmId);
  return (
    link?.state === "linked" &&
    referralsFor(w.pc, crmId).length === 1 &&
    opp?.status?.state === "synced" &&
    opp.status.referralId === link.referralId
  );
}

/** A deal with one value changed (typed loosely: the corpus writes values the types forbid). */
export function dealWith(overrides: Record<string, unknown>): Partial<CoSellDeal> {
  return sampleDeal(overrides as Partial<CoSellDeal>);
}

// ── Partner Center over loopback HTTP ───────────────────────────────────────────────────────────

/** A reply that replaces what the in-memory Partner Center would have answered. */
export interface RawReply {
  status: number;
  /** `undefined` sends no Content-Type header at all. */
  contentType?: string;
  body: string;
  headers?: Record<string, string>;
}

/** Which request a rule answers, and how often (default: every matching request). */
export interface ReplyRule {
  method: string;
  /** Matches when the request path (with query) contains this. */
  pathIncludes?: string;
  /** Matches a POST/PUT whose JSON body has this `externalReferenceId` or `name`. */
  bodyMentions?: string;
  reply: RawReply | ((real: RawReply) => RawReply);
  times?: number;
}

export interface FakePartnerCenter {
  url: string;
  rules: ReplyRule[];
  /** Requests seen, as `METHOD path`. */
  requests: string[];
  /** The body of each request in `requests` (same index). */
  bodies: string[];
  /** Referrals (possibly malformed) appended to every list page, as raw JSON values. */
  extraListed: unknown[];
  close(): Promise<void>;
}

const json = (status: number, value: unknown): RawReply => ({
  status,
  contentType: "application/json; charset=utf-8",
  body: JSON.stringify(value),
});

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

/** The in-memory Partner Center behind the Referrals API's routes, as the client calls them. */
async function realReply(
  pc: MemoryPartnerCenter,
  req: { method: string; url: URL; text: string; ifMatch: string },
  extra: unknown[],
): Promise<RawReply> {
  const { method, url, text, ifMatch } = req;
  const base = "/v1.0/engagements/referrals";
  const id = url.pathname.startsWith(`${base}/`)
    ? decodeURIComponent(url.pathname.slice(base.length + 1))
    : "";
  try {
    if (method === "GET" && !id) {
      const filter = url.searchParams.get("$filter") ?? "";
      const ext = /externalReferenceId eq '((?:[^']|'')*)'/.exec(filter)?.[1]?.replace(/''/g, "'");
      const since = /updatedDateTime ge (\S+)/.exec(filter)?.[1];
      let value: unknown[] = [];
      if (ext !== undefined) value = pc.all().filter((r) => r.externalReferenceId === ext);
      else {
        for await (const page of pc.listReferrals({ updatedSince: since ? new Date(since) : undefined }))
          value.push(...page);
        value = [...value, ...extra];
      }
      return json(200, { value });
    }
    if (method === "GET") return json(200, await pc.getReferral(id));
    if (method === "POST") {
      const body = JSON.parse(text) as Referral;
      return json(201, await pc.createReferral(body, { crmId: body.externalReferenceId ?? "" }));
    }
    if (method === "PATCH") {
      const current = pc.get(id);
      if (!current) throw new NotFoundError("NOT_FOUND", "No such referral.");
      const ops = JSON.parse(text) as ReferralPatchOperation[];
      return json(200, await pc.updateReferral(id, applyReferralPatch(current, ops), ifMatch));
    }
  } catch (e) {
    if (e instanceof NotFoundError)
      return json(404, { error: { code: "NotFound", message: "No such referral." } });
    if (e instanceof ConflictError)
      return json(412, { error: { code: "PreconditionFailed", message: e.message } });
    return json(400, { error: { code: "BadRequest", message: (e as Error).message } });
  }
  return json(405, { error: { code: "MethodNotAllowed", message: method } });
}

/** Starts the loopback front of `pc` on 127.0.0.1. */
export async function fakePartnerCenter(pc: MemoryPartnerCenter): Promise<FakePartnerCenter> {
  const rules: ReplyRule[] = [];
  const requests: string[] = [];
  const bodies: string[] = [];
  const extraListed: unknown[] = [];
  const server: Server = createServer(async (req, res) => {
    const method = req.method ?? "GET";
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const text = await readBody(req);
    const path = decodeURIComponent(url.pathname + url.search);
    requests.push(`${method} ${path}`);
    bodies.push(text);
    const rule = rules.find(
      (r) =>
        r.method === method &&
        (r.pathIncludes === undefined || path.includes(r.pathIncludes)) &&
        (r.bodyMentions === undefined || text.includes(JSON.stringify(r.bodyMentions))) &&
        (r.times === undefined || r.times > 0),
    );
    let reply: RawReply;
    if (rule && typeof rule.reply !== "function") reply = rule.reply;
    else {
      const ifMatch = String(req.headers["if-match"] ?? "*");
      const real = await realReply(pc, { method, url, text, ifMatch }, extraListed);
      reply = rule && typeof rule.reply === "function" ? rule.reply(real) : real;
    }
    if (rule?.times !== undefined) rule.times--;
    const headers: Record<string, string> = { ...reply.headers };
    if (reply.contentType !== undefined) headers["content-type"] = reply.contentType;
    res.writeHead(reply.status, headers);
    res.end(reply.body);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    rules,
    requests,
    bodies,
    extraListed,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A token provider that needs no Entra ID (the fake checks no tokens). */
export const staticTokens: TokenProvider = {
  scope: "https://api.partner.microsoft.com/.default",
  getToken: async () => "test-token",
  invalidate: () => undefined,
  stats: () => ({ tokenRequests: 0 }),
};

/** Core's real client pointed at the fake; retries are immediate and few. */
export function clientFor(fake: FakePartnerCenter): PartnerCenterClient {
  return createPartnerCenterClient(
    {
      tenantId: "tenant",
      clientId: "app",
      apiBaseUrl: `${fake.url}/v1.0`,
      retry: { maxAttempts: 2, baseDelayMs: 0, maxDelayMs: 0 },
    },
    { tokens: staticTokens, sleep: async () => undefined },
  );
}

/** Writes (POST/PUT) the fake received. */
export function writesSeen(fake: FakePartnerCenter): string[] {
  return fake.requests.filter((r) => !r.startsWith("GET "));
}

export { sampleDeal, sampleInbound };
