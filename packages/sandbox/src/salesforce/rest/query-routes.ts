import type { SandboxResponse } from "../../kit/index.js";
import { SalesforceApiError, sfJson } from "../errors.js";
import { runSoql } from "../soql/executor.js";
import { methodNotAllowed, type RestCall } from "./call.js";

/** `Sforce-Query-Options: batchSize=N` is a hint between 200 and 2000; the org's page size caps it. */
function pageSize(call: RestCall): number {
  const configured = call.ctx.options.queryPageSize;
  const header = call.req.headers["sforce-query-options"];
  const m = /batchSize\s*=\s*(\d+)/i.exec(Array.isArray(header) ? header.join(",") : (header ?? ""));
  if (!m) return configured;
  return Math.min(configured, Math.max(200, Math.min(2000, Number(m[1]))));
}

/** `GET query?q=` / `queryAll?q=` and `GET query/<locator>` / `queryAll/<locator>`. */
export function handleQuery(call: RestCall): SandboxResponse {
  const { req, ctx, segments, version, actor } = call;
  if (req.method !== "GET") throw methodNotAllowed(req.method, ["GET"]);
  const resource = segments[0] === "queryAll" ? "queryAll" : "query";
  if (segments.length === 2) {
    return sfJson(200, ctx.cursors.next(segments[1]!, actor.userId, version));
  }
  const q = req.url.searchParams.get("q");
  if (q === null || q.trim() === "")
    throw new SalesforceApiError(400, "MALFORMED_QUERY", "A query string has to be specified");
  const outcome = runSoql(ctx.org, q, { actor, scanAll: resource === "queryAll" });
  return sfJson(
    200,
    ctx.cursors.first(outcome, { userId: actor.userId, pageSize: pageSize(call), version, resource }),
  );
}
