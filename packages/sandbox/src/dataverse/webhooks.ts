import { randomUUID } from "node:crypto";
import type { Env } from "./env.js";
import { isLookupRef, type Row, type RowChange, type Stored } from "./store/store.js";

/**
 * Dataverse's webhooks, emulated (Microsoft's "Use webhooks to create external handlers for server
 * events" and "Register a WebHook"; dynamics.md §3.3): a committed Create, Update or Delete of a row
 * runs every enabled `sdkmessageprocessingstep` registered for that message on that table whose
 * event handler is a `serviceendpoint` with contract 8 (Webhook). An Update step with
 * `filteringattributes` runs only when one of those columns is in the change. Each run POSTs the
 * JSON `RemoteExecutionContext` to the endpoint's URL with the documented `x-ms-dynamics-*` headers
 * and the endpoint's authentication (authtype 5 Http Header: the `<settings><setting name value/>`
 * pairs of `authvalue` as headers; 4 Webhook Key: `?code=`; 6 Http Query String). Only the status
 * code is read: a non-2xx answer, a timeout or a refused connection is retried.
 *
 * Not settled by the documentation, and chosen here: the retry schedule of a failed asynchronous
 * webhook (4 more attempts, 0.2 s → 5 s apart); synchronous steps are delivered the same way (the
 * real service would fail the user's operation when the endpoint fails); Win/Lose change the row, so
 * they are delivered as Update (with `statecode`/`statuscode`) as well as under their own message
 * when a step is registered for it. Only loopback URLs are called (the sandbox reaches no network).
 */

/** One step run: the request and every attempt. */
export interface DataverseWebhookDelivery {
  id: string;
  message: string;
  entity: string;
  recordId: string;
  stepId: string;
  url: string;
  /** The exact body sent. */
  body: string;
  headers: Record<string, string>;
  attempts: { status?: number; error?: string }[];
  /** A 2xx answer was received. */
  ok: boolean;
}

export interface DataverseWebhookOptions {
  /** Waits before the retries of a failed delivery. Default 200 ms, 500 ms, 1 s, 5 s. */
  retryDelaysMs?: readonly number[];
  /** Per-attempt timeout. Default 60 s (the documented limit). */
  timeoutMs?: number;
}

const CONTRACTS = "http://schemas.microsoft.com/xrm/2011/Contracts";
/** Columns every write stamps; a change of only these is no change for filtering attributes. */
const STAMPS = new Set(["modifiedon", "modifiedby", "modifiedonbehalfby", "versionnumber"]);
const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]", "::1"]);

const sameValue = (a: Stored | undefined, b: Stored | undefined) => JSON.stringify(a) === JSON.stringify(b);

/** Registration, matching and delivery of webhook steps for one environment. */
export class DataverseWebhooks {
  private readonly log: DataverseWebhookDelivery[] = [];
  /** Deliveries of one record go out in order. */
  private readonly chains = new Map<string, Promise<void>>();
  private readonly inFlight = new Set<Promise<void>>();
  private readonly delays: readonly number[];
  private readonly timeoutMs: number;

  constructor(
    private readonly env: Env,
    options: DataverseWebhookOptions = {},
  ) {
    this.delays = options.retryDelaysMs ?? [200, 500, 1000, 5000];
    this.timeoutMs = options.timeoutMs ?? 60_000;
  }

  /** Store observer: runs the matching steps for a committed row change. */
  onChange(change: RowChange): void {
    if (this.env.store.count("sdkmessageprocessingstep") === 0) return;
    const message = !change.prev ? "Create" : !change.next ? "Delete" : "Update";
    const changed = message === "Update" ? this.changedColumns(change.prev!, change.next!) : undefined;
    if (changed && changed.length === 0) return;
    this.run(message, change, changed);
    // Win/Lose: the state change is the Update above; a step on the message itself runs too.
    if (change.table === "opportunity" && changed?.includes("statecode")) {
      const state = change.next?.statecode;
      if (state === 1) this.run("Win", change, changed);
      if (state === 2) this.run("Lose", change, changed);
    }
  }

  /** Every delivery so far (copies), oldest first. */
  deliveries(): DataverseWebhookDelivery[] {
    return structuredClone(this.log);
  }

  /** Resolves once every queued delivery (with its retries) is done. */
  async idle(): Promise<void> {
    while (this.inFlight.size) await Promise.allSettled([...this.inFlight]);
  }

