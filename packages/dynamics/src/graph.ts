import {
  DEFAULT_MAX_RESPONSE_BYTES,
  type Person,
  RemoteApiError,
  readTextCapped,
  type TokenProvider,
} from "@cosell/core";
import {
  Client,
  type Context,
  HTTPMessageHandler,
  type Middleware,
  RetryHandler,
  RetryHandlerOptions,
} from "@microsoft/microsoft-graph-client";
import type { CallCounter } from "./http.js";

/**
 * Sets the bearer token, a per-attempt deadline and `redirect: "manual"` on every request. graph-client's own AuthenticationHandler only sends it to
 * https Graph hosts and strips it elsewhere (dynamics.md §7), which breaks sovereign/proxy hosts and
 * the local sandbox; a chain of our own works the same everywhere.
 */
class BearerMiddleware implements Middleware {
  private next: Middleware | undefined;
  constructor(
    private readonly tokens: TokenProvider,
    private readonly counter: CallCounter,
    private readonly timeoutMs: number,
  ) {}
  async execute(context: Context): Promise<void> {
    const token = await this.tokens.getToken();
    context.options ??= {};
    // Each attempt has a deadline, and a redirect is an error rather than a trip elsewhere with the token.
    context.options.signal = AbortSignal.timeout(this.timeoutMs);
    context.options.redirect = "manual";
    const headers = context.options.headers;
    if (headers instanceof Headers) headers.set("Authorization", `Bearer ${token}`);
    else
      context.options.headers = {
        ...(headers as Record<string, string> | undefined),
        Authorization: `Bearer ${token}`,
      };
    this.counter.total++;
    this.counter.reads++;
    await this.next!.execute(context);
  }
  setNext(next: Middleware): void {
    this.next = next;
  }
}

/**
 * Reads each answer with the size cap (`maxResponseBytes`, `REMOTE_RESPONSE_TOO_LARGE`) before
 * graph-client parses it: graph-client itself reads whatever body it gets in full. The capped text is
 * handed on as a fresh Response. graph-client wraps any middleware error into a GraphError (losing its
 * code), so the refusal is also kept here for {@link EntraDirectory} to throw as it is.
 */
class SizeCapMiddleware implements Middleware {
  private next: Middleware | undefined;
  /** The last refusal, taken (and cleared) by the caller that saw graph-client's wrapped error. */
  tripped: RemoteApiError | undefined;
  constructor(private readonly maxBytes: number) {}
  async execute(context: Context): Promise<void> {
    await this.next!.execute(context);
    const res = context.response;
    if (!res?.body) return;
    const where = `GET ${typeof context.request === "string" ? new URL(context.request).pathname : "(request)"}`;
    try {
      const text = await readTextCapped(res, this.maxBytes, where, "Microsoft Graph");
      context.response = new Response(text, {
        status: res.status,
        statusText: res.statusText,
        headers: res.headers,
      });
    } catch (e) {
      if (e instanceof RemoteApiError) this.tripped = e;
      throw e;
    }
  }
  setNext(next: Middleware): void {
    this.next = next;
  }
}

interface GraphUser {
  id: string;
  givenName: string | null;
  surname: string | null;
  displayName: string | null;
  mail: string | null;
  userPrincipalName: string | null;
  businessPhones: string[] | null;
  mobilePhone: string | null;
}

/** Looks Entra ID users up by object id to complete team members (name, email, phone). */
export class EntraDirectory {
  private readonly client: Client;
  private readonly cap: SizeCapMiddleware;
  private readonly cache = new Map<string, { at: number; person: Person | undefined }>();

  constructor(
    baseUrl: string,
    tokens: TokenProvider,
    counter: CallCounter,
    private readonly now: () => number,
    private readonly ttlMs = 15 * 60_000,
    timeoutMs = 60_000,
    maxResponseBytes = DEFAULT_MAX_RESPONSE_BYTES,
  ) {
    const url = new URL(baseUrl);
    this.cap = new SizeCapMiddleware(maxResponseBytes);
    this.client = Client.initWithMiddleware({
      baseUrl: url.origin,
      defaultVersion: url.pathname.replace(/^\/|\/$/g, "") || "v1.0",
      middleware: [
        new BearerMiddleware(tokens, counter, timeoutMs),
        new RetryHandler(new RetryHandlerOptions(1, 3)),
        this.cap,
        new HTTPMessageHandler(),
      ],
    });
  }

  /** People by Entra object id (unknown ids map to undefined). Cached for a quarter of an hour. */
  async people(objectIds: readonly string[]): Promise<Map<string, Person | undefined>> {
    const out = new Map<string, Person | undefined>();
    const missing: string[] = [];
    for (const id of new Set(objectIds)) {
      const hit = this.cache.get(id);
      if (hit && this.now() - hit.at < this.ttlMs) out.set(id, hit.person);
      else missing.push(id);
    }
    for (let i = 0; i < missing.length; i += 15) {
      const chunk = missing.slice(i, i + 15);
      let res: { value: GraphUser[] };
      this.cap.tripped = undefined;
      try {
        res = (await this.client
          .api("/users")
          .filter(`id in (${chunk.map((id) => `'${id}'`).join(",")})`)
          .select("id,givenName,surname,displayName,mail,userPrincipalName,businessPhones,mobilePhone")
          .get()) as { value: GraphUser[] };
      } catch (e) {
        const tooLarge = this.cap.tripped;
        this.cap.tripped = undefined;
        throw tooLarge ?? e;
      }
      const found = new Map(res.value.map((u) => [u.id, u]));
      for (const id of chunk) {
        const u = found.get(id);
        const person = u ? toPerson(u) : undefined;
        this.cache.set(id, { at: this.now(), person });
        out.set(id, person);
      }
    }
    return out;
  }
}

function toPerson(u: GraphUser): Person {
  const [first, ...rest] = (u.displayName ?? "").split(" ");
  return {
    firstName: u.givenName ?? first ?? "",
    lastName: u.surname ?? rest.join(" "),
    email: u.mail ?? u.userPrincipalName ?? "",
    phone: u.businessPhones?.[0] ?? u.mobilePhone ?? "",
  };
}
