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
 * One worker thread serves every connection of the process, each a session of its own (its
 * connection, transaction and advisory locks): the caller blocks on every call, so a second thread
 * would never run a statement next to the first, and each costs about 12 MB. When a connection is
 * lost (server restart, `pg_terminate_backend`), its next statement outside a transaction
 * reconnects, with backoff, for up to `reconnectForMs`; a transaction that was open when the
 * connection died is reported as failed (the server rolled it back) until the caller's ROLLBACK.
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
const { port, signal } = workerData;
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
// The process's connections, each a session of its own: its client, its transaction, its locks.
const sessions = new Map();
function newSession(options) {
  return {
    options,
    client: undefined,
    inTransaction: false,
    transactionLost: false,
    everConnected: false,
    // Session advisory locks the caller holds: taken again after a reconnect, or every statement fails.
    locks: [],
    locksLost: false,
  };
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
// Session advisory locks keyed by two texts (schema, key), tried or released in one statement, one row
// per lock in the order given.
const LOCK_SQL = (take) =>
  "SELECT CASE WHEN s THEN " + (take ? "pg_try_advisory_lock_shared" : "pg_advisory_unlock_shared") +
  "(hashtext(a), hashtext(b)) ELSE " + (take ? "pg_try_advisory_lock" : "pg_advisory_unlock") +
  "(hashtext(a), hashtext(b)) END AS ok FROM unnest($1::text[], $2::text[], $3::boolean[]) WITH ORDINALITY AS t(a, b, s, n) ORDER BY n";
const lockParams = (ls) => [ls.map((l) => l.a), ls.map((l) => l.b), ls.map((l) => l.shared)];

async function connect(s) {
  const { options } = s;
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
      if (s.client === c) {
        s.client = undefined;
        if (s.inTransaction) s.transactionLost = true;
      }
    });
    try {
      await c.connect();
      if (s.everConnected) {
        for (const l of s.locks) {
          const fn = l.shared ? "pg_try_advisory_lock_shared" : "pg_try_advisory_lock";
          const r = await c.query("SELECT " + fn + "(hashtext($1), hashtext($2)) AS ok", [l.a, l.b]);
          if (!r.rows[0].ok) s.locksLost = true;
        }
      }
      s.everConnected = true;
      s.client = c;
      return c;
    } catch (err) {
      c.end().catch(() => {});
      if (Date.now() >= deadline) throw err;
      await sleep(Math.min(2000, 50 * 2 ** attempt));
    }
  }
}

