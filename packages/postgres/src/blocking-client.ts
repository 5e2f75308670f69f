import { createRequire } from "node:module";
import { MessageChannel, type MessagePort, receiveMessageOnPort, Worker } from "node:worker_threads";
import { CoSellError } from "@cosell/core";

/**
 * A PostgreSQL connection that answers synchronously.
 *
 * The state-store port is synchronous (the engine calls it between its awaits, and the SQLite store
 * is synchronous too), so the PostgreSQL store cannot await its queries. Instead, node-postgres runs
 * in a worker thread with its own event loop; the calling thread posts a query and blocks on
 * `Atomics.wait` until the worker has the answer. A transaction is therefore a real PostgreSQL
 * transaction on one connection, committed before `transaction()` returns, exactly as with SQLite.
 *
 * The worker keeps one connection. When the connection is lost (server restart,
 * `pg_terminate_backend`), the next statement outside a transaction reconnects, with backoff, for up
 * to `reconnectForMs`; a transaction that was open when the connection died is reported as failed
 * (the server rolled it back) until the caller's ROLLBACK.
 *
 * (synckit does the same blocking call, but needs its worker as a separate file on disk; this one
 * starts from a string so it runs the same from the TypeScript sources and from `dist`.)
 */

/** What the worker answers: `id` is the request's (none when the thread reports its own failure). */
type Reply =
  | { ok: true; rows: Record<string, unknown>[]; rowCount: number; id?: number }
  | {
      ok: false;
      id?: number;
      error: {
        message: string;
        code?: string;
        constraint?: string;
        cosell?: string;
        index?: number;
        detail?: string;
      };
    };

/** A session advisory lock on two texts: the tenant's schema and the lock's key. */
export interface AdvisoryLock {
  a: string;
  b: string;
  shared: boolean;
}

export interface BlockingClientOptions {
  /** A `postgres://` URL (node-postgres connection string). */
  connectionString: string;
  /** Every connection's `search_path` (the tenant's schema; letters, digits and `_` only). */
  schema?: string;
  /** How long to keep reconnecting after the connection is lost. Default 30 s. */
  reconnectForMs?: number;
  /** How long one statement may take before the caller gives up. Default 60 s. */
  statementTimeoutMs?: number;
  /** `application_name` shown in `pg_stat_activity`. */
  applicationName?: string;
  /** The node-postgres module the connection's thread loads (tests); default: this package's `pg`. */
  pgModulePath?: string;
}

/** The code of an error raised by PostgreSQL (SQLSTATE), or of this client. */
export class PostgresError extends CoSellError {
  constructor(
    message: string,
    readonly sqlState: string | undefined,
    readonly constraint: string | undefined,
    /** In a {@link BlockingClient.batch}: which statement was refused. */
    readonly index?: number,
    /**
     * The server's detail (e.g. `Key (referral_id)=(…) already exists.`): tells which statement of a
     * batch sent as one query was refused. Kept out of `details` and the message: it quotes values.
     */
    readonly serverDetail?: string,
  ) {
    super("STATE_STORE_POSTGRES", message, {
      ...(sqlState ? { sqlState } : {}),
      ...(constraint ? { constraint } : {}),
    });
  }
}

