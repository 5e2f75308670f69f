import { randomBytes, randomUUID } from "node:crypto";
import type { SandboxClock } from "../kit/index.js";

/**
 * Partner Center roles a user can hold ("Referrals API authentication": Referral Admin creates,
 * updates and reads referrals; Referral User only reads referrals whose team includes them; Global
 * Admin can do everything).
 */
export const PARTNER_CENTER_ROLES = ["Referral Admin", "Referral User", "Global Admin"] as const;
export type PartnerCenterRole = (typeof PARTNER_CENTER_ROLES)[number];

/** A user of a tenant in the sandbox's directory. */
export interface EntraUser {
  tenantId: string;
  /** UPN, e.g. `syncer@contoso.example`. */
  username: string;
  objectId: string;
  displayName: string;
  /** Partner Center roles (and any other role names a test wants on the token). */
  roles: string[];
}

/** Entra ID's default lifetime of a device code (`expires_in`). */
export const DEVICE_CODE_TTL_SECONDS = 900;
/** Entra ID's default polling interval (`interval`). */
export const DEFAULT_DEVICE_CODE_INTERVAL_SECONDS = 5;
/** Refresh tokens of the sandbox live 90 days of sandbox time (Entra ID's inactivity lifetime). */
export const REFRESH_TOKEN_TTL_SECONDS = 90 * 24 * 3600;

export type DeviceCodeState = "pending" | "approved" | "declined";

/** One device-code sign-in in progress. */
export interface DeviceCodeSession {
  deviceCode: string;
  userCode: string;
  tenantId: string;
  clientId: string;
  /** The requested scope string (as sent to /devicecode). */
  scope: string;
  expiresAt: Date;
  intervalSeconds: number;
  state: DeviceCodeState;
  /** Who approved it. */
  username?: string;
  /** Real time (ms) of the last poll, for `slow_down`. */
  lastPollMs?: number;
}

/** A refresh token the sandbox issued. */
export interface RefreshTokenRecord {
  token: string;
  tenantId: string;
  clientId: string;
  username: string;
  expiresAt: Date;
  revoked: boolean;
}

const norm = (s: string) => s.trim().toLowerCase();
const USER_CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ23456789";

function userCode(): string {
  const b = randomBytes(9);
  return [...b].map((x) => USER_CODE_ALPHABET[x % USER_CODE_ALPHABET.length]).join("");
}

/**
 * The sign-in state of the sandbox's Entra ID: users with roles, device codes waiting for a user, and
 * refresh tokens. Tests and the demo approve a code themselves ({@link approve}, or
 * {@link autoApproveAs} for every new code), so nothing needs a human.
 */
export class EntraSignIns {
  private readonly users = new Map<string, EntraUser>();
  private readonly codes = new Map<string, DeviceCodeSession>();
  private readonly refreshTokens = new Map<string, RefreshTokenRecord>();
  /** When set, every polled device code is approved as this user. */
  autoApproveAs: string | undefined;
  /** The `interval` handed out with new device codes. */
  intervalSeconds = DEFAULT_DEVICE_CODE_INTERVAL_SECONDS;

  constructor(private readonly clock: SandboxClock) {}

  private static userKey(tenantId: string, username: string): string {
    return `${norm(tenantId)}|${norm(username)}`;
  }

  /** Adds or replaces a user. */
  addUser(u: {
    tenantId: string;
    username: string;
    roles: string[];
    displayName?: string;
    objectId?: string;
  }): EntraUser {
    const user: EntraUser = {
      tenantId: u.tenantId,
      username: u.username,
      objectId: u.objectId ?? randomUUID(),
      displayName: u.displayName ?? u.username.split("@")[0] ?? u.username,
      roles: [...u.roles],
    };
    this.users.set(EntraSignIns.userKey(u.tenantId, u.username), user);
    return user;
  }

  /** Changes a user's roles (e.g. demote the sync account to Referral User). */
  setRoles(tenantId: string, username: string, roles: string[]): EntraUser {
    const u = this.user(tenantId, username);
    if (!u) throw new Error(`No user ${username} in tenant ${tenantId}.`);
    u.roles = [...roles];
    return u;
  }

  user(tenantId: string, username: string): EntraUser | undefined {
    return this.users.get(EntraSignIns.userKey(tenantId, username));
  }

  /** Finds a user by name in any tenant. */
  userNamed(username: string): EntraUser | undefined {
    return [...this.users.values()].find((u) => norm(u.username) === norm(username));
  }

