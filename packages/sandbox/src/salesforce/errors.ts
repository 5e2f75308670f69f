import type { SandboxResponse } from "../kit/index.js";

/** One item of Salesforce's REST error array: `[{"message","errorCode","fields"}]`. */
export interface RestErrorItem {
  message: string;
  errorCode: string;
  fields?: string[];
}

/** One error inside a collection / SaveResult item (per-record errors use `statusCode`). */
export interface RecordErrorItem {
  statusCode: string;
  message: string;
  fields: string[];
}

/**
 * A request-level failure: answered as `status` with the JSON error array.
 * Thrown anywhere in request handling and turned into a response by the router.
 */
export class SalesforceApiError extends Error {
  constructor(
    readonly status: number,
    readonly errorCode: string,
    message: string,
    readonly fields?: string[],
  ) {
    super(message);
    this.name = errorCode;
  }

  toItem(): RestErrorItem {
    return this.fields
      ? { message: this.message, errorCode: this.errorCode, fields: this.fields }
      : { message: this.message, errorCode: this.errorCode };
  }
}

/**
 * A failure of one record in a DML operation. Single-record endpoints answer it as 400 (or its
 * `httpStatus`) with the error array; collections put it into the record's SaveResult.
 */
export class RecordError extends Error {
  constructor(
    readonly statusCode: string,
    message: string,
    readonly fields: string[] = [],
    readonly httpStatus = 400,
  ) {
    super(message);
    this.name = statusCode;
  }

  /** Salesforce's name for this error code, so callers can match on `code` like other typed errors. */
  get code(): string {
    return this.statusCode;
  }

  toRecordItem(): RecordErrorItem {
    return { statusCode: this.statusCode, message: this.message, fields: this.fields };
  }

  toApiError(): SalesforceApiError {
    return new SalesforceApiError(this.httpStatus, this.statusCode, this.message, this.fields);
  }
}

/** What every JSON answer of the REST API carries. */
export const JSON_CONTENT_TYPE = "application/json;charset=UTF-8";

/** A JSON response with Salesforce's content type. */
export function sfJson(status: number, body: unknown, headers: Record<string, string> = {}): SandboxResponse {
  return { status, headers: { "content-type": JSON_CONTENT_TYPE, ...headers }, body };
}

/** A request-level error as Salesforce sends it (a JSON array with one item). */
export function sfErrorResponse(
  e: SalesforceApiError,
  headers: Record<string, string> = {},
): SandboxResponse {
  return sfJson(e.status, [e.toItem()], headers);
}

/** Salesforce's 404 for unknown resources and records. */
export const notFound = (): SalesforceApiError =>
  new SalesforceApiError(404, "NOT_FOUND", "The requested resource does not exist");