const WORKER_SOURCE = `
const { workerData, parentPort } = require("node:worker_threads");
const { port, signal, options } = workerData;
// A thread that stops (its start failed, an error escaped) says why and wakes the caller at once:
// blocked in Atomics.wait, the caller would otherwise wait out its whole timeout and blame the server.
process.on("uncaughtException", (err) => {
  port.postMessage({ ok: false, error: { message: String((err && err.message) || err), cosell: "thread" } });
  process.exit(1);
});
process.on("exit", () => {
  Atomics.store(signal, 1, 1);
  Atomics.store(signal, 0, 1);
  Atomics.notify(signal, 0);
});
const pg = require(workerData.pgPath);
// node-postgres' own value conversion, so an inlined value reads as its parameter would.
const pgUtils = require(require("node:path").join(require("node:path").dirname(workerData.pgPath), "utils.js"));
let client;
let inTransaction = false;
let transactionLost = false;
let everConnected = false;
// Session advisory locks the caller holds: taken again after a reconnect, or every statement fails.
let locks = [];
let locksLost = false;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
// Session advisory locks keyed by two texts (schema, key), tried or released in one statement, one row
// per lock in the order given.
const LOCK_SQL = (take) =>
  "SELECT CASE WHEN s THEN " + (take ? "pg_try_advisory_lock_shared" : "pg_advisory_unlock_shared") +
  "(hashtext(a), hashtext(b)) ELSE " + (take ? "pg_try_advisory_lock" : "pg_advisory_unlock") +
  "(hashtext(a), hashtext(b)) END AS ok FROM unnest($1::text[], $2::text[], $3::boolean[]) WITH ORDINALITY AS t(a, b, s, n) ORDER BY n";
const lockParams = (ls) => [ls.map((l) => l.a), ls.map((l) => l.b), ls.map((l) => l.shared)];

async function connect() {
  const deadline = Date.now() + options.reconnectForMs;
  for (let attempt = 0; ; attempt++) {
    const c = new pg.Client({
      connectionString: options.connectionString,
      application_name: options.applicationName,
      statement_timeout: options.statementTimeoutMs,
      options: options.schema ? "-c search_path=" + options.schema : undefined,
    });
    c.on("error", () => {
      // The server closed the connection (restart, pg_terminate_backend): forget it.
      if (client === c) {
        client = undefined;
        if (inTransaction) transactionLost = true;
      }
    });
    try {
      await c.connect();
      if (everConnected) {
        for (const l of locks) {
          const fn = l.shared ? "pg_try_advisory_lock_shared" : "pg_try_advisory_lock";
          const r = await c.query("SELECT " + fn + "(hashtext($1), hashtext($2)) AS ok", [l.a, l.b]);
          if (!r.rows[0].ok) locksLost = true;
        }
      }
      everConnected = true;
      client = c;
      return c;
    } catch (err) {
      c.end().catch(() => {});
      if (Date.now() >= deadline) throw err;
      await sleep(Math.min(2000, 50 * 2 ** attempt));
    }
  }
}

async function handle(req) {
  if (req.op === "close") {
    const c = client;
    client = undefined;
    if (c) await c.end().catch(() => {});
    return { ok: true, rows: [], rowCount: 0 };
  }
  if (req.op === "park") {
    // Back to the process's idle connections: nothing of this session may reach the next user. An
    // open transaction is rolled back; DISCARD ALL releases every advisory lock and session setting.
    locks = [];
    locksLost = false;
    const c = client;
    const open = inTransaction && !transactionLost;
    inTransaction = false;
    transactionLost = false;
    if (c) {
      if (open) await c.query("ROLLBACK");
      await c.query("DISCARD ALL");
    }
    return { ok: true, rows: [], rowCount: 0 };
  }
  if (req.op === "adopt") {
    // A new user of a parked connection: its schema and name, now and on every reconnect.
    options.schema = req.schema;
    options.applicationName = req.applicationName;
    if (client)
      await client.query("SELECT set_config('search_path', $1, false), set_config('application_name', $2, false)", [
        options.schema,
        options.applicationName,
      ]);
    return { ok: true, rows: [], rowCount: 0 };
  }
  if (req.op === "unlockMany") {
    // The list still held once these are released; with none held, a lost lock no longer matters.
    locks = req.after;
    if (locks.length === 0) locksLost = false;
  }
  if (locksLost && req.op !== "rollback") {
    throw Object.assign(new Error("the connection to PostgreSQL was lost and another worker took this tenant's lock meanwhile"), { cosell: "lock" });
  }
  if (req.op === "rollback") {
    const lost = transactionLost;
    inTransaction = false;
    transactionLost = false;
    if (lost || !client) return { ok: true, rows: [], rowCount: 0 };
  } else if (transactionLost) {
    throw Object.assign(new Error("the connection to PostgreSQL was lost inside a transaction; the server rolled it back"), { cosell: "lost" });
  } else if (inTransaction && !client) {
    inTransaction = false;
    throw Object.assign(new Error("the connection to PostgreSQL was lost inside a transaction; the server rolled it back"), { cosell: "lost" });
  }
  const c = client || (await connect());
  if (locksLost && req.op !== "rollback") {
    throw Object.assign(new Error("the connection to PostgreSQL was lost and another worker took this tenant's lock meanwhile"), { cosell: "lock" });
  }
  // A transaction begun lazily starts with its first statement (see BlockingClient.beginLazily).
  if (req.begin) inTransaction = true;
  try {
    let res;
    if (req.op === "tryLockMany") {
      // Every lock tried in one statement (a try never waits, so their order does not matter), then
      // all or none: the ones taken are given back when any was refused. The caller's list of held
      // locks (taken again after a reconnect) changes only when all were taken.
      const tried = await c.query(LOCK_SQL(true), lockParams(req.locks));
      const taken = req.locks.filter((_, i) => tried.rows[i].ok === true);
      if (taken.length === req.locks.length) {
        locks = req.after;
        return { ok: true, rows: [{ ok: true }], rowCount: 1 };
      }
      if (taken.length) await c.query(LOCK_SQL(false), lockParams(taken));
      return { ok: true, rows: [{ ok: false }], rowCount: 1 };
    }
    if (req.op === "unlockMany") {
      await c.query(LOCK_SQL(false), lockParams(req.locks));
      return { ok: true, rows: [], rowCount: 0 };
    }
    if (req.op === "batch") {
      const combined = inlined(req);
      if (combined !== undefined) await c.query(combined);
      else {
        // Statements the caller deferred inside its transaction, run in order on this connection; the
        // first refusal stops the batch and says which statement it was.
        if (req.begin) await c.query("BEGIN");
        for (let i = 0; i < req.statements.length; i++) {
          try {
            await c.query(req.statements[i].sql, req.statements[i].params);
          } catch (err) {
            err.index = i;
            throw err;
          }
        }
        if (req.commit) await c.query("COMMIT");
      }
      res = { rows: [], rowCount: 0 };
    } else {
      if (req.begin) await c.query("BEGIN");
      res = await c.query(req.sql, req.params);
    }
    if (req.op === "begin") inTransaction = true;
    if (req.op === "commit" || req.commit) inTransaction = false;
    return { ok: true, rows: res.rows, rowCount: res.rowCount ?? 0 };
  } catch (err) {
    if (client !== c || err.code === "57P01" || /Connection terminated|ECONNRESET|EPIPE/.test(String(err.message))) {
      // A lost connection: drop it so that the next statement reconnects.
      if (client === c) client = undefined;
      c.end().catch(() => {});
      if (inTransaction || req.op === "begin") transactionLost = inTransaction;
      if (req.op === "commit") inTransaction = false;
    }
    throw err;
  }
}

// node-postgres' escapeLiteral, character for character the same text, with two native replaces
// instead of its loop that adds one character at a time (a batch inlines megabytes of link JSON).
function literal(str) {
  const body = str.replace(/'/g, "''");
  return str.includes("\\\\") ? " E'" + body.replace(/\\\\/g, "\\\\\\\\") + "'" : "'" + body + "'";
}

/**
 * A batch as one simple-protocol query ("BEGIN; …; …; COMMIT"): one round trip to the server instead
 * of one per statement. Each $n becomes the literal node-postgres would have sent as the parameter
 * (prepareValue, then escapeLiteral's quoting), so the server reads the same value; the SQL is cosell's own, with
 * no $n inside its quoted text. A server refusal then names no statement: the store tells which one by
 * the constraint (see the store's flush). Undefined when one round trip would not save anything, or a
 * value is binary (a Buffer has no text literal here).
 */
function inlined(req) {
  const parts = (req.begin ? 1 : 0) + req.statements.length + (req.commit ? 1 : 0);
  if (parts < 2) return undefined;
  const texts = [];
  if (req.begin) texts.push("BEGIN");
  for (const st of req.statements) {
    let binary = false;
    const text = st.sql.replace(/\\$(\\d+)/g, (_, n) => {
      const v = pgUtils.prepareValue(st.params[Number(n) - 1]);
      if (v === null || v === undefined) return "NULL";
      if (Buffer.isBuffer(v)) binary = true;
      return literal(String(v));
    });
    if (binary) return undefined;
    texts.push(text);
  }
  if (req.commit) texts.push("COMMIT");
  return texts.join(";\\n");
}

parentPort.on("message", async (req) => {
  let reply;
  try {
    reply = await handle(req);
  } catch (err) {
    reply = { ok: false, error: { message: String(err && err.message || err), code: err && err.code, constraint: err && err.constraint, cosell: err && err.cosell, index: err && err.index, detail: err && err.detail } };
  }
  // The request's id goes back with its answer: the caller never takes one answer for another's.
  reply.id = req.id;
  port.postMessage(reply);
  Atomics.store(signal, 0, 1);
  Atomics.notify(signal, 0);
});
`;