  private changedColumns(prev: Row, next: Row): string[] {
    const keys = new Set([...Object.keys(prev), ...Object.keys(next)]);
    return [...keys].filter((k) => !STAMPS.has(k) && !sameValue(prev[k], next[k]));
  }

  private lookupName(ref: Stored | undefined, table: string, column: string): string | undefined {
    if (!isLookupRef(ref)) return undefined;
    const v = this.env.store.get(table, ref.id)?.[column];
    return typeof v === "string" ? v : undefined;
  }

  private run(message: string, change: RowChange, changed: string[] | undefined): void {
    for (const step of this.env.store.all("sdkmessageprocessingstep")) {
      if (step.statecode !== 0 && step.statecode !== undefined && step.statecode !== null) continue;
      if (this.lookupName(step.sdkmessageid, "sdkmessage", "name") !== message) continue;
      if (
        this.lookupName(step.sdkmessagefilterid, "sdkmessagefilter", "primaryobjecttypecode") !== change.table
      )
        continue;
      const filtering =
        typeof step.filteringattributes === "string"
          ? step.filteringattributes
              .split(",")
              .map((a) => a.trim().toLowerCase())
              .filter(Boolean)
          : [];
      if (message === "Update" && filtering.length && !filtering.some((a) => changed?.includes(a))) continue;
      const handler = step.eventhandler;
      if (!isLookupRef(handler) || handler.table !== "serviceendpoint") continue;
      const endpoint = this.env.store.get("serviceendpoint", handler.id);
      if (endpoint?.contract !== 8 || typeof endpoint.url !== "string") continue;
      this.queue(message, change, changed, step, endpoint);
    }
  }

  private queue(message: string, change: RowChange, changed: string[] | undefined, step: Row, endpoint: Row) {
    const correlationId = randomUUID();
    const body = JSON.stringify(this.context(message, change, changed, step, correlationId));
    const url = new URL(String(endpoint.url));
    const headers: Record<string, string> = {
      "content-type": "application/json",
      "x-request-id": randomUUID(),
      // The environment's host name (the emulated environment's resource URL).
      "x-ms-dynamics-organization": "cosell-sandbox.crm.dynamics.com",
      "x-ms-dynamics-entity-name": change.table,
      "x-ms-dynamics-request-name": message,
      "x-ms-correlation-request-id": correlationId,
    };
    const auth = typeof endpoint.authvalue === "string" ? endpoint.authvalue : "";
    if (endpoint.authtype === 5) for (const [k, v] of settings(auth)) headers[k.toLowerCase()] = v;
    else if (endpoint.authtype === 4) url.searchParams.set("code", auth);
    else if (endpoint.authtype === 6) for (const [k, v] of settings(auth)) url.searchParams.set(k, v);
    const delivery: DataverseWebhookDelivery = {
      id: randomUUID(),
      message,
      entity: change.table,
      recordId: change.id,
      stepId: String(step.sdkmessageprocessingstepid),
      url: url.href,
      body,
      headers,
      attempts: [],
      ok: false,
    };
    this.log.push(delivery);
    const prev = this.chains.get(change.id) ?? Promise.resolve();
    const run = prev.then(() => this.deliver(delivery));
    this.chains.set(change.id, run);
    this.inFlight.add(run);
    void run.finally(() => {
      this.inFlight.delete(run);
      if (this.chains.get(change.id) === run) this.chains.delete(change.id);
    });
  }

  private async deliver(d: DataverseWebhookDelivery): Promise<void> {
    const host = new URL(d.url).hostname;
    if (!LOOPBACK.has(host)) {
      d.attempts.push({
        error: `Not delivered: ${host} is not a loopback host, and the sandbox does not reach the network.`,
      });
      return;
    }
    for (let attempt = 0; attempt <= this.delays.length; attempt++) {
      if (attempt > 0) await new Promise((r) => setTimeout(r, this.delays[attempt - 1]));
      try {
        const res = await fetch(d.url, {
          method: "POST",
          headers: d.headers,
          body: d.body,
          signal: AbortSignal.timeout(this.timeoutMs),
        });
        await res.arrayBuffer().catch(() => undefined);
        d.attempts.push({ status: res.status });
        if (res.ok) {
          d.ok = true;
          return;
        }
      } catch (e) {
        d.attempts.push({ error: e instanceof Error ? e.message : String(e) });
      }
    }
  }

