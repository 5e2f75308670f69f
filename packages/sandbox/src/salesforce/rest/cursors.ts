import { randomBytes } from "node:crypto";
import { SalesforceApiError } from "../errors.js";
import { checksumSuffix } from "../ids.js";
import type { QueryOutcome, SObjectJson } from "../soql/executor.js";
import type { Row } from "../store/record-store.js";

/** One page of a query answer, exactly as the REST API sends it. */
export interface QueryPage {
  totalSize: number;
  done: boolean;
  nextRecordsUrl?: string;
  records: SObjectJson[];
}

interface Cursor {
  id: string;
  userId: string;
  outcome: QueryOutcome;
  rows: Row[];
  pageSize: number;
  resource: "query" | "queryAll";
  lastUsed: number;
}

/** Cursor idle lifetime (Salesforce drops query locators after 15 minutes of inactivity). */
const IDLE_MS = 15 * 60_000;

function newCursorId(): string {
  const id15 = `01g8d${randomBytes(8).toString("base64url").replace(/[-_]/g, "0").slice(0, 10)}`;
  return id15 + checksumSuffix(id15);
}

/**
 * Server-side query cursors behind `nextRecordsUrl`. A cursor keeps the ordered rows the query
 * matched when it ran (rows are immutable, so later writes do not shift the pages and rows with
 * equal timestamps are neither skipped nor repeated). Locators are `<cursorId>-<offset>`.
 */
export class CursorStore {
  private readonly cursors = new Map<string, Cursor>();

  constructor(
    private readonly maxPerUser: number,
    private readonly nowMs: () => number,
  ) {}

  /** First page of a query; opens a cursor when more pages follow. */
  first(
    outcome: QueryOutcome,
    opts: { userId: string; pageSize: number; version: string; resource: "query" | "queryAll" },
  ): QueryPage {
    if (outcome.count !== undefined) return { totalSize: outcome.count, done: true, records: [] };
    if (outcome.aggregate)
      return { totalSize: outcome.aggregate.length, done: true, records: outcome.aggregate };
    const cursor: Cursor = {
      id: newCursorId(),
      userId: opts.userId,
      outcome,
      rows: outcome.rows,
      pageSize: opts.pageSize,
      resource: opts.resource,
      lastUsed: this.nowMs(),
    };
    const page = this.page(cursor, 0, opts.version);
    if (!page.done) this.keep(cursor);
    return page;
  }

  /** A later page by locator (`01g…-2000`). */
  next(locator: string, userId: string, version: string): QueryPage {
    const m = /^(01g[a-zA-Z0-9]{15})-(\d+)$/.exec(locator);
    const cursor = m ? this.cursors.get(m[1]!) : undefined;
    if (!m || !cursor || cursor.userId !== userId || this.nowMs() - cursor.lastUsed > IDLE_MS) {
      if (cursor) this.cursors.delete(cursor.id);
      throw new SalesforceApiError(400, "INVALID_QUERY_LOCATOR", "invalid query locator");
    }
    cursor.lastUsed = this.nowMs();
    const page = this.page(cursor, Number(m[2]), version);
    if (page.done) this.cursors.delete(cursor.id);
    return page;
  }

  private page(c: Cursor, offset: number, version: string): QueryPage {
    const slice = c.rows.slice(offset, offset + c.pageSize);
    const end = offset + slice.length;
    const done = end >= c.rows.length;
    const page: QueryPage = {
      totalSize: c.rows.length,
      done,
      records: slice.map((r) => c.outcome.project(r, version)),
    };
    if (!done) page.nextRecordsUrl = `/services/data/v${version}/${c.resource}/${c.id}-${end}`;
    return page;
  }

  private keep(cursor: Cursor): void {
    this.cursors.set(cursor.id, cursor);
    const mine = [...this.cursors.values()].filter((c) => c.userId === cursor.userId);
    // Salesforce keeps a limited number of open cursors per user and drops the oldest.
    while (mine.length > this.maxPerUser) {
      const oldest = mine.shift()!;
      this.cursors.delete(oldest.id);
    }
  }

  clear(): void {
    this.cursors.clear();
  }
}
