import { createHmac, createPublicKey, generateKeyPairSync, type KeyObject, randomBytes } from "node:crypto";
import { decodeJwt, errors as joseErrors, jwtVerify } from "jose";
import type { SandboxClock, SandboxRequest, SandboxResponse, TokenRegistry } from "../kit/index.js";
import { JSON_CONTENT_TYPE, sfJson } from "./errors.js";
import type { ResolvedOptions } from "./options.js";
import type { Org } from "./store/org.js";

/** Audiences a JWT bearer assertion may name besides the server's own origin. */
export const LOGIN_AUDIENCES = ["https://login.salesforce.com", "https://test.salesforce.com"];

export const JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer";

interface RefreshTokenRecord {
  userId: string;
  clientId: string;
}

/** Saved form of the OAuth state (refresh tokens survive a demo restart; access tokens do not). */
export interface OAuthState {
  refreshTokens: Array<[string, RefreshTokenRecord]>;
}

class OAuthError extends Error {
  constructor(
    readonly error: string,
    readonly description: string,
    readonly status = 400,
  ) {
    super(description);
  }
}

const invalidGrant = (description: string) => new OAuthError("invalid_grant", description);
const badClientId = () => new OAuthError("invalid_client_id", "client identifier invalid");
const badClientSecret = () => new OAuthError("invalid_client", "invalid client credentials");

interface Deps {
  org: Org;
  options: ResolvedOptions;
  tokens: TokenRegistry;
  clock: SandboxClock;
}

/**
 * The org's token endpoint (`POST /services/oauth2/token`): JWT bearer (RS256 assertion checked
 * against the connected app's certificate), client credentials (run as the integration user) and
 * refresh token (optionally rotating). Access tokens come from the shared {@link TokenRegistry}
 * (opaque, never JWT-shaped, so jsforce's SOAP guard accepts them).
 */
export class OAuthService {
  private refreshTokens = new Map<string, RefreshTokenRecord>();
  private readonly issued = new Set<string>();
  private generated?: { privateKeyPem: string; publicKey: KeyObject };
  private readonly configuredKey?: KeyObject;

  constructor(private readonly deps: Deps) {
    const pem = deps.options.connectedApp.certificatePem;
    if (pem) this.configuredKey = createPublicKey(pem);
  }

  /** Private key (PKCS#8 PEM) matching the certificate the org checks assertions with; made on first use. */
  jwtPrivateKeyPem(): string {
    if (this.configuredKey)
      throw new Error(
        "The connected app was configured with its own certificatePem; sign assertions with the matching private key you hold.",
      );
    this.generated ??= (() => {
      const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
      return { privateKeyPem: privateKey.export({ type: "pkcs8", format: "pem" }).toString(), publicKey };
    })();
    return this.generated.privateKeyPem;
  }

  /** A refresh token for `userId` (default: the integration user), as the web-server flow would have issued. */
  issueRefreshToken(userId = this.deps.org.integrationUserId): string {
    const token = `5Aep861${randomBytes(36).toString("base64url").replace(/[-_]/g, "x")}`;
    this.refreshTokens.set(token, { userId, clientId: this.deps.options.connectedApp.clientId });
    return token;
  }

  /** Expires every access token this org issued (refresh tokens stay valid). */
  expireSessions(): number {
    let n = 0;
    const past = new Date(this.deps.clock.now().getTime() - 1000);
    for (const value of this.issued) {
      const t = this.deps.tokens.verify(value, "salesforce");
      if (t) {
        t.expiresAt = past;
        n++;
      }
    }
    return n;
  }

  async token(req: SandboxRequest, origin: string): Promise<SandboxResponse> {
    req.endpoint = "POST /services/oauth2/token";
    if (req.method !== "POST")
      return this.errorResponse(new OAuthError("invalid_request", "must use HTTP POST"));
    const form = new URLSearchParams(req.text());
    try {
      const grant = form.get("grant_type");
      let userId: string;
      let refreshToken: string | undefined;
      if (grant === JWT_BEARER_GRANT) userId = await this.jwtBearer(form, origin);
      else if (grant === "client_credentials") userId = this.clientCredentials(form);
      else if (grant === "refresh_token") ({ userId, refreshToken } = this.refresh(form));
      else throw new OAuthError("unsupported_grant_type", "grant type not supported");
      return sfJson(200, this.tokenResponse(userId, origin, refreshToken));
    } catch (e) {
      if (e instanceof OAuthError) return this.errorResponse(e);
      throw e;
    }
  }

  /** `POST /services/oauth2/revoke`: revokes a refresh token (or expires an access token). */
  revoke(req: SandboxRequest): SandboxResponse {
    req.endpoint = "POST /services/oauth2/revoke";
    const token = new URLSearchParams(req.text()).get("token") ?? req.url.searchParams.get("token") ?? "";
    if (this.refreshTokens.delete(token)) return { status: 200 };
    const access = this.deps.tokens.verify(token, "salesforce");
    if (access) {
      access.expiresAt = new Date(this.deps.clock.now().getTime() - 1000);
      return { status: 200 };
    }
    return this.errorResponse(new OAuthError("unsupported_token_type", "this token type is not supported"));
  }

