/**
 * API calls as the sandbox saw them (server side, so retries and token requests count): split by side
 * and into reads (GETs, and POSTs the server marked read-only: a Salesforce composite of GETs) and
 * writes (anything else), from a mark in the request log to now.
 */

/** Which side a logged request belongs to. Token endpoints count as `auth`, whoever serves them. */
function sideOf(entry, crmServer) {
  if (entry.server === "entra" || /oauth2\/(v2\.0\/)?token/.test(entry.endpoint)) return "auth";
  if (entry.server === "partner-center") return "partnerCenter";
  if (entry.server === crmServer || entry.server === "graph") return "crm";
  return "other";
}

/** A position in the request log to count from. */
export function mark(log) {
  return log.entries.length;
}

/** Calls since `from`, by side, with reads/writes and the busiest endpoints. */
export function callsSince(log, from, crmServer) {
  const out = {
    partnerCenter: { reads: 0, writes: 0, total: 0 },
    crm: { reads: 0, writes: 0, total: 0 },
    auth: { reads: 0, writes: 0, total: 0 },
  };
  const endpoints = {};
  /** Responses that were not 2xx/3xx, by status (429 = throttled, 401 = token refresh, 412 = eTag). */
  const failures = {};
  for (let i = from; i < log.entries.length; i++) {
    const e = log.entries[i];
    const side = sideOf(e, crmServer);
    if (side === "other") continue;
    const c = out[side];
    if (e.method === "GET" || e.readOnly) c.reads++;
    else c.writes++;
    c.total++;
    if (e.status >= 400) failures[e.status] = (failures[e.status] ?? 0) + 1;
    const key = `${e.server} ${e.endpoint}`;
    endpoints[key] = (endpoints[key] ?? 0) + 1;
  }
  return { ...out, endpoints, failures };
}

/** Partner Center + CRM calls (tokens excluded). */
export function apiTotal(calls) {
  return calls.partnerCenter.total + calls.crm.total;
}
