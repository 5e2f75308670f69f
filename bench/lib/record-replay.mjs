/**
 * Records every HTTP exchange the sandbox servers of this process answer (method, path, headers, body,
 * response), then replays the same sequence with plain `fetch` against a fresh sandbox restored from
 * the same snapshot. The replay is the "raw" baseline: the same requests with no engine, no adapter,
 * no mapping and no state store, so engine time / replay time is the engine's overhead.
 *
 * Recording taps `http.Server.prototype.emit` (server side), so it sees jsforce (node-fetch) and
 * `fetch` clients alike without changing them. It is only on during an untimed recording run.
 */
import http from "node:http";

const HOP_HEADERS = new Set([
  "host",
  "connection",
  "content-length",
  "transfer-encoding",
  "keep-alive",
  "accept-encoding",
]);
/** Opaque values worth mapping: ids, tokens, locators, etags (no spaces, colons or slashes). */
const TOKEN = /[A-Za-z0-9_\-.~]{6,}/g;

/** Starts recording; `stop()` restores the server prototype and returns the exchanges in arrival order. */
export function startRecording() {
  /** @type {any[]} */
  const exchanges = [];
  const original = http.Server.prototype.emit;
  const t0 = performance.now();
  http.Server.prototype.emit = function tappedEmit(event, req, res) {
    if (event === "request") tap(req, res, this, exchanges, t0);
    // biome-ignore lint/complexity/noArguments: forwards any listener arguments unchanged
    return original.apply(this, /** @type {any} */ (arguments));
  };
  return {
    stop() {
      http.Server.prototype.emit = original;
      return exchanges;
    },
  };
}

function tap(req, res, server, exchanges, t0) {
  const address = server.address();
  const ex = {
    port: typeof address === "object" && address ? address.port : 0,
    method: req.method,
    url: req.url,
    headers: { ...req.headers },
    start: performance.now() - t0,
    end: Number.POSITIVE_INFINITY,
    body: /** @type {Buffer[]} */ ([]),
    status: 0,
    responseHeaders: {},
    responseBody: /** @type {Buffer[]} */ ([]),
  };
  exchanges.push(ex);
  // The parser hands body chunks to the request stream through push(): tee them without consuming.
  const push = req.push;
  req.push = function tappedPush(chunk, encoding) {
    if (chunk)
      ex.body.push(
        Buffer.from(
          chunk,
          /** @type {BufferEncoding | undefined} */ (typeof encoding === "string" ? encoding : undefined),
        ),
      );
    return push.call(this, chunk, encoding);
  };
  const write = res.write;
  const end = res.end;
  const keep = (chunk, encoding) => {
    if (chunk && typeof chunk !== "function")
      ex.responseBody.push(
        Buffer.from(
          chunk,
          /** @type {BufferEncoding | undefined} */ (typeof encoding === "string" ? encoding : undefined),
        ),
      );
  };
  res.write = function tappedWrite(chunk, encoding, ...rest) {
    keep(chunk, encoding);
    return write.call(this, chunk, encoding, ...rest);
  };
  res.end = function tappedEnd(chunk, encoding, ...rest) {
    keep(chunk, encoding);
    ex.end = performance.now() - t0;
    ex.status = res.statusCode;
    ex.responseHeaders = { ...res.getHeaders() };
    return end.call(this, chunk, encoding, ...rest);
  };
}

/** Keeps only the exchanges that reached one of `ports` (the systems the engine talks to). */
export function finishRecording(exchanges, ports) {
  const wanted = new Set(ports);
  return exchanges
    .filter((e) => wanted.has(e.port))
    .map((e) => ({
      ...e,
      body: e.body.length ? Buffer.concat(e.body).toString("utf8") : undefined,
      responseBody: Buffer.concat(e.responseBody).toString("utf8"),
    }));
}

/** Old value → new value of every opaque token that differed between the recorded and replayed run. */
class ValueMap {
  constructor() {
    this.map = new Map();
  }
  /** Aligns two strings token by token (when they split alike) and remembers what changed. */
  learn(oldValue, newValue) {
    if (typeof oldValue !== "string" || typeof newValue !== "string" || oldValue === newValue) return;
    const a = oldValue.match(TOKEN) ?? [];
    const b = newValue.match(TOKEN) ?? [];
    if (a.length !== b.length) return;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) this.map.set(a[i], b[i]);
  }
  /** Walks two JSON values of the same shape and learns from every differing string. */
  learnJson(a, b) {
    if (typeof a === "string") return this.learn(a, b);
    if (!a || !b || typeof a !== "object" || typeof b !== "object") return;
    if (Array.isArray(a)) {
      if (!Array.isArray(b)) return;
      for (let i = 0; i < Math.min(a.length, b.length); i++) this.learnJson(a[i], b[i]);
      return;
    }
    for (const k of Object.keys(a)) if (k in b) this.learnJson(a[k], b[k]);
  }
  apply(text) {
    if (!text || this.map.size === 0) return text;
    return text.replace(TOKEN, (t) => this.map.get(t) ?? t);
  }
}

