import { CoSellError, errorMessage } from "@cosell/core";
import type { Connection } from "jsforce";
import { openConnection, type TokenSource } from "./auth.js";
import { toCoSellError } from "./errors.js";
import type { Row } from "./mapping.js";
import type { CallCounter } from "./stats.js";

/** One entry of a describe's `recordTypeInfos`. */
export interface RecordTypeInfo {
  recordTypeId: string;
  developerName?: string;
  name?: string;
  active?: boolean;
  available?: boolean;
  master?: boolean;
  defaultRecordTypeMapping?: boolean;
}

/** One item of a collection response (SaveResult / UpsertResult). */
export interface CollectionResult {
  id?: string;
  success: boolean;
  created?: boolean;
  errors?: { statusCode?: string; message?: string; fields?: string[] }[];
}

/**
 * Records in one sObject Collections write, all types together ("The list can contain up to 200
 * objects", developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_composite_sobjects_collections_update.htm,
 * likewise …_create.htm and …_upsert.htm). More is refused whole: 400 EXCEEDED_ID_LIMIT.
 */
export const COLLECTION_MAX = 200;

/**
 * The adapter's only door to Salesforce: opens the jsforce connection on first use, counts every call
 * by endpoint, and turns jsforce's errors into typed cosell errors. Collection writes of more than
 * {@link COLLECTION_MAX} records (opportunities, accounts, contacts and contact roles counted together)
 * go out as several requests, each counted; the results come back in the order given.
 */
/** One GET of a {@link SalesforceClient.compositeReads} call: its reference and its path under `/services/data/vNN.N`. */
export interface CompositeRead {
  ref: string;
  path: string;
}

export class SalesforceClient {
  private conn: Promise<Connection> | undefined;

  constructor(
    private readonly source: TokenSource,
    private readonly counter: CallCounter,
    private readonly options: {
      apiVersion: string;
      instanceUrl?: string;
      timeoutMs?: number;
      maxResponseBytes?: number;
    },
  ) {}

  /** The connection (logs in on first use; a failed login is retried on the next call). */
  connection(): Promise<Connection> {
    this.conn ??= openConnection({ source: this.source, ...this.options }).catch((e) => {
      this.conn = undefined;
      throw e;
    });
    return this.conn;
  }

  private async run<T>(
    kind: "reads" | "writes",
    endpoint: string,
    fn: (c: Connection) => Promise<T>,
  ): Promise<T> {
    const c = await this.connection();
    this.counter.count(kind, endpoint);
    try {
      return await fn(c);
    } catch (e) {
      // A session renewal that failed inside jsforce: the token source knows the typed reason.
      if (/Unable to refresh session/.test(errorMessage(e)) && this.source.lastError instanceof CoSellError)
        throw this.source.lastError;
      throw toCoSellError(e, endpoint);
    }
  }

  /** The org's API allocations (`GET /limits`): `{ DailyApiRequests: { Max, Remaining }, … }`. */
  limits(): Promise<Record<string, { Max?: number; Remaining?: number }>> {
    return this.run("reads", "GET limits", async (c) => {
      const raw: unknown = await c.limits();
      // jsforce returns a string when the answer is not labelled JSON (salesforce.md §3).
      return (typeof raw === "string" ? JSON.parse(raw) : raw) as Record<
        string,
        { Max?: number; Remaining?: number }
      >;
    });
  }

  /** Every row of a SOQL query, following `nextRecordsUrl` (each page is one counted call). */
  async query(soql: string, options: { scanAll?: boolean } = {}): Promise<Row[]> {
    const first = await this.run(
      "reads",
      options.scanAll ? "GET queryAll" : "GET query",
      async (c) => (await c.query<Row>(soql, options.scanAll ? { scanAll: true } : {})) as unknown,
    );
    return this.queryRest(first, options.scanAll);
  }