async function handle(req) {
  // A session starts with its first request, which carries its options.
  if (req.open && !sessions.has(req.session)) sessions.set(req.session, newSession(req.open));
  const s = sessions.get(req.session);
  if (!s && req.op === "close") return { ok: true, rows: [], rowCount: 0 };
  if (!s) throw new Error("no such connection (it was closed)");
  if (req.op === "close") {
    const c = s.client;
    sessions.delete(req.session);
    if (c) await c.end().catch(() => {});
    return { ok: true, rows: [], rowCount: 0 };
  }
  if (req.op === "park") {
    // Back to the process's idle connections: nothing of this session may reach the next user. An
    // open transaction is rolled back; DISCARD ALL releases every advisory lock and session setting.
    s.locks = [];
    s.locksLost = false;
    const c = s.client;
    const open = s.inTransaction && !s.transactionLost;
    s.inTransaction = false;
    s.transactionLost = false;
    if (c) {
      if (open) await c.query("ROLLBACK");
      await c.query("DISCARD ALL");
    }
    return { ok: true, rows: [], rowCount: 0 };
  }
  if (req.op === "adopt") {
    // A new user of a parked connection: its schema and name, now and on every reconnect.
    s.options.schema = req.schema;
    s.options.applicationName = req.applicationName;
    if (s.client)
      await s.client.query("SELECT set_config('search_path', $1, false), set_config('application_name', $2, false)", [
        s.options.schema,
        s.options.applicationName,
      ]);
    return { ok: true, rows: [], rowCount: 0 };
  }
  if (req.op === "unlockMany") {
    // The list still held once these are released; with none held, a lost lock no longer matters.
    s.locks = req.after;
    if (s.locks.length === 0) s.locksLost = false;
  }
  if (s.locksLost && req.op !== "rollback") {
    throw Object.assign(new Error("the connection to PostgreSQL was lost and another worker took this tenant's lock meanwhile"), { cosell: "lock" });
  }
  if (req.op === "rollback") {
    const lost = s.transactionLost;
    s.inTransaction = false;
    s.transactionLost = false;
    if (lost || !s.client) return { ok: true, rows: [], rowCount: 0 };
  } else if (s.transactionLost) {
    throw Object.assign(new Error("the connection to PostgreSQL was lost inside a transaction; the server rolled it back"), { cosell: "lost" });
  } else if (s.inTransaction && !s.client) {
    s.inTransaction = false;
    throw Object.assign(new Error("the connection to PostgreSQL was lost inside a transaction; the server rolled it back"), { cosell: "lost" });
  }
  const c = s.client || (await connect(s));
  if (s.locksLost && req.op !== "rollback") {
    throw Object.assign(new Error("the connection to PostgreSQL was lost and another worker took this tenant's lock meanwhile"), { cosell: "lock" });
  }
  // A transaction begun lazily starts with its first statement (see BlockingClient.beginLazily).
  if (req.begin) s.inTransaction = true;
  try {
    let res;
    if (req.op === "tryLockMany") {
      // Every lock tried in one statement (a try never waits, so their order does not matter), then
      // all or none: the ones taken are given back when any was refused. The caller's list of held
      // locks (taken again after a reconnect) changes only when all were taken.
      const tried = await c.query(LOCK_SQL(true), lockParams(req.locks));
      const taken = req.locks.filter((_, i) => tried.rows[i].ok === true);
      if (taken.length === req.locks.length) {
        s.locks = req.after;
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
    if (req.op === "begin") s.inTransaction = true;
    if (req.op === "commit" || req.commit) s.inTransaction = false;
    return { ok: true, rows: res.rows, rowCount: res.rowCount ?? 0 };
  } catch (err) {
    if (s.client !== c || err.code === "57P01" || /Connection terminated|ECONNRESET|EPIPE/.test(String(err.message))) {
      // A lost connection: drop it so that the next statement reconnects.
      if (s.client === c) s.client = undefined;
      c.end().catch(() => {});
      if (s.inTransaction || req.op === "begin") s.transactionLost = s.inTransaction;
      if (req.op === "commit") s.inTransaction = false;
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

/** The connections' thread and the two channels the caller speaks to it through. */
interface ConnectionThread {
  worker: Worker;
  port: MessagePort;
  /** [0]: an answer is ready; [1]: the thread has stopped (stays set). */
  signal: Int32Array;
  /** Sessions open on it (in use or idle): the thread ends with its last one. */
  sessions: number;
  /** Why the thread stopped, when it said so. */
  stopReason?: string;
  /** The node-postgres module it loaded: its key in the process's threads. */
  pgPath: string;
}

/** What a session's connection is opened with (sent with its requests; used by the first). */
interface SessionOptions {
  connectionString: string;
  schema: string | undefined;
  applicationName: string;
  statementTimeoutMs: number;
  reconnectForMs: number;
}

/** The id of the last request sent to a connections' thread (each answer carries its request's). */
let lastRequestId = 0;
/** The id of the last session (connection) opened. */
let lastSessionId = 0;

/**
 * The process's connections' thread, per node-postgres module: one thread serves every connection.
 * A thread is its own V8 isolate with node-postgres loaded again (about 12 MB of memory), and the
 * callers block on each call, so a process never has two calls in flight: a thread per connection
 * (a worker has the registry's and the job's store's, and one more per concurrent job) bought
 * nothing but memory.
 */
const threads = new Map<string, ConnectionThread>();

/** The live thread for `pgPath`, started when there is none (it connects on each session's first statement). */
function threadFor(pgPath: string): ConnectionThread {
  const running = threads.get(pgPath);
  if (running && Atomics.load(running.signal, 1) !== 1) return running;
  const thread = startThread(pgPath);
  threads.set(pgPath, thread);
  return thread;
}

/**
 * Sessions whose client was closed, by server and options, kept for the next client of the same
 * server: connecting costs a round trip and authentication, and a worker opens a store for every job.
 * Only clients with a schema are kept (state stores); the next one sets its own schema and name on
 * the connection.
 */
const idleSessions = new Map<
  string,
  { thread: ConnectionThread; session: number; timer: NodeJS.Timeout }[]
>();
/** Idle connections kept per kind: a worker runs `--concurrency` jobs at once, 1 by default. */
const MAX_IDLE_SESSIONS = 4;
/** An idle connection not taken again within this time ends. */
const IDLE_SESSION_MS = 30_000;

/** Takes `session` (the newest when unset) out of the idle ones of `key`; undefined when not there. */
function takeIdleSession(
  key: string,
  session?: number,
): { thread: ConnectionThread; session: number } | undefined {
  const list = idleSessions.get(key);
  const at =
    session !== undefined ? (list?.findIndex((e) => e.session === session) ?? -1) : (list?.length ?? 0) - 1;
  if (!list || at < 0) return undefined;
  const [idle] = list.splice(at, 1);
  clearTimeout(idle!.timer);
  if (!list.length) idleSessions.delete(key);
  return { thread: idle!.thread, session: idle!.session };
}

/**
 * Ends a session's connection (waiting at most `waitMs` for it); the thread ends with its last
 * session. A stopped thread's connections are long gone.
 */
function endSession(thread: ConnectionThread, session: number, waitMs: number): void {
  thread.sessions--;
  if (Atomics.load(thread.signal, 1) === 1) return;
  try {
    send(thread, { op: "close", session }, waitMs);
  } catch {
    // Not answered in time or the thread stopped: the thread ends below or already has.
  }
  if (thread.sessions <= 0) stopThread(thread);
}

/** Ends the thread at once (its connections with it): no later call can be handed an answer of its. */
function stopThread(thread: ConnectionThread): void {
  Atomics.store(thread.signal, 1, 1);
  if (threads.get(thread.pgPath) === thread) threads.delete(thread.pgPath);
  void thread.worker.terminate();
}

/**
 * The answer to request `id`, if it has come (with no `id`, only reads what is waiting). Answers to
 * earlier requests (a call that gave up waiting) are dropped; a report of the thread's own failure
 * is kept as the reason it stopped.
 */
function takeReply(thread: ConnectionThread, id?: number): Reply | undefined {
  for (let m = receiveMessageOnPort(thread.port); m; m = receiveMessageOnPort(thread.port)) {
    const r = (m as { message: Reply }).message;
    if (r.id === undefined && !r.ok && r.error.cosell === "thread") {
      thread.stopReason = r.error.message;
      Atomics.store(thread.signal, 1, 1);
    } else if (id !== undefined && r.id === id) return r;
  }
  return undefined;
}

/** The thread is gone: every later call fails the same way, with the reason it gave if any. */
function threadStopped(thread: ConnectionThread): PostgresError {
  // The reason it posted before it stopped (a failed start posts it before any call was made).
  takeReply(thread);
  return new PostgresError(
    `The PostgreSQL connection thread stopped${thread.stopReason ? ` (${thread.stopReason})` : ""}. ` +
      "Restart cosell; if it stops again at once, reinstall cosell's dependencies (the thread loads node-postgres).",
    undefined,
    undefined,
  );
}

/**
 * Posts one request and blocks until its answer. A call that gives up waiting ends the thread: its
 * answer may still come, and no later call may be handed it.
 */
function send(thread: ConnectionThread, req: Record<string, unknown>, waitMs: number): Reply {
  if (Atomics.load(thread.signal, 1) === 1) throw threadStopped(thread);
  const id = ++lastRequestId;
  Atomics.store(thread.signal, 0, 0);
  thread.worker.postMessage({ ...req, id });
  const deadline = performance.now() + waitMs;
  for (;;) {
    // Cleared before the port is read: an answer posted after the read sets it again, so the wait
    // below cannot miss it.
    Atomics.store(thread.signal, 0, 0);
    const reply = takeReply(thread, id);
    if (reply) return reply;
    if (Atomics.load(thread.signal, 1) === 1) throw threadStopped(thread);
    const remaining = deadline - performance.now();
    if (remaining <= 0) {
      stopThread(thread);
      throw new PostgresError(
        `PostgreSQL did not answer within ${Math.round(waitMs / 1000)} s. Check that the server is up and reachable.`,
        undefined,
        undefined,
      );
    }
    Atomics.wait(thread.signal, 0, 0, remaining);
  }
}

/** A new session (connection) on the live thread for `pgPath`; it connects with its first statement. */
function newSession(pgPath: string): { thread: ConnectionThread; session: number } {
  const thread = threadFor(pgPath);
  thread.sessions++;
  return { thread, session: ++lastSessionId };
}

/** Starts the connections' thread. */
function startThread(pgPath: string): ConnectionThread {
  const { port1, port2 } = new MessageChannel();
  const signal = new Int32Array(new SharedArrayBuffer(8));
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: { pgPath, port: port2, signal },
    transferList: [port2],
    // The thread only speaks the wire protocol: a small heap keeps it from growing to V8's defaults
    // (it would add tens of MB to every worker process).
    resourceLimits: { maxYoungGenerationSizeMb: 2, maxOldGenerationSizeMb: 256 },
  });
  // The worker must not keep a finished CLI process alive.
  worker.unref();
  return { worker, port: port1, signal, sessions: 0, pgPath };
}

/** One PostgreSQL connection, used synchronously. */
export class BlockingClient {
  /** The thread its connection lives on (shared with the process's other connections). */
  private thread: ConnectionThread;
  /** Its connection's session id on that thread. */
  private session: number;
  /** What its connection is opened with when the thread has not seen it yet. */
  private readonly open: SessionOptions;
  private readonly pgPath: string;
  /** A call of this client found the thread stopped or gave up on it: every later call fails. */
  private failed = false;
  /** A transaction is open on its connection (as far as this side knows). */
  private inTransaction = false;
  /** Advisory locks its connection holds. */
  private locksHeld = 0;
  private readonly waitMs: number;
  /** What an idle connection must have been opened with to serve this client; unset: never kept. */
  private readonly poolKey: string | undefined;
  private closed = false;
  /** `beginLazily` was called and no statement has been sent since (BEGIN goes with the next one). */
  private beginPending = false;

  constructor(options: BlockingClientOptions) {
    const statementTimeoutMs = options.statementTimeoutMs ?? 60_000;
    const reconnectForMs = options.reconnectForMs ?? 30_000;
    // The caller waits for the worker's own timeouts plus a margin, never forever.
    this.waitMs = statementTimeoutMs + reconnectForMs + 10_000;
    const pgPath = options.pgModulePath ?? createRequire(import.meta.url).resolve("pg");
    const applicationName = options.applicationName ?? "cosell";
    this.pgPath = pgPath;
    this.open = {
      connectionString: options.connectionString,
      schema: options.schema,
      applicationName,
      statementTimeoutMs,
      reconnectForMs,
    };
    this.poolKey =
      options.schema === undefined
        ? undefined
        : JSON.stringify([options.connectionString, statementTimeoutMs, reconnectForMs, pgPath]);
    const idle = this.poolKey === undefined ? undefined : takeIdleSession(this.poolKey);
    if (idle) {
      if (Atomics.load(idle.thread.signal, 1) !== 1) {
        this.thread = idle.thread;
        this.session = idle.session;
        try {
          this.call({ op: "adopt", schema: options.schema, applicationName });
          return;
        } catch {
          // Unusable (the thread stopped, the server refused): a new connection, with a clean slate.
          this.failed = false;
        }
      }
      endSession(idle.thread, idle.session, 1000);
    }
    const fresh = newSession(pgPath);
    this.thread = fresh.thread;
    this.session = fresh.session;
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
   * of the same server and options for up to 30 s; otherwise it ends (and the thread with the
   * process's last connection).
   */
  close(): void {
    if (this.closed) return;
    const parked = this.park();
    this.closed = true;
    if (parked === "no") endSession(this.thread, this.session, this.waitMs);
  }

  /** Resets this client's connection and keeps it for the next client, when it may be kept. */
  private park(): "parked" | "no" {
    const { thread, session } = this;
    const key = this.poolKey;
    if (key === undefined || Atomics.load(thread.signal, 1) === 1) return "no";
    const list = idleSessions.get(key) ?? [];
    if (list.length >= MAX_IDLE_SESSIONS) return "no";
    this.beginPending = false;
    try {
      this.call({ op: "park" });
    } catch {
      return "no"; // not reset: it is not handed on
    }
    this.inTransaction = false;
    this.locksHeld = 0;
    const timer = setTimeout(() => {
      if (takeIdleSession(key, session)) endSession(thread, session, 5000);
    }, IDLE_SESSION_MS);
    timer.unref();
    list.push({ thread, session, timer });
    idleSessions.set(key, list);
    return "parked";
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
    if (Atomics.load(this.thread.signal, 1) === 1 && !this.failed && !this.inTransaction && !this.locksHeld) {
      // The thread stopped while this client was between calls (another connection's call gave up on
      // it): like a dropped connection outside a transaction, this one opens again on a new thread.
      ({ thread: this.thread, session: this.session } = newSession(this.pgPath));
    }
    let reply: Reply;
    try {
      reply = send(this.thread, { ...req, session: this.session, open: this.open }, this.waitMs);
    } catch (err) {
      this.failed = true;
      throw err;
    }
    if (req.op === "begin" || req.begin) this.inTransaction = true;
    if (req.op === "commit" || req.op === "rollback" || req.commit) this.inTransaction = false;
    if (reply.ok) {
      if (req.op === "unlockMany" || (req.op === "tryLockMany" && (reply.rows[0] as { ok: boolean }).ok))
        this.locksHeld = req.after?.length ?? 0;
      return reply;
    }
    if (reply.error.cosell === "thread") {
      this.failed = true;
      this.thread.stopReason = reply.error.message;
      throw threadStopped(this.thread);
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
