import { randomBytes } from "node:crypto";
import type { SandboxClock } from "./clock.js";

export interface IssuedToken {
  token: string;
  clientId: string;
  /** Who the token is for: a Partner Center, Dataverse or Graph resource URL, or `salesforce`. */
  audience: string;
  /** Subject (user) the token acts as, when any; app-only tokens have none. */
  subject?: string;
  /** The user's roles (Partner Center: Referral Admin, Referral User, Global Admin). */
  roles?: string[];
  expiresAt: Date;
  scopes: string[];
}

/**
 * Access tokens issued by the sandbox token endpoints and checked by the resource servers.
 * Tokens are opaque random strings, deliberately *not* JWT-shaped: jsforce refuses SOAP calls
 * with JWT-looking tokens (salesforce.md §6).
 */
export class TokenRegistry {
  private tokens = new Map<string, IssuedToken>();
  constructor(private readonly clock: SandboxClock) {}

  issue(t: Omit<IssuedToken, "token" | "expiresAt"> & { ttlSeconds: number; prefix?: string }): IssuedToken {
    const token = `${t.prefix ?? "sbx"}!${randomBytes(24).toString("base64url")}`;
    const issued: IssuedToken = {
      token,
      clientId: t.clientId,
      audience: t.audience,
      subject: t.subject,
      ...(t.roles ? { roles: [...t.roles] } : {}),
      scopes: t.scopes,
      expiresAt: new Date(this.clock.now().getTime() + t.ttlSeconds * 1000),
    };
    this.tokens.set(token, issued);
    return issued;
  }

  /** The token's record if it exists, is unexpired and was issued for `audience`. */
  verify(token: string | undefined, audience: string): IssuedToken | undefined {
    if (!token) return undefined;
    const t = this.tokens.get(token);
    if (!t || t.audience !== audience) return undefined;
    if (t.expiresAt.getTime() <= this.clock.now().getTime()) return undefined;
    return t;
  }

  /** Reads `Authorization: Bearer …` and verifies it. */
  verifyBearer(authorization: string | undefined, audience: string): IssuedToken | undefined {
    const m = /^Bearer\s+(.+)$/i.exec(authorization ?? "");
    return this.verify(m?.[1]?.trim(), audience);
  }

  /** Expires every token now (the chaos run's "token expiry mid-run"). */
  expireAll(): number {
    const past = new Date(this.clock.now().getTime() - 1000);
    for (const t of this.tokens.values()) t.expiresAt = past;
    return this.tokens.size;
  }

  /** Every token value ever issued: the log-redaction test greps for these. */
  allTokenValues(): string[] {
    return [...this.tokens.keys()];
  }
}
