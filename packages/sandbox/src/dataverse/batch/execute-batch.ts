import { randomUUID } from "node:crypto";
import type { SandboxResponse } from "../../kit/http.js";
import type { Env } from "../env.js";
import { DataverseError, dvErrors } from "../errors.js";
import { parsePrefer } from "../odata/query-options.js";
import { type DvRequest, errorResponse, odataHeaders } from "../routes/respond.js";
import {
  boundaryOf,
  type EmbeddedRequest,
  type EmbeddedResponse,
  type MimePart,
  MultipartError,
  parseEmbeddedRequest,
  parseMultipart,
  serializeEmbeddedResponse,
  serializeMultipart,
} from "./multipart.js";

/**
 * `POST $batch` (dynamics.md §1.6): runs the parts in order; a change set is atomic (rolled back on
 * its first failure, answered by that failure alone) and may reference earlier creates as `$n`.
 * Without `Prefer: odata.continue-on-error` the batch stops at the first failure and answers `400`
 * with that one error part (the documented sample); with it, `200` and every part's answer.
 */

const MAX_REQUESTS = 1000;

type Dispatch = (req: DvRequest) => SandboxResponse;

function toEmbedded(r: SandboxResponse): EmbeddedResponse {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(r.headers ?? {}))
    headers[k] = Array.isArray(v) ? v.join(", ") : String(v);
  const body =
    r.body === undefined || r.body === null
      ? undefined
      : typeof r.body === "string"
        ? r.body
        : Buffer.isBuffer(r.body)
          ? r.body.toString("utf8")
          : JSON.stringify(r.body);
  return { status: r.status, headers, body };
}

function httpPart(r: EmbeddedResponse, contentId?: string): MimePart {
  const headers: Record<string, string> = {
    "Content-Type": "application/http",
    "Content-Transfer-Encoding": "binary",
  };
  if (contentId !== undefined) headers["Content-ID"] = contentId;
  return { headers, body: serializeEmbeddedResponse(r) };
}

function headerOf(r: EmbeddedResponse, name: string): string | undefined {
  const key = Object.keys(r.headers).find((k) => k.toLowerCase() === name.toLowerCase());
  return key === undefined ? undefined : r.headers[key];
}

/** Replaces `$n` references (a whole URL, or a whole JSON string value) with the entity URL of request n. */
function substitute(text: string, refs: Map<string, string>): string {
  const missing = (id: string) =>
    dvErrors.badRequest(`Content-ID Reference: '$${id}' does not exist in the batch context.`, "0x80060888");
  const url = /^\$(\w+)(\/.*)?$/.exec(text);
  if (url) {
    const target = refs.get(url[1]!);
    if (!target) throw missing(url[1]!);
    return target + (url[2] ?? "");
  }
  return text;
}

function substituteBody(body: string, refs: Map<string, string>): string {
  if (!/"\$\w+"/.test(body)) return body;
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return body;
  }
  const walk = (v: unknown): unknown => {
    if (typeof v === "string") return /^\$\w+$/.test(v) ? substitute(v, refs) : v;
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === "object")
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    return v;
  };
  return JSON.stringify(walk(parsed));
}

function innerRequest(outer: DvRequest, er: EmbeddedRequest, refs: Map<string, string>): DvRequest {
  const target = substitute(er.url, refs);
  const url = /^https?:\/\//i.test(target)
    ? new URL(new URL(target).pathname + new URL(target).search, outer.url.origin)
    : target.startsWith("/")
      ? new URL(target, outer.url.origin)
      : new URL(target, outer.base);
  return {
    method: er.method,
    url,
    headers: er.headers,
    body: substituteBody(er.body, refs),
    caller: outer.caller,
    base: outer.base,
    inBatch: true,
  };
}

function run(
  outer: DvRequest,
  er: EmbeddedRequest,
  refs: Map<string, string>,
  dispatch: Dispatch,
): EmbeddedResponse {
  try {
    if (/\$batch(\?|$)/.test(er.url))
      throw dvErrors.badRequest("A batch request cannot contain another batch request.", "0x80060888");
    return toEmbedded(dispatch(innerRequest(outer, er, refs)));
  } catch (e) {
    if (e instanceof DataverseError) return toEmbedded(errorResponse(e));
    if (e instanceof TypeError)
      return toEmbedded(
        errorResponse(dvErrors.badRequest(`The request URL '${er.url}' is not valid.`, "0x80060888")),
      );
    throw e;
  }
}

