/** Which emulated system served a request. */
export type ServerName =
  | "entra"
  | "partner-center"
  | "partner-center-webhooks"
  | "salesforce"
  | "dataverse"
  | "graph";

export interface LoggedRequest {
  server: ServerName;
  method: string;
  /** Path and query as received. */
  url: string;
  /** Route name such as `GET /referrals/{id}`: what per-endpoint counts group by. */
  endpoint: string;
  status: number;
  /** A request sent with POST that only read (a Salesforce composite of GETs): counted as a read. */
  readOnly?: boolean;
  /** Set when the fault injector answered instead of the server. */
  fault?: string;
  /** Sandbox clock time the request arrived. */
  at: string;
  /** Real milliseconds since the log was created (for measuring waits between retries). */
  atMs: number;
  /** Value of a Retry-After header sent back, in seconds. */
  retryAfter?: number;
}

/** Every request every sandbox server answered, in order. */
export class RequestLog {
  readonly entries: LoggedRequest[] = [];
  private readonly t0 = performance.now();

  record(entry: Omit<LoggedRequest, "atMs">): LoggedRequest {
    const e = { ...entry, atMs: performance.now() - this.t0 };
    this.entries.push(e);
    return e;
  }

  /** Requests matching every given property. */
  filter(
    match: Partial<Pick<LoggedRequest, "server" | "method" | "endpoint" | "status">> = {},
  ): LoggedRequest[] {
    return this.entries.filter((e) =>
      Object.entries(match).every(([k, v]) => (e as unknown as Record<string, unknown>)[k] === v),
    );
  }

  count(match: Partial<Pick<LoggedRequest, "server" | "method" | "endpoint" | "status">> = {}): number {
    return this.filter(match).length;
  }

  /** `{ "salesforce GET /query": 3, … }`. */
  countsByEndpoint(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const e of this.entries) {
      const k = `${e.server} ${e.endpoint}`;
      out[k] = (out[k] ?? 0) + 1;
    }
    return out;
  }

  /** Calls per server, split into reads (GETs and read-only POSTs) and writes (anything else). */
  callsByServer(): Record<string, { reads: number; writes: number }> {
    const out: Record<string, { reads: number; writes: number }> = {};
    for (const e of this.entries) {
      const c = out[e.server] ?? { reads: 0, writes: 0 };
      out[e.server] = c;
      if (isRead(e)) c.reads++;
      else c.writes++;
    }
    return out;
  }

  clear(): void {
    this.entries.length = 0;
  }
}

/** A read: a GET, or a POST the server marked as only reading (see {@link LoggedRequest.readOnly}). */
export function isRead(e: Pick<LoggedRequest, "method" | "readOnly">): boolean {
  return e.method === "GET" || e.readOnly === true;
}
