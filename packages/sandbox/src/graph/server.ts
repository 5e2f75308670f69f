import { randomUUID } from "node:crypto";
import { type FilterNode, FilterSyntaxError, parseFilter } from "../dataverse/odata/filter.js";
import { compileFilter, type EdmType, FilterSemanticError } from "../dataverse/odata/filter-eval.js";
import { parseOrderBy, parseSelect, QueryOptionError } from "../dataverse/odata/query-options.js";
import { SlidingWindowThrottle, type ThrottleLimits } from "../dataverse/throttle.js";
import type { SandboxClock } from "../kit/clock.js";
import type { Fault } from "../kit/faults.js";
import type { EmulatedServer, SandboxRequest, SandboxResponse } from "../kit/http.js";
import type { TokenRegistry } from "../kit/tokens.js";
import { type DirectoryUser, directoryUserSchema, seedDirectoryUsers } from "./directory.js";

/** Graph's resource: token audience, and scope `${SANDBOX_GRAPH_RESOURCE}/.default`. */
export const SANDBOX_GRAPH_RESOURCE = "https://graph.microsoft.com";

/** Options of {@link createGraphServer}. */
export interface GraphOptions {
  /** Directory users (default: {@link seedDirectoryUsers}, matching the Dataverse systemusers). */
  users?: DirectoryUser[];
  /** Per-client request limit answered with 429 + Retry-After; off by default. */
  throttle?: ThrottleLimits | false;
}

/** In-process control of the Graph emulator's directory. */
export interface GraphControl {
  /** Adds a user; `id` defaults to a new GUID, other fields to null / []. */
  add(user: Partial<DirectoryUser> & Pick<DirectoryUser, "displayName" | "userPrincipalName">): DirectoryUser;
  update(id: string, changes: Partial<Omit<DirectoryUser, "id">>): DirectoryUser;
  remove(id: string): void;
  /** By object id or user principal name. */
  get(idOrUpn: string): DirectoryUser | undefined;
  all(): DirectoryUser[];
  /** Sets the per-client limit, or `null` to stop counting. */
  setThrottle(limits: ThrottleLimits | null): void;
}

/** The Graph emulator: an {@link EmulatedServer} plus in-process {@link GraphControl}. */
export interface GraphServer extends EmulatedServer {
  readonly name: "graph";
  readonly resource: string;
  readonly control: GraphControl;
}

/** Properties returned when there is no `$select` (Graph's default user projection). */
const DEFAULT_PROPERTIES: (keyof DirectoryUser)[] = [
  "businessPhones",
  "displayName",
  "givenName",
  "jobTitle",
  "mail",
  "mobilePhone",
  "officeLocation",
  "preferredLanguage",
  "surname",
  "userPrincipalName",
  "id",
];

const STRING_PROPERTIES = new Set<string>([
  "id",
  "displayName",
  "givenName",
  "surname",
  "mail",
  "userPrincipalName",
  "mobilePhone",
  "jobTitle",
  "officeLocation",
  "preferredLanguage",
  "usageLocation",
]);
/** Properties Graph can filter with default consistency (eq, startswith, in). */
const FILTERABLE = new Set<string>([
  "id",
  "displayName",
  "givenName",
  "surname",
  "mail",
  "userPrincipalName",
  "jobTitle",
  "accountEnabled",
  "usageLocation",
]);
const SORTABLE = new Set<string>(["displayName", "userPrincipalName"]);

class GraphError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

function graphJson(status: number, body: unknown, headers: Record<string, string> = {}): SandboxResponse {
  return {
    status,
    headers: {
      "Content-Type":
        "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8",
      "request-id": randomUUID(),
      ...headers,
    },
    body,
  };
}

function errorBody(clock: SandboxClock, code: string, message: string, clientRequestId?: string): unknown {
  return {
    error: {
      code,
      message,
      innerError: {
        date: clock.now().toISOString().slice(0, 19),
        "request-id": randomUUID(),
        "client-request-id": clientRequestId ?? randomUUID(),
      },
    },
  };
}