/**
 * Runs one `$batch` request. The batch counts as one request for service protection here (the
 * reference only says batching does not bypass the limits); its parts are not re-authenticated.
 */
export function executeBatch(env: Env, req: DvRequest, dispatch: Dispatch): SandboxResponse {
  const boundary = boundaryOf(req.headers["content-type"]);
  if (!boundary)
    throw dvErrors.badRequest(
      "A $batch request needs 'Content-Type: multipart/mixed; boundary=batch_<id>'.",
      "0x80060888",
    );
  let parts: MimePart[];
  const changesets = new Map<MimePart, MimePart[]>();
  try {
    parts = parseMultipart(req.body, boundary);
    let count = 0;
    for (const part of parts) {
      const cs = boundaryOf(part.headers["content-type"]);
      if (cs) {
        const items = parseMultipart(part.body, cs);
        changesets.set(part, items);
        count += items.length;
      } else count += 1;
    }
    if (count > MAX_REQUESTS)
      throw dvErrors.badRequest(
        `The batch contains ${count} requests; the maximum number of requests in a batch is ${MAX_REQUESTS}.`,
        "0x80060888",
      );
  } catch (e) {
    if (e instanceof MultipartError)
      throw dvErrors.badRequest(`The batch body is not valid: ${e.message}`, "0x80060888");
    throw e;
  }

  const continueOnError = parsePrefer(req.headers.prefer).continueOnError;
  const out: MimePart[] = [];
  let firstError: MimePart | undefined;

  for (const part of parts) {
    const items = changesets.get(part);
    let failed: EmbeddedResponse | undefined;
    if (items) {
      const refs = new Map<string, string>();
      const responses: MimePart[] = [];
      env.store.begin();
      for (const item of items) {
        let r: EmbeddedResponse;
        try {
          const er = parseEmbeddedRequest(item.body);
          r =
            er.method === "GET"
              ? toEmbedded(
                  errorResponse(
                    dvErrors.badRequest("GET requests are not allowed in a change set.", "0x80060888"),
                  ),
                )
              : run(req, er, refs, dispatch);
        } catch (e) {
          if (!(e instanceof MultipartError)) throw e;
          r = toEmbedded(errorResponse(dvErrors.badRequest(e.message, "0x80060888")));
        }
        if (r.status >= 400) {
          failed = r;
          break;
        }
        const contentId = item.headers["content-id"];
        const entityUrl = headerOf(r, "OData-EntityId");
        if (contentId !== undefined && entityUrl) refs.set(contentId, entityUrl);
        responses.push(httpPart(r, contentId));
      }
      if (failed) env.store.rollback();
      else {
        env.store.commit();
        const csBoundary = `changesetresponse_${randomUUID()}`;
        out.push({
          headers: { "Content-Type": `multipart/mixed; boundary=${csBoundary}` },
          body: serializeMultipart(csBoundary, responses).replace(/\r\n$/, ""),
        });
      }
    } else {
      try {
        const r = run(req, parseEmbeddedRequest(part.body), new Map(), dispatch);
        if (r.status >= 400) failed = r;
        else out.push(httpPart(r));
      } catch (e) {
        if (!(e instanceof MultipartError)) throw e;
        failed = toEmbedded(errorResponse(dvErrors.badRequest(e.message, "0x80060888")));
      }
    }
    if (failed) {
      const errorPart = httpPart(failed);
      out.push(errorPart);
      firstError ??= errorPart;
      if (!continueOnError) break;
    }
  }

  const responseBoundary = `batchresponse_${randomUUID()}`;
  const stopped = firstError !== undefined && !continueOnError;
  return {
    status: stopped ? 400 : 200,
    headers: odataHeaders({
      "Content-Type": `multipart/mixed; boundary=${responseBoundary}`,
      ...(continueOnError ? { "Preference-Applied": "odata.continue-on-error" } : {}),
    }),
    body: serializeMultipart(responseBoundary, stopped ? [firstError!] : out),
  };
}
