import type { SandboxRequest, SandboxResponse } from "../../kit/index.js";
import type { SalesforceContext } from "../context.js";
import { notFound, SalesforceApiError, sfErrorResponse, sfJson } from "../errors.js";
import { methodNotAllowed, type RestCall } from "./call.js";
import { handleCollections } from "./collections.js";
import { handleComposite } from "./composite.js";
import { limitsBody } from "./limits.js";
import { handleQuery } from "./query-routes.js";
import { handleSObjects } from "./sobject-routes.js";
import { handleTooling } from "./tooling.js";
import { handleUiApi } from "./ui-api.js";

/** Newest API version the sandbox org serves. */
export const MAX_API_VERSION = 66;

const SEASONS = ["Winter", "Spring", "Summer"];

/** Release name of an API version (62.0 = Winter '25, three releases a year). */
export function releaseLabel(version: number): string {
  const n = version - 62;
  const season = SEASONS[((n % 3) + 3) % 3]!;
  const year = 25 + Math.floor(n / 3);
  return `${season} '${String(year).padStart(2, "0")}`;
}

/** `GET /services/data`: the versions served (no session needed, not counted). */
export function versionsBody(floor: number): Array<{ label: string; url: string; version: string }> {
  const out = [];
  for (let v = Math.ceil(floor); v <= MAX_API_VERSION; v++)
    out.push({ label: releaseLabel(v), url: `/services/data/v${v}.0`, version: `${v}.0` });
  return out;
}

function resources(version: string): Record<string, string> {
  const base = `/services/data/v${version}`;
  return Object.fromEntries(
    [
      "sobjects",
      "query",
      "queryAll",
      "limits",
      "composite",
      "search",
      "recent",
      "tooling",
      "metadata",
      "ui-api",
    ].map((r) => [r, `${base}/${r}`]),
  );
}

/**
 * Route name for the request log (`GET /sobjects/{type}/{id}`), from the path alone so that
 * requests rejected before dispatch (401, 403) are counted under the route they aimed at.
 */
export function routeName(method: string, segments: string[]): string {
  const [head, second, third] = segments;
  let route: string;
  if (head === undefined) route = "/";
  else if (head === "query" || head === "queryAll")
    route = segments.length > 1 ? `/${head}/{locator}` : `/${head}`;
  else if (head === "sobjects" && third === "listviews")
    route =
      [
        "/sobjects/{type}/listviews",
        "/sobjects/{type}/listviews/{id}",
        "/sobjects/{type}/listviews/{id}/results",
      ][segments.length - 3] ?? "/sobjects/…";
  else if (head === "sobjects" && third === "quickActions")
    route =
      segments.length === 3 ? "/sobjects/{type}/quickActions" : "/sobjects/{type}/quickActions/{action}";
  else if (head === "sobjects" && third === "describe" && segments[3] === "layouts")
    route =
      segments.length === 4
        ? "/sobjects/{type}/describe/layouts"
        : "/sobjects/{type}/describe/layouts/{recordTypeId}";
  else if (head === "sobjects") {
    const tail = [
      "",
      "/{type}",
      third === "describe" || third === "updated" || third === "deleted"
        ? `/{type}/${third}`
        : "/{type}/{id}",
      "/{type}/{field}/{value}",
    ];
    route = `/sobjects${tail[segments.length - 1] ?? "/…"}`;
  } else if (head === "composite" && second === "sobjects")
    route =
      ["/composite/sobjects", "/composite/sobjects/{type}", "/composite/sobjects/{type}/{field}"][
        segments.length - 2
      ] ?? "/composite/…";
  else if (head === "tooling")
    route =
      second === "query"
        ? "/tooling/query"
        : (["/tooling/sobjects/{type}", "/tooling/sobjects/{type}/{id}"][segments.length - 3] ??
          "/tooling/…");
  else if (head === "ui-api" && segments[3] === "picklist-values")
    route = "/ui-api/object-info/{type}/picklist-values/{recordTypeId}/{field}";
  else route = `/${head}`;
  return `${method} ${route}`;
}

/** Dispatches an authenticated REST call (also used for composite subrequests). */
export function dispatchRest(call: RestCall): SandboxResponse {
  const { req, segments, version } = call;
  const head = segments[0];
  if (head === undefined) {
    if (req.method !== "GET") throw methodNotAllowed(req.method, ["GET", "HEAD"]);
    return sfJson(200, resources(version));
  }
  switch (head) {
    case "limits":
      if (req.method !== "GET") throw methodNotAllowed(req.method, ["GET", "HEAD"]);
      return sfJson(200, limitsBody(call.ctx));
    case "query":
    case "queryAll":
      if (segments.length > 2) throw notFound();
      return handleQuery(call);
    case "sobjects":
      return handleSObjects(call);
    case "tooling":
      return handleTooling(call);
    case "ui-api":
      return handleUiApi(call);
    case "composite":
      if (segments[1] === "sobjects") return handleCollections(call);
      if (segments.length === 1) return handleComposite(call, dispatchRest);
      throw notFound();
    default:
      throw notFound();
  }
}

const INVALID_SESSION = new SalesforceApiError(401, "INVALID_SESSION_ID", "Session expired or invalid");

/**
 * `/services/data/vNN.N/…`: version check, session check (401 INVALID_SESSION_ID), the daily
 * allocation (403 REQUEST_LIMIT_EXCEEDED), usage counting, then the resource. Every answer of an
 * authenticated request carries `Sforce-Limit-Info`.
 */
export function handleRestRequest(
  ctx: SalesforceContext,
  req: SandboxRequest,
  version: string,
  rest: string,
): SandboxResponse {
  const v = Number(version);
  if (!(v >= ctx.options.apiVersionFloor && v <= MAX_API_VERSION)) {
    req.endpoint = `${req.method} /services/data/{unsupported version}`;
    return sfErrorResponse(notFound());
  }
  const segments = rest
    .split("/")
    .filter(Boolean)
    .map((s) => {
      try {
        return decodeURIComponent(s);
      } catch {
        return s;
      }
    });
  req.endpoint = routeName(req.method, segments);
  const token = ctx.tokens.verifyBearer(req.headers.authorization, "salesforce");
  if (!token?.subject) {
    return sfErrorResponse(INVALID_SESSION, {
      "www-authenticate": 'Token realm="sandbox", error="invalid_token"',
    });
  }
  if (ctx.usage.exhausted()) {
    return sfErrorResponse(
      new SalesforceApiError(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded."),
      {
        "sforce-limit-info": ctx.usage.header(),
      },
    );
  }
  ctx.usage.count();
  const call: RestCall = {
    req,
    ctx,
    version,
    actor: { userId: token.subject, system: false },
    segments,
  };
  let res: SandboxResponse;
  try {
    res = dispatchRest(call);
  } catch (e) {
    if (!(e instanceof SalesforceApiError)) throw e;
    res = sfErrorResponse(e);
  }
  return { ...res, headers: { ...res.headers, "sforce-limit-info": ctx.usage.header() } };
}