/** Filter nodes Graph accepts without `ConsistencyLevel: eventual` (advanced queries). */
function checkBasicFilter(node: FilterNode): void {
  const unsupported = (property: string) =>
    new GraphError(
      400,
      "Request_UnsupportedQuery",
      `Unsupported or invalid query filter clause specified for property '${property}' of resource 'User'.`,
    );
  switch (node.kind) {
    case "and":
    case "or":
      checkBasicFilter(node.left);
      checkBasicFilter(node.right);
      return;
    case "not":
      throw unsupported("not");
    case "compare": {
      const prop =
        node.left.kind === "property"
          ? node.left.name
          : node.right.kind === "property"
            ? node.right.name
            : "";
      if (node.op !== "eq" || !FILTERABLE.has(prop)) throw unsupported(prop);
      return;
    }
    case "in":
      if (!FILTERABLE.has(node.property)) throw unsupported(node.property);
      return;
    case "call":
      if (node.fn !== "startswith" || !FILTERABLE.has(node.property)) throw unsupported(node.property);
      return;
    case "property":
      throw unsupported(node.name);
  }
}

function project(user: DirectoryUser, select: string[] | undefined): Record<string, unknown> {
  const names = select ?? DEFAULT_PROPERTIES;
  const out: Record<string, unknown> = {};
  for (const n of names) out[n] = user[n as keyof DirectoryUser];
  return out;
}

/**
 * Creates the Microsoft Graph `/users` emulator (dynamics.md §7): `GET /v1.0/users` with `$filter`,
 * `$select`, `$top`, `$orderby` and `@odata.nextLink` paging, and `GET /v1.0/users/{id|upn}`.
 */
