import type { SandboxRequest, SandboxResponse } from "../../kit/index.js";
import { SalesforceApiError, sfErrorResponse, sfJson } from "../errors.js";
import { methodNotAllowed, objectBody, type RestCall } from "./call.js";

interface SubRequest {
  method: string;
  url: string;
  referenceId: string;
  body?: unknown;
  httpHeaders?: Record<string, string>;
}

interface SubResult {
  body: unknown;
  httpHeaders: Record<string, string>;
  httpStatusCode: number;
  referenceId: string;
}

const MAX_SUBREQUESTS = 25;
const MAX_QUERY_SUBREQUESTS = 5;

const halted = (referenceId: string, message: string): SubResult => ({
  body: [{ errorCode: "PROCESSING_HALTED", message }],
  httpHeaders: {},
  httpStatusCode: 400,
  referenceId,
});

/** Value at `records[0].Id`-style path inside a previous subresponse body. */
function pick(body: unknown, path: string): unknown {
  let cur: unknown = body;
  for (const part of path.split(/\.|\[(\d+)\]/).filter((p) => p !== undefined && p !== "")) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

class UnresolvedReference extends Error {}

/** Replaces `@{ref.path}` in strings (whole-string references keep the value's JSON type). */
function resolveRefs(value: unknown, results: Map<string, SubResult>): unknown {
  if (typeof value === "string") {
    const whole = /^@\{([^.}[]+)([^}]*)\}$/.exec(value);
    const lookup = (ref: string, path: string) => {
      const r = results.get(ref);
      const v = r && r.httpStatusCode < 300 ? pick(r.body, path.replace(/^\./, "")) : undefined;
      if (v === undefined)
        throw new UnresolvedReference(
          `Invalid reference specified. No value for ${ref}${path} found in ${ref}.`,
        );
      return v;
    };
    if (whole) return lookup(whole[1]!, whole[2]!);
    return value.replace(/@\{([^.}[]+)([^}]*)\}/g, (_m, ref: string, path: string) =>
      String(lookup(ref, path)),
    );
  }
  if (Array.isArray(value)) return value.map((v) => resolveRefs(v, results));
  if (value && typeof value === "object")
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolveRefs(v, results)]));
  return value;
}

function subRequest(parent: SandboxRequest, sub: SubRequest, url: string, body: unknown): SandboxRequest {
  const text = body === undefined ? "" : JSON.stringify(body);
  const buf = Buffer.from(text, "utf8");
  return {
    method: sub.method.toUpperCase(),
    url: new URL(url, parent.origin),
    headers: { ...parent.headers, "content-type": "application/json" },
    body: buf,
    origin: parent.origin,
    text: () => text,
    json: <T>() => JSON.parse(text) as T,
  };
}

/**
 * `POST composite`: up to 25 subrequests run in order, each able to use `@{ref.field}` values of
 * earlier ones; one API call in all. With `allOrNone` the first failure rolls everything back and
 * the others report PROCESSING_HALTED.
 */
export function handleComposite(
  call: RestCall,
  dispatch: (sub: RestCall) => SandboxResponse,
): SandboxResponse {
  const { req, ctx } = call;
  if (req.method !== "POST") throw methodNotAllowed(req.method, ["POST"]);
  const body = objectBody(call);
  const subs = body.compositeRequest;
  if (!Array.isArray(subs) || subs.length === 0)
    throw new SalesforceApiError(400, "JSON_PARSER_ERROR", "compositeRequest must be a non-empty array");
  if (subs.length > MAX_SUBREQUESTS)
    throw new SalesforceApiError(
      400,
      "COMPOSITE_REQUEST_LIMIT_EXCEEDED",
      `Limit of ${MAX_SUBREQUESTS} subrequests exceeded`,
    );
  // "Up to 5 of these subrequests can be sObject Collections or query operations, including Query and
  // QueryAll requests" (Salesforce's Composite docs). The error Salesforce answers when a request has
  // more is not documented: the whole call is refused here, as strictly as the rule reads.
  const heavy = (subs as SubRequest[]).filter((r) =>
    /^\/services\/data\/v\d+\.\d+\/(query|queryAll|composite\/sobjects)(\/|\?|$)/.test(String(r.url ?? "")),
  ).length;
  if (heavy > MAX_QUERY_SUBREQUESTS)
    throw new SalesforceApiError(
      400,
      "COMPOSITE_REQUEST_LIMIT_EXCEEDED",
      `Limit of ${MAX_QUERY_SUBREQUESTS} query and sObject Collections subrequests exceeded (${heavy})`,
    );
  // Only GETs: the request log counts the call as the read it is.
  if ((subs as SubRequest[]).every((r) => String(r.method ?? "").toUpperCase() === "GET"))
    req.readOnly = true;
  const allOrNone = body.allOrNone === true;
  const byRef = new Map<string, SubResult>();
  const results: SubResult[] = [];
  let failed = false;
  ctx.org.store.begin();
  for (const raw of subs as SubRequest[]) {
    const referenceId = String(raw.referenceId ?? "");
    if (failed && allOrNone) {
      results.push(
        halted(
          referenceId,
          "The transaction was rolled back since another operation in the same transaction failed.",
        ),
      );
      continue;
    }
    let result: SubResult;
    try {
      const url = resolveRefs(String(raw.url ?? ""), byRef) as string;
      const subBody = raw.body === undefined ? undefined : resolveRefs(raw.body, byRef);
      const m = /^\/services\/data\/v(\d+\.\d+)\/([^?]*)/.exec(url);
      if (!m) throw new SalesforceApiError(400, "NOT_FOUND", `The requested resource does not exist: ${url}`);
      const subReq = subRequest(req, raw, url, subBody);
      const segments = m[2]!.split("/").filter(Boolean).map(decodeURIComponent);
      let res: SandboxResponse;
      try {
        res = dispatch({ ...call, req: subReq, version: m[1]!, segments });
      } catch (e) {
        if (!(e instanceof SalesforceApiError)) throw e;
        res = sfErrorResponse(e);
      }
      const headers: Record<string, string> = {};
      const created = res.body as { id?: string } | undefined;
      if (res.status === 201 && created?.id) headers.Location = `${url.replace(/\?.*$/, "")}/${created.id}`;
      result = { body: res.body ?? null, httpHeaders: headers, httpStatusCode: res.status, referenceId };
    } catch (e) {
      if (e instanceof UnresolvedReference) result = halted(referenceId, e.message);
      else if (e instanceof SalesforceApiError)
        result = { body: [e.toItem()], httpHeaders: {}, httpStatusCode: e.status, referenceId };
      else throw e;
    }
    if (result.httpStatusCode >= 400) failed = true;
    byRef.set(referenceId, result);
    results.push(result);
  }
  if (failed && allOrNone) {
    ctx.org.store.rollback();
    return sfJson(200, {
      compositeResponse: results.map((r) =>
        r.httpStatusCode < 400
          ? halted(
              r.referenceId,
              "The transaction was rolled back since another operation in the same transaction failed.",
            )
          : r,
      ),
    });
  }
  ctx.org.store.commit();
  return sfJson(200, { compositeResponse: results });
}