/** A connection's thread and the two channels the caller speaks to it through. */
interface ConnectionThread {
  worker: Worker;
  port: MessagePort;
  /** [0]: an answer is ready; [1]: the thread has stopped (stays set). */
  signal: Int32Array;
}

/** The id of the last request sent to any connection's thread (each answer carries its request's). */
let lastRequestId = 0;

/**
 * Threads whose client was closed, by what they were started with, kept for the next client of the
 * same server: starting a thread (its own V8 isolate, node-postgres loaded again) and connecting
 * costs about 120 ms, and a worker opens a store for every job. Only clients with a schema are kept
 * (state stores); the next one sets its own schema and name on the connection.
 */
const idleThreads = new Map<string, { thread: ConnectionThread; timer: NodeJS.Timeout }[]>();
/** Idle threads kept per kind: a worker runs `--concurrency` jobs at once, 1 by default. */
const MAX_IDLE_THREADS = 4;
/** An idle thread not taken again within this time ends, and its connection with it. */
const IDLE_THREAD_MS = 30_000;

/** Takes `thread` (the newest when unset) out of the idle ones of `key`; undefined when not there. */
function takeIdleThread(key: string, thread?: ConnectionThread): ConnectionThread | undefined {
  const list = idleThreads.get(key);
  const at = thread ? (list?.findIndex((e) => e.thread === thread) ?? -1) : (list?.length ?? 0) - 1;
  if (!list || at < 0) return undefined;
  const [idle] = list.splice(at, 1);
  clearTimeout(idle!.timer);
  if (!list.length) idleThreads.delete(key);
  return idle!.thread;
}