  private errorResponse(e: OAuthError): SandboxResponse {
    return {
      status: e.status,
      headers: { "content-type": JSON_CONTENT_TYPE },
      body: { error: e.error, error_description: e.description },
    };
  }

  private userByUsername(username: unknown): { id: string; active: boolean } | undefined {
    if (typeof username !== "string") return undefined;
    const [id] = this.deps.org.store.lookup("User", "Username", username) ?? [];
    const row = id ? this.deps.org.store.get("User", id) : undefined;
    return row ? { id: row.Id as string, active: row.IsActive !== false } : undefined;
  }

  private verificationKey(): KeyObject {
    if (this.configuredKey) return this.configuredKey;
    this.jwtPrivateKeyPem();
    return this.generated!.publicKey;
  }

  private async jwtBearer(form: URLSearchParams, origin: string): Promise<string> {
    const assertion = form.get("assertion");
    if (!assertion) throw invalidGrant("invalid assertion");
    let claims: ReturnType<typeof decodeJwt>;
    try {
      claims = decodeJwt(assertion);
    } catch {
      throw invalidGrant("invalid assertion");
    }
    if (claims.iss !== this.deps.options.connectedApp.clientId) throw badClientId();
    try {
      await jwtVerify(assertion, this.verificationKey(), {
        algorithms: ["RS256"],
        currentDate: this.deps.clock.now(),
        requiredClaims: ["exp", "sub", "aud"],
      });
    } catch (e) {
      if (e instanceof joseErrors.JOSEError) throw invalidGrant("invalid assertion");
      throw e;
    }
    const audiences = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
    const allowed = [origin, ...LOGIN_AUDIENCES].map((a) => a.replace(/\/$/, ""));
    if (!audiences.some((a) => typeof a === "string" && allowed.includes(a.replace(/\/$/, ""))))
      throw invalidGrant("audience is invalid");
    const user = this.userByUsername(claims.sub);
    if (!user) throw invalidGrant("user hasn't approved this consumer");
    if (!user.active) throw invalidGrant("inactive user");
    return user.id;
  }

  private checkClient(form: URLSearchParams, secretRequired: boolean): void {
    const app = this.deps.options.connectedApp;
    if (form.get("client_id") !== app.clientId) throw badClientId();
    const secret = form.get("client_secret");
    if ((secretRequired || secret !== null) && secret !== app.clientSecret) throw badClientSecret();
  }

  private clientCredentials(form: URLSearchParams): string {
    this.checkClient(form, true);
    const user = this.userByUsername(this.deps.options.connectedApp.username);
    if (!user?.active) throw invalidGrant("no client credentials user enabled");
    return user.id;
  }

  private refresh(form: URLSearchParams): { userId: string; refreshToken?: string } {
    this.checkClient(form, false);
    const old = form.get("refresh_token") ?? "";
    const rec = this.refreshTokens.get(old);
    if (!rec || rec.clientId !== this.deps.options.connectedApp.clientId)
      throw invalidGrant("expired access/refresh token");
    if (!this.deps.options.connectedApp.refreshTokenRotation) return { userId: rec.userId };
    // Rotation: the used token dies and a new one comes back with the access token.
    this.refreshTokens.delete(old);
    return { userId: rec.userId, refreshToken: this.issueRefreshToken(rec.userId) };
  }

  private tokenResponse(userId: string, origin: string, refreshToken?: string): Record<string, string> {
    const { org, options, tokens, clock } = this.deps;
    const issued = tokens.issue({
      clientId: options.connectedApp.clientId,
      audience: "salesforce",
      subject: userId,
      scopes: ["api"],
      ttlSeconds: options.accessTokenTtlSeconds,
      prefix: org.orgId.slice(0, 15),
    });
    this.issued.add(issued.token);
    const id = `${origin}/id/${org.orgId}/${userId}`;
    const issuedAt = String(clock.now().getTime());
    const signature = createHmac("sha256", options.connectedApp.clientSecret)
      .update(id + issuedAt)
      .digest("base64");
    const body: Record<string, string> = {
      access_token: issued.token,
      signature,
      scope: refreshToken ? "refresh_token api" : "api",
      instance_url: origin,
      id,
      token_type: "Bearer",
      issued_at: issuedAt,
    };
    if (refreshToken) body.refresh_token = refreshToken;
    return body;
  }

  snapshot(): OAuthState {
    return { refreshTokens: [...this.refreshTokens.entries()] };
  }

  restore(state: OAuthState): void {
    this.refreshTokens = new Map(state.refreshTokens);
  }
}