  /**
   * Several reads in one `POST composite` (developer.salesforce.com/docs/platform/api-rest/guide/
   * resources-composite-composite-post.html): "The entire series of requests counts as a single call
   * toward your API limits". At most 25 subrequests, of which at most 5 queries (Query, QueryAll,
   * QueryMore) — the caller keeps to that. Each `path` is relative to `/services/data/vNN.N`.
   * A query's further pages are read with `queryMore` as usual; a subrequest Salesforce refused
   * throws as that request on its own would.
   */
  async compositeReads(requests: readonly CompositeRead[]): Promise<Map<string, unknown>> {
    const queries = requests.filter((r) => /^\/query(All)?[/?]/.test(r.path)).length;
    if (requests.length > 25 || queries > 5)
      throw new Error(
        `compositeReads: ${requests.length} subrequests with ${queries} queries (at most 25 and 5).`,
      );
    type Sub = { body: unknown; httpStatusCode: number; referenceId: string };
    const answer = await this.run("reads", "POST composite", async (c) =>
      c.requestPost<{ compositeResponse: Sub[] }>("/composite", {
        allOrNone: false,
        compositeRequest: requests.map((r) => ({
          method: "GET",
          url: `/services/data/v${c.version}${r.path}`,
          referenceId: r.ref,
        })),
      }),
    );
    const out = new Map<string, unknown>();
    for (const sub of answer.compositeResponse ?? []) {
      if (sub.httpStatusCode >= 400) {
        const item = (Array.isArray(sub.body) ? sub.body[0] : sub.body) as
          | { errorCode?: string; message?: string }
          | undefined;
        const e = Object.assign(new Error(item?.message ?? `HTTP ${sub.httpStatusCode}`), {
          name: item?.errorCode ?? `ERROR_HTTP_${sub.httpStatusCode}`,
          errorCode: item?.errorCode ?? `ERROR_HTTP_${sub.httpStatusCode}`,
        });
        throw toCoSellError(e, `composite ${sub.referenceId}`);
      }
      out.set(sub.referenceId, sub.body);
    }
    for (const r of requests)
      if (!out.has(r.ref)) throw toCoSellError(new Error(`no answer for ${r.ref}`), "POST composite");
    return out;
  }

  /** A query's first page (as answered, or from a composite) and every further page (`queryMore`). */
  async queryRest(first: unknown, scanAll = false): Promise<Row[]> {
    type Page = { records: Row[]; done: boolean; nextRecordsUrl?: string };
    let page = first as Page;
    const rows = [...(page.records ?? [])];
    const endpoint = scanAll ? "GET queryAll" : "GET query";
    while (!page.done && page.nextRecordsUrl) {
      const next = page.nextRecordsUrl;
      page = await this.run(
        "reads",
        `${endpoint}/{locator}`,
        async (c) => (await c.queryMore<Row>(next)) as Page,
      );
      rows.push(...page.records);
    }
    return rows;
  }

  describe(type: string): Promise<{ fields: Row[]; recordTypeInfos?: RecordTypeInfo[] }> {
    return this.run("reads", `GET sobjects/${type}/describe`, async (c) => {
      const d = await c.request<{ fields: Row[]; recordTypeInfos?: RecordTypeInfo[] }>(
        `/sobjects/${type}/describe`,
      );
      return d;
    });
  }

  /**
   * A picklist's values for one record type (User Interface API "Get Values for a Picklist Field",
   * developer.salesforce.com/docs/atlas.en-us.uiapi.meta/uiapi/ui_api_resources_picklist_values.htm):
   * for Opportunity.StageName, the stages of the record type's sales process.
   */
  picklistValues(type: string, recordTypeId: string, field: string): Promise<string[]> {
    return this.run("reads", "GET ui-api/picklist-values", async (c) => {
      const r = await c.request<{ values?: { value: string }[] }>(
        `/ui-api/object-info/${type}/picklist-values/${recordTypeId}/${field}`,
      );
      return (r.values ?? []).map((v) => v.value);
    });
  }

  /** `sobjects/{type}/deleted`: ids deleted in the window (Salesforce keeps ~15 days). */
  deleted(
    type: string,
    start: Date,
    end: Date,
  ): Promise<{ deletedRecords: { id: string; deletedDate: string }[]; latestDateCovered: string }> {
    return this.run("reads", `GET sobjects/${type}/deleted`, (c) =>
      c.sobject(type).deleted(start, end),
    ) as never;
  }

  /** One collection write per {@link COLLECTION_MAX} records, in order; the results concatenated. */
  private async collection(
    records: Row[],
    send: (part: Row[]) => Promise<CollectionResult[]>,
  ): Promise<CollectionResult[]> {
    const out: CollectionResult[] = [];
    for (let i = 0; i < records.length; i += COLLECTION_MAX)
      out.push(...(await send(records.slice(i, i + COLLECTION_MAX))));
    return out;
  }

  /** `POST composite/sobjects`: creates, mixed types allowed, per-record results in order. */
  create(records: Row[]): Promise<CollectionResult[]> {
    return this.collection(records, (part) =>
      this.run("writes", "POST composite/sobjects", (c) =>
        c.requestPost<CollectionResult[]>("/composite/sobjects", { allOrNone: false, records: part }),
      ),
    );
  }

  /** `PATCH composite/sobjects`: updates, mixed types allowed, per-record results in order. */
  update(records: Row[]): Promise<CollectionResult[]> {
    return this.collection(records, (part) =>
      this.run("writes", "PATCH composite/sobjects", (c) =>
        c.requestPatch<CollectionResult[]>("/composite/sobjects", { allOrNone: false, records: part }),
      ),
    );
  }