/** Ends a thread's connection (waiting at most `waitMs` for it) and the thread. */
function endThread(thread: ConnectionThread, waitMs: number): void {
  try {
    if (Atomics.load(thread.signal, 1) !== 1) {
      Atomics.store(thread.signal, 0, 0);
      thread.worker.postMessage({ op: "close" });
      Atomics.wait(thread.signal, 0, 0, waitMs);
      receiveMessageOnPort(thread.port);
    }
  } finally {
    void thread.worker.terminate();
  }
}

/** Starts a connection's thread (it connects on its first statement). */
function startThread(options: {
  pgPath: string;
  connectionString: string;
  schema: string | undefined;
  applicationName: string;
  statementTimeoutMs: number;
  reconnectForMs: number;
}): ConnectionThread {
  const { port1, port2 } = new MessageChannel();
  const signal = new Int32Array(new SharedArrayBuffer(8));
  const { pgPath, ...connection } = options;
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: { pgPath, port: port2, signal, options: connection },
    transferList: [port2],
    // The thread only speaks the wire protocol: a small heap keeps each connection's thread from
    // growing to V8's defaults (it would add tens of MB to every worker process).
    resourceLimits: { maxYoungGenerationSizeMb: 2, maxOldGenerationSizeMb: 256 },
  });
  // The worker must not keep a finished CLI process alive.
  worker.unref();
  return { worker, port: port1, signal };
}

/** One PostgreSQL connection, used synchronously. */
export class BlockingClient {
  /** The connection's thread (a new one, or one a closed client left idle). */
  private readonly thread: ConnectionThread;
  private readonly waitMs: number;
  /** What an idle thread must have been started with to serve this client; unset: never kept. */
  private readonly poolKey: string | undefined;
  private closed = false;
  /** Why the connection's thread stopped, when it said so. */
  private stopReason: string | undefined;
  /** `beginLazily` was called and no statement has been sent since (BEGIN goes with the next one). */
  private beginPending = false;