  allUsers(): EntraUser[] {
    return [...this.users.values()].map((u) => structuredClone(u));
  }

  /** Starts a device-code sign-in. */
  startDeviceCode(tenantId: string, clientId: string, scope: string): DeviceCodeSession {
    const s: DeviceCodeSession = {
      deviceCode: `sbx-dc!${randomBytes(32).toString("base64url")}`,
      userCode: userCode(),
      tenantId,
      clientId,
      scope,
      expiresAt: new Date(this.clock.now().getTime() + DEVICE_CODE_TTL_SECONDS * 1000),
      intervalSeconds: this.intervalSeconds,
      state: "pending",
    };
    this.codes.set(s.deviceCode, s);
    return s;
  }

  deviceCode(deviceCode: string): DeviceCodeSession | undefined {
    return this.codes.get(deviceCode);
  }

  /** Device codes not yet redeemed (newest last). */
  pendingDeviceCodes(): DeviceCodeSession[] {
    return [...this.codes.values()].map((s) => ({ ...s }));
  }

  private byUserCode(code: string): DeviceCodeSession {
    const s = [...this.codes.values()].find((x) => norm(x.userCode) === norm(code.replace(/[\s-]/g, "")));
    if (!s) throw new Error(`No device code with user code ${code} is waiting.`);
    return s;
  }

  /**
   * The user enters `userCode` in a browser and signs in as `username` (default: the only user of the
   * code's tenant, or its first Referral Admin).
   */
  approve(code: string, username?: string): DeviceCodeSession {
    const s = this.byUserCode(code);
    if (s.expiresAt.getTime() <= this.clock.now().getTime()) throw new Error(`The code ${code} has expired.`);
    const user = username ? this.user(s.tenantId, username) : this.defaultUser(s.tenantId);
    if (!user) throw new Error(`No user ${username ?? ""} in tenant ${s.tenantId} can approve ${code}.`);
    s.state = "approved";
    s.username = user.username;
    return { ...s };
  }

  /** The user refuses the sign-in in the browser. */
  decline(code: string): DeviceCodeSession {
    const s = this.byUserCode(code);
    s.state = "declined";
    return { ...s };
  }

  /** Removes a redeemed code (one use only). */
  consume(deviceCode: string): void {
    this.codes.delete(deviceCode);
  }

  defaultUser(tenantId: string): EntraUser | undefined {
    const inTenant = [...this.users.values()].filter((u) => norm(u.tenantId) === norm(tenantId));
    return inTenant.find((u) => u.roles.includes("Referral Admin")) ?? inTenant[0];
  }

  /** Issues a refresh token for a user and app. */
  issueRefreshToken(tenantId: string, clientId: string, username: string): RefreshTokenRecord {
    const r: RefreshTokenRecord = {
      token: `sbx-rt!${randomBytes(32).toString("base64url")}`,
      tenantId,
      clientId,
      username,
      expiresAt: new Date(this.clock.now().getTime() + REFRESH_TOKEN_TTL_SECONDS * 1000),
      revoked: false,
    };
    this.refreshTokens.set(r.token, r);
    return r;
  }

  refreshToken(token: string): RefreshTokenRecord | undefined {
    return this.refreshTokens.get(token);
  }

  /** Invalidates every refresh token of `username` (Graph's revokeSignInSessions). Returns how many. */
  revokeSignInSessions(username: string): number {
    let n = 0;
    for (const r of this.refreshTokens.values())
      if (norm(r.username) === norm(username) && !r.revoked) {
        r.revoked = true;
        n++;
      }
    return n;
  }

  /** Every refresh token value ever issued (for log-redaction tests). */
  allRefreshTokenValues(): string[] {
    return [...this.refreshTokens.keys()];
  }

  /** What a snapshot keeps: users and live refresh tokens. */
  snapshot(): { users: EntraUser[]; refreshTokens: RefreshTokenRecord[] } {
    return {
      users: this.allUsers(),
      refreshTokens: [...this.refreshTokens.values()].filter((r) => !r.revoked).map((r) => ({ ...r })),
    };
  }

  restore(s: { users?: EntraUser[]; refreshTokens?: RefreshTokenRecord[] }): void {
    for (const u of s.users ?? []) this.users.set(EntraSignIns.userKey(u.tenantId, u.username), { ...u });
    for (const r of s.refreshTokens ?? [])
      this.refreshTokens.set(r.token, { ...r, expiresAt: new Date(r.expiresAt) });
  }
}
