import { createHash, createPublicKey, type KeyObject } from "node:crypto";

/**
 * A certificate credential of an app registration. Entra ID identifies a certificate by the SHA-256
 * thumbprint of its DER encoding. Node cannot mint an X.509 certificate without a library, so the
 * sandbox registers the bare public key and uses the SHA-256 of its SPKI DER encoding as the
 * "thumbprint" ({@link publicKeyThumbprintSha256}). msal-node only forwards the thumbprint it is given
 * (as the assertion's `x5t#S256` header), so it cannot tell the difference.
 */
export interface EntraCertificate {
  /** 64 hex digits: SHA-256 of the public key's SPKI DER (see above). */
  thumbprintSha256: string;
  /** The RSA public key, PEM (SPKI). */
  publicKeyPem: string;
}

/** An app registration (a confidential client) in the sandbox's directory. */
export interface EntraApp {
  tenantId: string;
  clientId: string;
  displayName?: string;
  /** Client secret values accepted for this app. */
  clientSecrets?: string[];
  /** Certificates whose private keys may sign client assertions. */
  certificates?: EntraCertificate[];
  /**
   * Resources (application ID URIs such as `https://api.partner.microsoft.com`) the app may get
   * app-only tokens for. Asking for any other resource's `.default` scope fails with AADSTS70011.
   */
  allowedResources: string[];
  /**
   * "Allow public client flows" (Authentication blade): the device-code and public refresh-token
   * grants work only then; otherwise Entra ID asks for a client credential (AADSTS7000218).
   */
  allowPublicClientFlows?: boolean;
}

/** SHA-256 of the public key's SPKI DER encoding, in lower-case hex: the sandbox's certificate thumbprint. */
export function publicKeyThumbprintSha256(publicKey: KeyObject | string): string {
  const key = typeof publicKey === "string" ? createPublicKey(publicKey) : publicKey;
  return createHash("sha256")
    .update(key.export({ type: "spki", format: "der" }))
    .digest("hex");
}

const norm = (s: string) => s.trim().toLowerCase();
const normalizeResource = (r: string) => r.replace(/\/+$/, "").toLowerCase();

/** The tenants and app registrations the sandbox's Entra ID knows. */
export class EntraDirectory {
  private readonly apps = new Map<string, EntraApp>();

  private static key(tenantId: string, clientId: string): string {
    return `${norm(tenantId)}|${norm(clientId)}`;
  }

  /** Adds or replaces an app registration. */
  register(app: EntraApp): EntraApp {
    const copy: EntraApp = {
      ...app,
      clientSecrets: [...(app.clientSecrets ?? [])],
      certificates: (app.certificates ?? []).map((c) => ({
        ...c,
        thumbprintSha256: c.thumbprintSha256.replace(/[\s:]/g, "").toLowerCase(),
      })),
      allowedResources: [...app.allowedResources],
    };
    this.apps.set(EntraDirectory.key(app.tenantId, app.clientId), copy);
    return copy;
  }

  /** Lets an already registered app get tokens for one more resource (another emulated API). */
  allowResource(tenantId: string, clientId: string, resource: string): void {
    const app = this.find(tenantId, clientId);
    if (!app) throw new Error(`No app ${clientId} is registered in tenant ${tenantId}.`);
    if (!this.allows(app, resource)) app.allowedResources.push(resource);
  }

  find(tenantId: string, clientId: string): EntraApp | undefined {
    return this.apps.get(EntraDirectory.key(tenantId, clientId));
  }

  hasTenant(tenantId: string): boolean {
    return [...this.apps.values()].some((a) => norm(a.tenantId) === norm(tenantId));
  }

  allows(app: EntraApp, resource: string): boolean {
    return app.allowedResources.some((r) => normalizeResource(r) === normalizeResource(resource));
  }

  /** Every registered app (copies). */
  list(): EntraApp[] {
    return [...this.apps.values()].map((a) => structuredClone(a));
  }
}