  constructor(options: BlockingClientOptions) {
    const statementTimeoutMs = options.statementTimeoutMs ?? 60_000;
    const reconnectForMs = options.reconnectForMs ?? 30_000;
    // The caller waits for the worker's own timeouts plus a margin, never forever.
    this.waitMs = statementTimeoutMs + reconnectForMs + 10_000;
    const pgPath = options.pgModulePath ?? createRequire(import.meta.url).resolve("pg");
    const applicationName = options.applicationName ?? "cosell";
    this.poolKey =
      options.schema === undefined
        ? undefined
        : JSON.stringify([options.connectionString, statementTimeoutMs, reconnectForMs, pgPath]);
    const idle = this.poolKey === undefined ? undefined : takeIdleThread(this.poolKey);
    if (idle) {
      this.thread = idle;
      try {
        this.call({ op: "adopt", schema: options.schema, applicationName });
        return;
      } catch {
        // The parked connection is unusable (its thread stopped, the server refused): a new one.
        endThread(idle, 1000);
        this.stopReason = undefined;
      }
    }
    this.thread = startThread({
      pgPath,
      connectionString: options.connectionString,
      schema: options.schema,
      applicationName,
      statementTimeoutMs,
      reconnectForMs,
    });
  }

  /** Runs one statement and returns its rows. Throws {@link PostgresError}. */
  query<R = Record<string, unknown>>(sql: string, params: unknown[] = []): { rows: R[]; rowCount: number } {
    const reply = this.call({ op: "query", sql, params });
    return reply as { rows: R[]; rowCount: number };
  }

  /**
   * Runs statements in order in one round trip to the connection's thread (their rows are not
   * returned). A refusal stops at that statement: the error's `index` names it.
   */
  batch(statements: readonly { sql: string; params: unknown[] }[], options: { commit?: boolean } = {}): void {
    if (options.commit) {
      if (this.beginPending && !statements.length) {
        // A transaction that never sent a statement: nothing to commit.
        this.beginPending = false;
        return;
      }
      this.call({ op: "batch", statements, commit: true });
      return;
    }
    if (statements.length) this.call({ op: "batch", statements });
  }

  begin(sql = "BEGIN"): void {
    this.beginPending = false;
    this.call({ op: "begin", sql, params: [] });
  }

  /**
   * Begins a transaction with its first statement instead of on its own: BEGIN travels with that
   * statement (one trip to the connection's thread, not two), and a transaction that sends nothing
   * costs nothing. End it with `batch(…, { commit: true })`, `commit()` or `rollback()`.
   */
  beginLazily(): void {
    this.beginPending = true;
  }

  commit(): void {
    if (this.beginPending) {
      this.beginPending = false;
      return;
    }
    this.call({ op: "commit", sql: "COMMIT", params: [] });
  }

  /**
   * Tries session advisory locks, all or none, in one trip to the connection's thread: `true` when
   * every one was taken, and `after` is then the list of locks held (taken again on a reconnect);
   * `false` when any was held elsewhere, and none is held by this call.
   */
  tryLockMany(locks: readonly AdvisoryLock[], after: readonly AdvisoryLock[]): boolean {
    if (!locks.length) return true;
    return (this.call({ op: "tryLockMany", locks, after }).rows[0] as { ok: boolean }).ok;
  }

  /** Releases session advisory locks in one trip; `after` is the list still held. */
  unlockMany(locks: readonly AdvisoryLock[], after: readonly AdvisoryLock[]): void {
    this.call({ op: "unlockMany", locks, after });
  }

  rollback(): void {
    if (this.beginPending) {
      this.beginPending = false;
      return;
    }
    this.call({ op: "rollback", sql: "ROLLBACK", params: [] });
  }

  /**
   * Closes this client. Closing twice is harmless. Its connection, rolled back and reset to a new
   * session's state (no transaction, no advisory lock, no setting), may be kept for the next client
   * of the same server and options for up to 30 s; otherwise the connection and its thread end.
   */
  close(): void {
    if (this.closed) return;
    const parked = this.park();
    this.closed = true;
    // Not kept: the connection ends with its thread (endThread skips a stopped thread's, long gone).
    if (parked === "failed") void this.thread.worker.terminate();
    else if (parked === "no") endThread(this.thread, this.waitMs);
  }