  /** The `RemoteExecutionContext` Dataverse posts (JSON of the .NET contract). */
  private context(
    message: string,
    change: RowChange,
    changed: string[] | undefined,
    step: Row,
    correlationId: string,
  ) {
    const row = change.next ?? change.prev!;
    const userRef = row.modifiedby;
    const userId = isLookupRef(userRef) ? userRef.id : "00000000-0000-0000-0000-000000000000";
    const target =
      message === "Delete"
        ? entityReference(change.table, change.id)
        : {
            __type: `Entity:${CONTRACTS}`,
            Attributes: Object.entries(row)
              .filter(([k, v]) => (message === "Create" ? v !== null : changed?.includes(k) || STAMPS.has(k)))
              .map(([key, value]) => ({ key, value: this.attributeValue(change.table, key, value) })),
            EntityState: null,
            FormattedValues: [],
            Id: change.id,
            KeyAttributes: [],
            LogicalName: change.table,
            RelatedEntities: [],
            RowVersion: row.versionnumber === undefined ? null : String(row.versionnumber),
          };
    const at = `/Date(${this.env.clock.now().getTime()})/`;
    return {
      BusinessUnitId: this.env.org.businessUnitId,
      CorrelationId: correlationId,
      Depth: 1,
      InitiatingUserAzureActiveDirectoryObjectId: "00000000-0000-0000-0000-000000000000",
      InitiatingUserId: userId,
      InputParameters: [{ key: "Target", value: target }],
      IsExecutingOffline: false,
      IsInTransaction: false,
      IsOfflinePlayback: false,
      IsolationMode: 1,
      MessageName: message,
      Mode: step.mode === 0 ? 0 : 1,
      OperationCreatedOn: at,
      OperationId: randomUUID(),
      OrganizationId: this.env.org.organizationId,
      OrganizationName: "cosell-sandbox",
      OutputParameters: message === "Create" ? [{ key: "id", value: change.id }] : [],
      OwningExtension: {
        Id: String(step.sdkmessageprocessingstepid),
        KeyAttributes: [],
        LogicalName: "sdkmessageprocessingstep",
        Name: typeof step.name === "string" ? step.name : null,
        RowVersion: null,
      },
      ParentContext: null,
      PostEntityImages: [],
      PreEntityImages: [],
      PrimaryEntityId: change.id,
      PrimaryEntityName: change.table,
      RequestId: randomUUID(),
      SecondaryEntityName: "none",
      SharedVariables: [],
      Stage: typeof step.stage === "number" ? step.stage : 40,
      UserAzureActiveDirectoryObjectId: "00000000-0000-0000-0000-000000000000",
      UserId: userId,
    };
  }

  /** A stored value as the .NET data contract serialises it. */
  private attributeValue(table: string, column: string, value: Stored): unknown {
    if (value === null) return null;
    if (isLookupRef(value)) return entityReference(value.table, value.id);
    const type = this.env.schema.resolve(table)?.columns.get(column)?.type;
    if (type === "Picklist" || type === "State" || type === "Status")
      return { __type: `OptionSetValue:${CONTRACTS}`, Value: value };
    if (type === "Money") return { __type: `Money:${CONTRACTS}`, Value: value };
    if ((type === "DateTime" || type === "DateOnly") && typeof value === "string")
      return `/Date(${Date.parse(value)})/`;
    return value;
  }
}

function entityReference(table: string, id: string) {
  return {
    __type: `EntityReference:${CONTRACTS}`,
    Id: id,
    KeyAttributes: [],
    LogicalName: table,
    Name: null,
    RowVersion: null,
  };
}

/** The `name`/`value` pairs of an `authvalue` of the form `<settings><setting name="…" value="…" /></settings>`. */
export function settings(authvalue: string): [string, string][] {
  const out: [string, string][] = [];
  const xmlText = (s: string) =>
    s
      .replace(/&quot;/g, '"')
      .replace(/&apos;/g, "'")
      .replace(/&lt;/g, "<")
      .replace(/&gt;/g, ">")
      .replace(/&amp;/g, "&");
  for (const m of authvalue.matchAll(/<setting\s+name="([^"]*)"\s+value="([^"]*)"\s*\/>/g))
    out.push([xmlText(m[1]!), xmlText(m[2]!)]);
  return out;
}
