import { randomUUID } from "node:crypto";
import type { SandboxResponse } from "../../kit/http.js";
import type { Caller } from "../env.js";
import type { DataverseError } from "../errors.js";

/** A request as the Dataverse routes see it (top-level or one part of a `$batch`). */
export interface DvRequest {
  method: string;
  /** Absolute URL; its origin is the one clients reached the server at. */
  url: URL;
  /** Header names in lower case. */
  headers: Record<string, string>;
  body: string;
  caller: Caller;
  /** Service root with trailing slash: `http://127.0.0.1:PORT/api/data/v9.2/`. */
  base: string;
  /** Set for requests inside a `$batch`. */
  inBatch?: boolean;
}

const JSON_TYPE = "application/json; odata.metadata=minimal";

/** Headers every Web API response carries. */
export function odataHeaders(extra: Record<string, string> = {}): Record<string, string> {
  return { "OData-Version": "4.0", REQ_ID: randomUUID(), ...extra };
}

/** A JSON response with OData headers. */
export function odataJson(
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): SandboxResponse {
  return { status, headers: odataHeaders({ "Content-Type": JSON_TYPE, ...headers }), body };
}

/** `204 No Content` with OData headers. */
export function noContent(headers: Record<string, string> = {}): SandboxResponse {
  return { status: 204, headers: odataHeaders(headers) };
}

/** The Web API error response for `e`. */
export function errorResponse(e: DataverseError): SandboxResponse {
  return odataJson(e.status, e.body(), e.headers);
}

/** Parses a JSON request body, with Dataverse's error for malformed JSON. */
export function readJson(req: DvRequest, error: () => DataverseError): unknown {
  if (req.body.trim() === "") return {};
  try {
    return JSON.parse(req.body);
  } catch {
    throw error();
  }
}

/**
 * `url` with `name` set to `value`, keeping the other query options exactly as the client wrote
 * them (Dataverse's nextLinks repeat the original `$select=…` text and append `$skiptoken`).
 */
export function withQueryOption(url: URL, name: string, value: string, drop: string[] = []): string {
  const removed = new Set([name, ...drop]);
  const kept = url.search
    .replace(/^\?/, "")
    .split("&")
    .filter((part) => {
      if (!part) return false;
      const key = decodeURIComponent(part.split("=")[0]!.replace(/\+/g, " "));
      return !removed.has(key);
    });
  kept.push(`${name}=${encodeURIComponent(value)}`);
  return `${url.origin}${url.pathname}?${kept.join("&")}`;
}