  /** Resets this client's connection and keeps it for the next client, when it may be kept. */
  private park(): "parked" | "failed" | "no" {
    const { thread } = this;
    const key = this.poolKey;
    if (key === undefined || Atomics.load(this.thread.signal, 1) === 1) return "no";
    const list = idleThreads.get(key) ?? [];
    if (list.length >= MAX_IDLE_THREADS) return "no";
    this.beginPending = false;
    try {
      this.call({ op: "park" });
    } catch {
      return "failed"; // not reset: it is not handed on
    }
    const timer = setTimeout(() => {
      if (takeIdleThread(key, thread)) endThread(thread, 5000);
    }, IDLE_THREAD_MS);
    timer.unref();
    list.push({ thread, timer });
    idleThreads.set(key, list);
    return "parked";
  }

  /**
   * The answer to request `id`, if it has come (with no `id`, only reads what is waiting). Answers to
   * earlier requests (a call that gave up waiting) are dropped; a report of the thread's own failure
   * is kept as the reason it stopped.
   */
  private takeReply(id?: number): Reply | undefined {
    for (let m = receiveMessageOnPort(this.thread.port); m; m = receiveMessageOnPort(this.thread.port)) {
      const r = (m as { message: Reply }).message;
      if (r.id === undefined && !r.ok && r.error.cosell === "thread") {
        this.stopReason = r.error.message;
        Atomics.store(this.thread.signal, 1, 1);
      } else if (id !== undefined && r.id === id) return r;
    }
    return undefined;
  }

  /** The thread is gone: every later call fails the same way, with the reason it gave if any. */
  private threadStopped(): PostgresError {
    // The reason it posted before it stopped (a failed start posts it before any call was made).
    this.takeReply();
    return new PostgresError(
      `The PostgreSQL connection thread stopped${this.stopReason ? ` (${this.stopReason})` : ""}. ` +
        "Restart cosell; if it stops again at once, reinstall cosell's dependencies (the thread loads node-postgres).",
      undefined,
      undefined,
    );
  }

  private call(req: {
    op: string;
    sql?: string;
    params?: unknown[];
    locks?: readonly unknown[];
    after?: readonly unknown[];
    schema?: string | undefined;
    applicationName?: string;
    statements?: readonly { sql: string; params: unknown[] }[];
    commit?: boolean;
    begin?: boolean;
  }): {
    rows: unknown[];
    rowCount: number;
  } {
    if (this.closed)
      throw new PostgresError("This PostgreSQL state store is closed; open it again.", undefined, undefined);
    if (this.beginPending && (req.op === "query" || req.op === "batch")) {
      req.begin = true;
      this.beginPending = false;
    }
    if (Atomics.load(this.thread.signal, 1) === 1) throw this.threadStopped();
    const id = ++lastRequestId;
    Atomics.store(this.thread.signal, 0, 0);
    this.thread.worker.postMessage({ ...req, id });
    const deadline = performance.now() + this.waitMs;
    let reply: Reply | undefined;
    for (;;) {
      // Cleared before the port is read: an answer posted after the read sets it again, so the wait
      // below cannot miss it.
      Atomics.store(this.thread.signal, 0, 0);
      reply = this.takeReply(id);
      if (reply) break;
      if (Atomics.load(this.thread.signal, 1) === 1) throw this.threadStopped();
      const remaining = deadline - performance.now();
      if (remaining <= 0) {
        // Its answer may still come: the thread ends, so that no later call can be handed it.
        Atomics.store(this.thread.signal, 1, 1);
        void this.thread.worker.terminate();
        throw new PostgresError(
          `PostgreSQL did not answer within ${Math.round(this.waitMs / 1000)} s. Check that the server is up and reachable.`,
          undefined,
          undefined,
        );
      }
      Atomics.wait(this.thread.signal, 0, 0, remaining);
    }
    if (reply.ok) return reply;
    if (reply.error.cosell === "thread") {
      this.stopReason = reply.error.message;
      throw this.threadStopped();
    }
    if (reply.error.cosell === "lock")
      throw new CoSellError(
        "TENANT_LOCK_LOST",
        "The connection to PostgreSQL dropped while this worker held a tenant's lock, and another worker " +
          "holds it now. This job stops here; its work is resumed by the worker holding the lock.",
      );
    throw new PostgresError(
      `PostgreSQL: ${reply.error.message}`,
      reply.error.cosell === "lost" ? "08006" : reply.error.code,
      reply.error.constraint,
      reply.error.index,
      reply.error.detail,
    );
  }
}
