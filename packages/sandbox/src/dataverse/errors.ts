import { CoSellError } from "@cosell/core";

/**
 * A Dataverse Web API error: an HTTP status plus the `{"error":{"code","message"}}` body Dataverse
 * sends. `code` is Dataverse's hex error code (e.g. `0x80060882`), which is what clients branch on.
 * Control methods throw it too, so in-process callers see the same codes as HTTP clients.
 */
export class DataverseError extends CoSellError {
  constructor(
    /** HTTP status the Web API answers with. */
    readonly status: number,
    code: string,
    message: string,
    /** Extra response headers (e.g. `WWW-Authenticate`, `Retry-After`). */
    readonly headers: Record<string, string> = {},
  ) {
    super(code, message, { status });
  }

  /** The JSON body Dataverse sends for this error. */
  body(): { error: { code: string; message: string } } {
    return { error: { code: this.code, message: this.message } };
  }
}

const crm = (logicalName: string) => `Microsoft.Dynamics.CRM.${logicalName}`;

/**
 * Every error the emulator answers with. Messages quote Dataverse where the documentation (see
 * shared/reference/dynamics.md) gives them; where it does not, the comment says so and the message
 * is written to tell the client what to do.
 */
export const dvErrors = {
  /** 404 for an id that does not exist (documented message). */
  recordNotFound: (logicalName: string, id: string) =>
    new DataverseError(404, "0x80040217", `${logicalName} With Id = ${id} Does Not Exist`),

  /** 404 for an alternate-key lookup that matches nothing. */
  keyRecordNotFound: (logicalName: string) =>
    new DataverseError(
      404,
      "0x80040217",
      `A record with the specified key values does not exist in ${logicalName} entity`,
    ),

  /** 404 for a URL segment that is neither an entity set nor an operation. */
  segmentNotFound: (segment: string) =>
    new DataverseError(404, "0x8006088a", `Resource not found for the segment '${segment}'.`),

  /** 400 for an unknown property in `$select`, `$filter`, `$orderby` or `$expand`. */
  unknownProperty: (name: string, logicalName: string) =>
    new DataverseError(
      400,
      "0x80060888",
      `Could not find a property named '${name}' on type '${crm(logicalName)}'.`,
    ),

  /** 400 for an unknown property in a request body (OData's wording). */
  unknownBodyProperty: (name: string, logicalName: string) =>
    new DataverseError(
      400,
      "0x80060888",
      `The property '${name}' does not exist on type '${crm(logicalName)}'. Make sure to only use property names that are defined by the type.`,
    ),

  /** 400 for `x@odata.bind` where `x` is not a navigation property (OData's wording). */
  undeclaredBind: (name: string) =>
    new DataverseError(
      400,
      "0x80060888",
      `An undeclared property '${name}' which only has property annotations in the payload but no property value was found in the payload. In OData, only declared navigation properties and declared named streams can be represented as properties without values.`,
    ),

  /** 400 when a body sets a lookup property (`_x_value`) instead of binding the navigation property. */
  lookupValueWrite: () =>
    new DataverseError(
      400,
      "0x80048d19",
      "CRM do not support direct update of Entity Reference properties, Use Navigation properties instead.",
    ),

  /** 400 for an `@odata.bind` that points at the wrong kind of record. */
  bindWrongTarget: (nav: string, got: string, expected: string[]) =>
    new DataverseError(
      400,
      "0x80060888",
      `The navigation property '${nav}' cannot point at '${got}'; expected ${expected.map((e) => `'${e}'`).join(" or ")}.`,
    ),

  /** 400 for an `@odata.bind` value that is not an entity URL. */
  bindMalformed: (value: unknown) =>
    new DataverseError(
      400,
      "0x80060888",
      `The value '${String(value)}' of an @odata.bind annotation is not a valid entity URL such as '/accounts(<guid>)'.`,
    ),

  /** 400 when a JSON value has the wrong type for the column (OData's wording). */
  badLiteral: (value: unknown, edmType: string) =>
    new DataverseError(
      400,
      "0x80060888",
      `Cannot convert the literal '${typeof value === "string" ? value : JSON.stringify(value)}' to the expected type '${edmType}'.`,
    ),

  /** 400 for a broken business rule (length, range, option value): documented code and prefix. */
  validation: (detail: string) =>
    new DataverseError(400, "0x80044331", `A validation error occurred.  ${detail}`),

  /** 412 for a stale `If-Match` (documented). */
  concurrency: () =>
    new DataverseError(
      412,
      "0x80060882",
      "The version of the existing record doesn't match the RowVersion property provided.",
    ),

  /** 412 for `If-None-Match: *` on an existing record, or a create that collides with a key (documented message). */
  duplicate: () => new DataverseError(412, "0x80040237", "A record with matching key values already exists."),

  /** 400 for key properties in a URL that match no active alternate key (documented message). */
  invalidKey: (logicalName: string) =>
    new DataverseError(
      400,
      "0x80060888",
      `The key in the request URI is not valid for resource '${crm(logicalName)}'. Ensure that the names and number of key properties match the declared or alternate key properties for the resource '${crm(logicalName)}'.`,
    ),

  /** 400 for a `$filter` etc. sent with `Prefer: odata.track-changes` (documented message). */
  trackChangesOption: (option: string) =>
    new DataverseError(
      400,
      "0x80060888",
      `The "${option}" query parameter isn't supported when Change Tracking is enabled.`,
    ),

  /**
   * 400 for `Prefer: odata.track-changes` on a table without change tracking. The exact text is not in
   * the reference; this wording names the fix.
   */
  changeTrackingDisabled: (logicalName: string) =>
    new DataverseError(
      400,
      "0x80060888",
      `Change tracking is not enabled for the entity '${logicalName}'. Enable change tracking for the entity (ChangeTrackingEnabled) to use the odata.track-changes preference, or poll on modifiedon instead.`,
    ),

  /**
   * 400 for a delta token older than the organization's change-tracking retention (7 days by default).
   * Code and message are the SDK's `ExpiredVersionStamp`; the HTTP status is not documented.
   */
  expiredDeltaToken: () =>
    new DataverseError(
      400,
      "0x80044352",
      "Version stamp associated with the client has expired. Please perform a full sync.",
    ),

  /**
   * 400 when an Update tries to set an opportunity to Won or Lost. The message is Dataverse's; the
   * HTTP status is not documented (a 4xx is reported), 400 is assumed.
   */
  useCloseAction: (state: "Won" | "Lost") =>
    new DataverseError(
      400,
      "0x80040203",
      `This message can not be used to set the state of opportunity to ${state}. In order to set the state of opportunity to ${state}, use the ${state === "Won" ? "WinOpportunityRequest" : "LoseOpportunityRequest"} message instead.`,
    ),

  /** 400 for an update of a closed (Won/Lost) opportunity. Wording not documented; it names the fix. */
  closedReadOnly: (id: string, state: string) =>
    new DataverseError(
      400,
      "0x80040203",
      `The opportunity with Id = ${id} is ${state} and read-only. Reopen it first by updating statecode to 0 and statuscode to 1 or 2.`,
    ),

  /** 400 for a status reason that does not belong to the state (Dataverse's wording). */
  invalidStatus: (status: number, stateLabel: string, logicalName: string, id: string) =>
    new DataverseError(
      400,
      "0x80040203",
      `${status} is not a valid status code for state code ${stateLabel} on ${logicalName} with Id ${id}.`,
    ),

  /** Generic 400 for malformed requests (bad parameters, bad JSON, unsupported options). */
  badRequest: (message: string, code = "0x80040203") => new DataverseError(400, code, message),

  /** 401 with the `WWW-Authenticate` challenge Dataverse sends. */
  unauthorized: (authorizationUri: string, resource: string, hadToken: boolean) =>
    new DataverseError(
      401,
      "0x8006088a",
      hadToken
        ? "The access token is expired, invalid or not issued for this environment. Get a new token for the scope '" +
            `${resource}/.default'.`
        : `Bearer token is missing. Send 'Authorization: Bearer <token>' with a token for the scope '${resource}/.default'.`,
      { "www-authenticate": `Bearer authorization_uri=${authorizationUri}, resource_id=${resource}/` },
    ),

  /** 403 for a token whose application has no application user in the environment. */
  notAMember: (clientId: string) =>
    new DataverseError(
      403,
      "0x80072560",
      `The user is not a member of the organization. Create an application user for application id ${clientId} in the Power Platform admin center and give it a security role.`,
    ),

  /** 403 for a caller without any security role (Dataverse's PrivilegeDenied shape). */
  privilegeDenied: (userId: string, privilege: string, logicalName: string, otc: number) =>
    new DataverseError(
      403,
      "0x80040220",
      `Principal user (Id=${userId}, type=8, roleCount=0, privilegeCount=0, accessMode='4'), is missing ${privilege} privilege on OTC=${otc} for entity '${logicalName}'. context.Caller=${userId}`,
    ),

  /** 429 service protection (documented code and message). */
  throttled: (limit: number, windowSeconds: number, retryAfterSeconds: number) =>
    new DataverseError(
      429,
      "0x80072322",
      `Number of requests exceeded the limit of ${limit} over time window of ${windowSeconds} seconds.`,
      { "retry-after": String(retryAfterSeconds) },
    ),

  methodNotAllowed: (method: string, path: string) =>
    new DataverseError(405, "0x80060888", `The HTTP method '${method}' is not allowed for '${path}'.`),

  /** 500 that the fault injector asks for. */
  unexpected: (status: number) => new DataverseError(status, "0x80040216", "An unexpected error occurred."),
};