  /** `PATCH composite/sobjects/{type}/{extField}`: upserts on an external id. */
  upsert(type: string, extField: string, records: Row[]): Promise<CollectionResult[]> {
    return this.collection(records, (part) =>
      this.run("writes", `PATCH composite/sobjects/${type}/{field}`, (c) =>
        c.requestPatch<CollectionResult[]>(`/composite/sobjects/${type}/${extField}`, {
          allOrNone: false,
          records: part,
        }),
      ),
    );
  }

  /** `DELETE composite/sobjects?ids=…`: deletes by id, per-record results in order. */
  destroy(ids: string[]): Promise<CollectionResult[]> {
    return this.collection(
      ids.map((id) => ({ id })),
      (part) =>
        this.run("writes", "DELETE composite/sobjects", (c) =>
          c.request<CollectionResult[]>({
            method: "DELETE",
            url: `/composite/sobjects?allOrNone=false&ids=${part.map((r) => String(r.id)).join(",")}`,
          }),
        ),
    );
  }

  /** A Tooling API query (one page: the objects cosell asks about have a handful of rows). */
  toolingQuery(soql: string): Promise<Row[]> {
    return this.run("reads", "GET tooling/query", async (c) => {
      const r = (await c.tooling.query<Row>(soql)) as { records: Row[] };
      return r.records;
    });
  }

  /** A Tooling API create (`POST tooling/sobjects/{type}`); Salesforce's error comes back as a typed error. */
  toolingCreate(type: string, body: Row): Promise<CollectionResult> {
    return this.run("writes", `POST tooling/sobjects/${type}`, (c) =>
      c.requestPost<CollectionResult>(`${c.tooling._baseUrl()}/sobjects/${type}`, body),
    );
  }

  /**
   * Gets a new session from the configured flow and puts it on the connection (the Streaming API's
   * client keeps the token it was made with: after an authentication failure it is made again).
   */
  async renewSession(): Promise<Connection> {
    const c = await this.connection();
    const token = await this.source.obtain();
    c.accessToken = token.access_token;
    return c;
  }

  /** The integration user's id (known once logged in). */
  userId(): string | undefined {
    return this.source.userId;
  }

  /** Metadata API `readMetadata` (≤ 10 names). Missing components come back without a fullName. */
  readMetadata(type: string, names: string[]): Promise<Row[]> {
    return this.run("reads", "SOAP readMetadata", async (c) => {
      const r = (await c.metadata.read(type as never, names)) as unknown;
      return (Array.isArray(r) ? r : [r]) as Row[];
    });
  }

  /** Metadata API `listMetadata` of one type: the full names of the org's components. */
  listMetadata(type: string): Promise<string[]> {
    return this.run("reads", "SOAP listMetadata", async (c) => {
      const r = (await c.metadata.list([{ type }])) as unknown;
      return (Array.isArray(r) ? r : r ? [r] : []).map((p) => String((p as Row).fullName));
    });
  }

  /**
   * Metadata API `deploy` of a metadata-format zip; returns the deploy's id for
   * {@link checkDeployStatus}. Every component or none (`rollbackOnError`); `checkOnly` saves nothing.
   */
  deployZip(zip: Buffer, options: { checkOnly: boolean }): Promise<string> {
    return this.run("writes", "SOAP deploy", async (c) => {
      // The locator's promise is the deploy call's AsyncResult (its id); the polling is ours.
      const result = (await c.metadata.deploy(zip, {
        checkOnly: options.checkOnly,
        rollbackOnError: true,
        singlePackage: true,
      })) as unknown as Row;
      return String(result.id);
    });
  }

  /** Metadata API `checkDeployStatus` with details: where a deploy stands, and each component's problem. */
  checkDeployStatus(id: string): Promise<Row> {
    return this.run("reads", "SOAP checkDeployStatus", async (c) => {
      return (await c.metadata.checkDeployStatus(id, true)) as unknown as Row;
    });
  }

  /** Metadata API `createMetadata` / `updateMetadata` (≤ 10 components of one type). */
  saveMetadata(
    op: "create" | "update",
    type: string,
    components: Row[],
  ): Promise<{ fullName: string; success: boolean; errors?: unknown }[]> {
    return this.run("writes", `SOAP ${op}Metadata`, async (c) => {
      const md = c.metadata as unknown as Record<string, (t: string, m: unknown[]) => Promise<unknown>>;
      const r = await md[op]!.call(c.metadata, type, components);
      return (Array.isArray(r) ? r : [r]) as { fullName: string; success: boolean; errors?: unknown }[];
    });
  }
}