export function createGraphServer(
  ctx: { clock: SandboxClock; tokens: TokenRegistry },
  options: GraphOptions = {},
): GraphServer {
  const users: DirectoryUser[] = (options.users ?? seedDirectoryUsers()).map((u) => ({
    ...u,
    businessPhones: [...u.businessPhones],
  }));
  const throttle = new SlidingWindowThrottle(
    ctx.clock,
    options.throttle === false ? undefined : options.throttle,
  );

  const find = (idOrUpn: string) => {
    const key = idOrUpn.toLowerCase();
    return users.find((u) => u.id.toLowerCase() === key || u.userPrincipalName.toLowerCase() === key);
  };

  const control: GraphControl = {
    add(user) {
      const full = directoryUserSchema.parse({
        id: randomUUID(),
        givenName: null,
        surname: null,
        mail: null,
        mobilePhone: null,
        businessPhones: [],
        jobTitle: null,
        officeLocation: null,
        preferredLanguage: null,
        accountEnabled: true,
        usageLocation: null,
        ...user,
      });
      if (find(full.id) || find(full.userPrincipalName))
        throw new Error(
          `A user with id ${full.id} or userPrincipalName ${full.userPrincipalName} already exists.`,
        );
      users.push(full);
      return { ...full };
    },
    update(id, changes) {
      const u = find(id);
      if (!u) throw new Error(`No directory user ${id}.`);
      Object.assign(u, directoryUserSchema.parse({ ...u, ...changes }));
      return { ...u };
    },
    remove(id) {
      const u = find(id);
      if (u) users.splice(users.indexOf(u), 1);
    },
    get(idOrUpn) {
      const u = find(idOrUpn);
      return u ? { ...u, businessPhones: [...u.businessPhones] } : undefined;
    },
    all: () => users.map((u) => ({ ...u, businessPhones: [...u.businessPhones] })),
    setThrottle(limits) {
      throttle.configure(limits ?? undefined);
    },
  };

  function validateSelect(select: string[] | undefined): void {
    for (const s of select ?? [])
      if (!STRING_PROPERTIES.has(s) && s !== "businessPhones" && s !== "accountEnabled")
        throw new GraphError(
          400,
          "Request_BadRequest",
          `Could not find a property named '${s}' on type 'Microsoft.DirectoryServices.User'.`,
        );
  }

  function list(req: SandboxRequest, base: string): SandboxResponse {
    const p = req.url.searchParams;
    const advanced = (req.headers.consistencylevel ?? "").toString().toLowerCase() === "eventual";
    if (p.has("$skip"))
      throw new GraphError(400, "Request_BadRequest", "'$skip' is not supported by the service.");
    if (p.has("$search") && !advanced)
      throw new GraphError(
        400,
        "Request_UnsupportedQuery",
        "Request with $search query parameter only works through MSGraph with a special request header: 'ConsistencyLevel: eventual'",
      );
    let select: string[] | undefined;
    try {
      select = parseSelect(p.get("$select"));
    } catch (e) {
      if (e instanceof QueryOptionError) throw new GraphError(400, "BadRequest", e.message);
      throw e;
    }
    validateSelect(select);
    let result = [...users];
    const filterText = p.get("$filter");
    if (filterText) {
      let node: FilterNode;
      try {
        node = parseFilter(filterText);
      } catch (e) {
        if (e instanceof FilterSyntaxError)
          throw new GraphError(
            400,
            "BadRequest",
            `Invalid filter clause: ${e.message} at position ${e.position}.`,
          );
        throw e;
      }
      if (!advanced) checkBasicFilter(node);
      try {
        const predicate = compileFilter<DirectoryUser>(node, {
          typeOf: (name): EdmType | undefined =>
            STRING_PROPERTIES.has(name)
              ? "Edm.String"
              : name === "accountEnabled"
                ? "Edm.Boolean"
                : undefined,
          valueOf: (u, name) => u[name as keyof DirectoryUser] as unknown,
        });
        result = result.filter(predicate);
      } catch (e) {
        if (e instanceof FilterSemanticError)
          throw new GraphError(
            400,
            e.reason === "unknownProperty" ? "Request_BadRequest" : "Request_UnsupportedQuery",
            e.reason === "unknownProperty"
              ? `Could not find a property named '${e.property}' on type 'Microsoft.DirectoryServices.User'.`
              : `Invalid filter clause: ${e.message}`,
          );
        throw e;
      }
    }
    const orderText = p.get("$orderby");
    if (orderText) {
      const order = parseOrderBy(orderText) ?? [];
      if (order.some((o) => !SORTABLE.has(o.name)))
        throw new GraphError(400, "Request_UnsupportedQuery", "Sorting not supported for current query.");
      result.sort((a, b) => {
        for (const o of order) {
          const x = String(a[o.name as keyof DirectoryUser] ?? "").toLowerCase();
          const y = String(b[o.name as keyof DirectoryUser] ?? "").toLowerCase();
          if (x !== y) return (x < y ? -1 : 1) * (o.descending ? -1 : 1);
        }
        return 0;
      });
    }
    const topText = p.get("$top");
    const top = topText === null ? 100 : Number(topText);
    if (!Number.isInteger(top) || top < 1 || top > 999)
      throw new GraphError(
        400,
        "Request_BadRequest",
        `Invalid page size specified: '${topText}'. Must be between 1 and 999 inclusive.`,
      );
    const skiptoken = p.get("$skiptoken");
    let offset = 0;
    if (skiptoken !== null) {
      const decoded = /^RFNwd(\d+)$/.exec(skiptoken);
      if (!decoded)
        throw new GraphError(
          400,
          "Request_BadRequest",
          "The specified page token value has expired and can no longer be included in your request.",
        );
      offset = Number(decoded[1]);
    }
    const page = result.slice(offset, offset + top);
    const body: Record<string, unknown> = {
      "@odata.context": `${base}/$metadata#users${select ? `(${select.join(",")})` : ""}`,
    };
    if (p.get("$count") === "true") {
      if (!advanced)
        throw new GraphError(
          400,
          "Request_BadRequest",
          "$count is not currently supported without the 'ConsistencyLevel: eventual' header.",
        );
      body["@odata.count"] = result.length;
    }
    body.value = page.map((u) => project(u, select));
    if (offset + top < result.length) {
      const kept = req.url.search
        .replace(/^\?/, "")
        .split("&")
        .filter((part) => part && decodeURIComponent(part.split("=")[0]!) !== "$skiptoken");
      kept.push(`$skiptoken=RFNwd${offset + top}`);
      body["@odata.nextLink"] = `${base}/users?${kept.join("&")}`;
    }
    return graphJson(200, body);
  }

  function handle(req: SandboxRequest): SandboxResponse {
    const clientRequestId = req.headers["client-request-id"]?.toString();
    try {
      const m = /^\/(v1\.0|beta)\/users(?:\/([^/]+))?\/?$/.exec(req.url.pathname);
      req.endpoint = m
        ? `${req.method} /${m[1]}/users${m[2] ? "/{id}" : ""}`
        : `${req.method} ${req.url.pathname}`;
      const authorization = req.headers.authorization;
      const token = ctx.tokens.verifyBearer(authorization, SANDBOX_GRAPH_RESOURCE);
      if (!token)
        throw new GraphError(
          401,
          "InvalidAuthenticationToken",
          authorization ? "Access token has expired or is not yet valid." : "Access token is empty.",
          {
            "WWW-Authenticate":
              'Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000"',
          },
        );
      const decision = throttle.hit(token.clientId);
      if (!decision.allowed)
        throw new GraphError(429, "TooManyRequests", "Please retry again later.", {
          "Retry-After": String(decision.retryAfterSeconds),
        });
      if (!m) {
        const segment = req.url.pathname.split("/").filter(Boolean).pop() ?? "";
        throw new GraphError(400, "BadRequest", `Resource not found for the segment '${segment}'.`);
      }
      if (req.method !== "GET")
        throw new GraphError(
          405,
          "Request_BadRequest",
          `The HTTP method '${req.method}' is not supported by the sandbox for this resource.`,
        );
      const base = `${req.origin}/${m[1]}`;
      if (!m[2]) return list(req, base);
      const id = decodeURIComponent(m[2]);
      const user = find(id);
      if (!user)
        throw new GraphError(
          404,
          "Request_ResourceNotFound",
          `Resource '${id}' does not exist or one of its queried reference-property objects are not present.`,
        );
      let select: string[] | undefined;
      try {
        select = parseSelect(req.url.searchParams.get("$select"));
      } catch (e) {
        if (e instanceof QueryOptionError) throw new GraphError(400, "BadRequest", e.message);
        throw e;
      }
      validateSelect(select);
      return graphJson(200, {
        "@odata.context": `${base}/$metadata#users${select ? `(${select.join(",")})` : ""}/$entity`,
        ...project(user, select),
      });
    } catch (e) {
      if (e instanceof GraphError)
        return graphJson(e.status, errorBody(ctx.clock, e.code, e.message, clientRequestId), e.headers);
      throw e;
    }
  }

  return {
    name: "graph",
    resource: SANDBOX_GRAPH_RESOURCE,
    control,
    handle,
    faultResponse(fault: Extract<Fault, { kind: "throttle" | "serverError" }>): SandboxResponse {
      if (fault.kind === "throttle") {
        const body = errorBody(ctx.clock, "TooManyRequests", "Please retry again later.") as {
          error: { innerError: Record<string, string> };
        };
        Object.assign(body.error.innerError, { code: "429", message: "Please retry after", status: "429" });
        return graphJson(429, body);
      }
      return fault.status === 500
        ? graphJson(500, errorBody(ctx.clock, "generalException", "An unspecified error has occurred."))
        : graphJson(
            fault.status,
            errorBody(
              ctx.clock,
              "serviceNotAvailable",
              "The service is temporarily unavailable for maintenance or is overloaded. You may repeat the request after a delay, which may be specified in a Retry-After header.",
            ),
          );
    },
  };
}