function parseJson(text) {
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * Replays `exchanges` against `origin(port)` with plain `fetch`. A request starts once every request
 * that had finished before it started in the recording has finished here, so the recording's
 * concurrency is kept (a sequential client stays sequential, a parallel one stays parallel). Ids,
 * tokens and locators the server hands out are substituted as they are learned from the responses.
 * `substitutions` are old → new values known before the first request (credentials the replaying
 * sandbox issued on its own start-up, which no recorded response teaches).
 * Returns the wall time, and how many responses got a different status than recorded (should be 0).
 * @param {any[]} exchanges
 * @param {(port: number) => string | undefined} originFor
 * @param {{ substitutions?: [string, string][] }} [options]
 */
export async function replay(exchanges, originFor, { substitutions = [] } = {}) {
  const values = new ValueMap();
  for (const [from, to] of substitutions) values.learn(from, to);
  const byEnd = exchanges.map((e, i) => ({ i, end: e.end })).sort((a, b) => a.end - b.end);
  const done = new Array(exchanges.length);
  let waitedUpTo = 0;
  let statusMismatches = 0;
  const mismatchSamples = [];
  const t0 = performance.now();
  const inFlight = [];
  for (let i = 0; i < exchanges.length; i++) {
    const ex = exchanges[i];
    const before = [];
    for (let next = byEnd[waitedUpTo]; next && next.end <= ex.start; next = byEnd[waitedUpTo]) {
      before.push(done[next.i]);
      waitedUpTo++;
    }
    if (before.length) await Promise.all(before);
    /** @type {Record<string, string>} */
    const headers = {};
    for (const [k, v] of Object.entries(ex.headers))
      if (!HOP_HEADERS.has(k)) headers[k] = values.apply(Array.isArray(v) ? v.join(", ") : String(v));
    const body = ex.body === undefined ? undefined : values.apply(ex.body);
    const url = originFor(ex.port) + values.apply(ex.url);
    const p = fetch(url, { method: ex.method, headers, body }).then(async (res) => {
      const text = await res.text();
      if (res.status !== ex.status) {
        statusMismatches++;
        if (mismatchSamples.length < 5)
          mismatchSamples.push(`${ex.method} ${ex.url.slice(0, 80)}: ${ex.status} → ${res.status}`);
      }
      for (const h of ["etag", "location", "odata-entityid", "sforce-locator"]) {
        const old = ex.responseHeaders[h];
        const now = res.headers.get(h);
        if (old && now) values.learn(String(old), now);
      }
      values.learnJson(parseJson(ex.responseBody), parseJson(text));
    });
    done[i] = p;
    inFlight.push(p);
  }
  await Promise.all(inFlight);
  return { wallMs: performance.now() - t0, requests: exchanges.length, statusMismatches, mismatchSamples };
}

const TOKEN_PATH = /oauth2\/(v2\.0\/)?token/;
const BATCH_PART = /^(GET|POST|PATCH|PUT|DELETE) \S+ HTTP\/1\.1/gm;

/**
 * What the recorded requests really wrote. A `$batch` whose parts are all GETs, and a Salesforce
 * `POST /composite/sobjects/{type}` retrieve (`{ ids, fields }`), are reads sent with POST; token
 * requests are neither. `operations` counts records written (collection items, `$batch` parts).
 */
export function classifyWrites(exchanges) {
  let requests = 0;
  let operations = 0;
  let readsSentAsPost = 0;
  for (const e of exchanges) {
    if (e.method === "GET" || TOKEN_PATH.test(e.url)) continue;
    const path = e.url.split("?")[0];
    if (path.endsWith("/$batch")) {
      const parts = [...(e.body ?? "").matchAll(BATCH_PART)].map((m) => m[1]);
      const writes = parts.filter((m) => m !== "GET").length;
      if (writes === 0) readsSentAsPost++;
      else {
        requests++;
        operations += writes;
      }
      continue;
    }
    const body = parseJson(e.body);
    if (e.method === "POST" && Array.isArray(body?.ids) && body?.fields) {
      readsSentAsPost++;
      continue;
    }
    requests++;
    operations += Array.isArray(body?.records) ? body.records.length : 1;
  }
  return { requests, operations, readsSentAsPost };
}

/**
 * The secrets of an msal-node token cache file (its documented serialised form: `AccessToken` and
 * `RefreshToken` sections whose entries carry `secret`), by kind.
 * @param {string} text
 */
export function cachedTokens(text) {
  const cache = parseJson(text) ?? {};
  /** @param {unknown} section */
  const secrets = (section) =>
    Object.values(section && typeof section === "object" ? section : {})
      .map((e) => (e && typeof e === "object" ? /** @type {{ secret?: unknown }} */ (e).secret : undefined))
      .filter((v) => typeof v === "string");
  return { accessTokens: secrets(cache.AccessToken), refreshTokens: secrets(cache.RefreshToken) };
}

/**
 * Old → new pairs for the delegated sign-in, which the engine took from a token cache filled before
 * the recording: the recorded bearer tokens (and any refresh token a recorded token request sent) are
 * unknown to the replaying sandbox, whose own start-up login filled its own cache. Without these,
 * every replayed Partner Center call answers 401 and the "raw" time measures nothing.
 * @param {any[]} exchanges the recording
 * @param {number} port the Partner Center API's port in the recording
 * @param {{ accessTokens: string[], refreshTokens: string[] }} fresh the replaying sandbox's cache
 * @returns {[string, string][]}
 */
export function signInSubstitutions(exchanges, port, fresh) {
  /** @type {[string, string][]} */
  const pairs = [];
  const access = fresh.accessTokens[0];
  const refresh = fresh.refreshTokens[0];
  const seen = new Set();
  for (const e of exchanges) {
    const auth = e.port === port ? String(e.headers.authorization ?? "") : "";
    const bearer = /^Bearer (.+)$/.exec(auth)?.[1];
    if (bearer && access && !seen.has(bearer)) {
      seen.add(bearer);
      pairs.push([bearer, access]);
    }
    const sent = TOKEN_PATH.test(e.url) && e.body ? new URLSearchParams(e.body).get("refresh_token") : null;
    if (sent && refresh && !seen.has(sent)) {
      seen.add(sent);
      // Form-encoded in the body: learnt in that spelling too.
      pairs.push([sent, refresh], [encodeURIComponent(sent), encodeURIComponent(refresh)]);
    }
  }
  return pairs;
}
