import type { SandboxRequest } from "../../kit/index.js";
import type { SalesforceContext } from "../context.js";
import { SalesforceApiError } from "../errors.js";
import type { Actor } from "../store/security.js";

/** One authenticated REST request: the raw request, its API version, who makes it. */
export interface RestCall {
  req: SandboxRequest;
  ctx: SalesforceContext;
  /** `62.0` */
  version: string;
  actor: Actor;
  /** Path segments after `/services/data/vNN.N/`, URL-decoded. */
  segments: string[];
}

/** Parses the JSON body, failing like Salesforce does on malformed JSON. */
export function jsonBody(call: RestCall): unknown {
  const text = call.req.text();
  if (text.trim() === "")
    throw new SalesforceApiError(
      400,
      "JSON_PARSER_ERROR",
      "The request body is either invalid or incomplete.",
    );
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new SalesforceApiError(
      400,
      "JSON_PARSER_ERROR",
      `Unexpected character in the request body: ${(e as Error).message}`,
    );
  }
}

/** A JSON object body (records are objects; arrays or scalars are rejected). */
export function objectBody(call: RestCall): Record<string, unknown> {
  const body = jsonBody(call);
  if (!body || typeof body !== "object" || Array.isArray(body))
    throw new SalesforceApiError(
      400,
      "JSON_PARSER_ERROR",
      "Cannot deserialize instance of sObject from a JSON value that is not an object",
    );
  return body as Record<string, unknown>;
}

export function methodNotAllowed(method: string, allowed: string[]): SalesforceApiError {
  return new SalesforceApiError(
    405,
    "METHOD_NOT_ALLOWED",
    `HTTP Method '${method}' not allowed. Allowed are ${allowed.join(",")}`,
  );
}

/** API version as a number, for behaviour that changed between versions. */
export function versionNumber(call: RestCall): number {
  return Number(call.version);
}
