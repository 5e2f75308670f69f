import { createHash, generateKeyPairSync } from "node:crypto";
import nock from "nock";
import {
  createPartnerCenterClient,
  type PartnerCenterClient,
  type PartnerCenterClientConfigInput,
  type PartnerCenterClientDeps,
  type Referral,
} from "../../src/index.js";

export const TENANT = "11111111-2222-3333-4444-555555555555";
export const CLIENT_ID = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee";
/** A made-up secret: tests assert it never shows up in an error. */
export const SECRET = "not-a-real-secret~value";
export const API = "https://api.partner.microsoft.com";
export const REFERRALS = "/v1.0/engagements/referrals";
export const LOGIN = "https://login.microsoftonline.com";
export const TOKEN_PATH = `/${TENANT}/oauth2/v2.0/token`;

/** Mocks Entra ID's token endpoint once (msal adds `?client-request-id=`, hence `.query(true)`). */
export function mockToken(accessToken = "token-1", times = 1): nock.Scope {
  return nock(LOGIN)
    .post(TOKEN_PATH)
    .query(true)
    .times(times)
    .reply(200, { token_type: "Bearer", expires_in: 3599, ext_expires_in: 3599, access_token: accessToken });
}

/** The Partner Center API mock. */
export const api = (): nock.Scope => nock(API);

/** A sleep that records every requested wait and returns at once. */
export function recordingSleep(): { sleep: (ms: number) => Promise<void>; waits: number[] } {
  const waits: number[] = [];
  return {
    waits,
    sleep: async (ms: number) => {
      waits.push(ms);
    },
  };
}

export const T0 = new Date("2026-03-01T12:00:00.000Z");

/** A client against the production URLs (nock answers), with a recording sleep and a fixed clock. */
export function makeClient(
  config: Partial<PartnerCenterClientConfigInput> = {},
  deps: PartnerCenterClientDeps = {},
): { client: PartnerCenterClient; waits: number[] } {
  const { sleep, waits } = recordingSleep();
  const client = createPartnerCenterClient(
    // The HTTP behaviour is the same for both sign-ins; nock answers the client-credentials grant.
    { tenantId: TENANT, clientId: CLIENT_ID, auth: { kind: "app", clientSecret: SECRET }, ...config },
    { sleep, random: () => 0.5, now: () => T0, ...deps },
  );
  return { client, waits };
}

/** A referral as Partner Center returns it; tests override what matters. */
export function referral(overrides: Partial<Referral> = {}): Referral {
  return {
    id: "ref-1",
    engagementId: "eng-1",
    name: "Contoso supply chain",
    externalReferenceId: "0065g00000AbCdEAAA",
    createdDateTime: "2026-02-20T10:00:00Z",
    updatedDateTime: "2026-02-21T10:00:00Z",
    status: "Active",
    substatus: "Accepted",
    type: "Independent",
    direction: "Outgoing",
    customerProfile: {
      name: "Contoso Ltd",
      address: {
        addressLine1: "1 Main St",
        city: "Redmond",
        state: "WA",
        postalCode: "98052",
        country: "US",
      },
      team: [
        { firstName: "Sue", lastName: "Smith", email: "sue@contoso.example", phoneNumber: "+1 425 555 0100" },
      ],
    },
    consent: { consentToShareReferralWithMicrosoftSellers: true },
    details: {
      notes: "Wants field service.",
      dealValue: 50000,
      currency: "USD",
      closingDateTime: "2026-06-30T00:00:00Z",
      requirements: { solutions: [{ id: "sol-1", name: "Field Service Accelerator", type: "Name" }] },
    },
    team: [
      { firstName: "Ann", lastName: "Lee", email: "ann@partner.example", phoneNumber: "+1 206 555 0101" },
    ],
    eTag: '"etag-1"',
    ...overrides,
  };
}

/** An inbound referral waiting for the partner's answer, received at `receivedAt`. */
export function receivedReferral(receivedAt: Date = T0, overrides: Partial<Referral> = {}): Referral {
  return referral({
    id: "ref-in",
    externalReferenceId: null,
    status: "New",
    substatus: "Pending",
    type: "Shared",
    direction: "Incoming",
    createdDateTime: receivedAt.toISOString(),
    updatedDateTime: receivedAt.toISOString(),
    expirationDateTime: new Date(receivedAt.getTime() + 14 * 86_400_000).toISOString(),
    inviteContext: { invitedBy: { organizationId: "msft", organizationName: "Microsoft" } },
    ...overrides,
  });
}

/** An RSA key pair made at runtime, its public key as PEM and a SHA-256 "thumbprint" of it. */
export function rsaKeys(): { privateKeyPem: string; publicKeyPem: string; thumbprintSha256: string } {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const publicKeyPem = publicKey.export({ type: "spki", format: "pem" }).toString();
  return {
    privateKeyPem: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
    publicKeyPem,
    thumbprintSha256: createHash("sha256").update(publicKeyPem).digest("hex"),
  };
}

/** Header value of a nock request (`string | string[]`) as one string. */
export function headerOf(headers: Record<string, string | string[]>, name: string): string | undefined {
  const v = headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}
