import { type Referral, referralPatch } from "@cosell/core";
import { type Sandbox, startSandbox } from "../../src/index.js";

export const DAY_MS = 24 * 60 * 60 * 1000;
export const T0 = new Date("2026-03-01T12:00:00.000Z");

/** A sandbox with a frozen clock at {@link T0} (only the test moves time). */
export function startFrozen(): Promise<Sandbox> {
  return startSandbox({ clockStart: T0, freezeClock: true });
}

/**
 * A user access token for Partner Center (the Referrals API takes only App+User tokens): the sync
 * user's refresh token redeemed by the refresh-token grant over plain HTTP, valid on the sandbox clock.
 */
export async function pcToken(sandbox: Sandbox<"partnerCenter">): Promise<string> {
  const c = sandbox.credentials.partnerCenter;
  const refresh = sandbox.signIns.issueRefreshToken(c.tenantId, c.clientId, c.user.username);
  const res = await fetch(c.tokenEndpoint, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "refresh_token",
      client_id: c.clientId,
      refresh_token: refresh.token,
      scope: `${c.scope} openid profile offline_access`,
    }),
  });
  if (res.status !== 200) throw new Error(`token request failed: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { access_token: string }).access_token;
}

/** An access token for Partner Center's webhook API (its own audience), by the client-secret grant. */
export async function webhookToken(sandbox: Sandbox<"partnerCenter">): Promise<string> {
  const c = sandbox.credentials.partnerCenter;
  const res = await fetch(c.tokenEndpoint, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "client_credentials",
      client_id: c.clientId,
      client_secret: c.clientSecret,
      scope: c.webhookScope,
    }),
  });
  if (res.status !== 200) throw new Error(`token request failed: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { access_token: string }).access_token;
}

export interface ApiResult<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
}

/**
 * A small Partner Center client over fetch: `api("GET", "/v1.0/engagements/referrals")`. Pass a
 * function for `token` to get a fresh token per call (tests that move the clock past token expiry).
 */
export function pcApi(sandbox: Sandbox<"partnerCenter">, token: string | (() => Promise<string>)) {
  return async <T = Record<string, unknown>>(
    method: string,
    pathOrUrl: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<ApiResult<T>> => {
    const url = pathOrUrl.startsWith("http") ? pathOrUrl : `${sandbox.urls.partnerCenter}${pathOrUrl}`;
    const res = await fetch(url, {
      method,
      headers: {
        authorization: `Bearer ${typeof token === "string" ? token : await token()}`,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
        ...headers,
      },
      body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: (text ? JSON.parse(text) : undefined) as T };
  };
}

export type Api = ReturnType<typeof pcApi>;

export const REFERRALS = "/v1.0/engagements/referrals";

/** A partner's new private-pipeline referral body. */
export function newReferralBody(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: "Contoso supply chain",
    externalReferenceId: "006-crm-1",
    type: "Independent",
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
    consent: {
      consentToShareReferralWithMicrosoftSellers: true,
      consentToToShareInfoWithOthers: true,
      consentToContact: true,
    },
    details: {
      notes: "Wants Dynamics 365 for field service.",
      dealValue: 50000,
      currency: "USD",
      closingDateTime: "2026-06-30T00:00:00Z",
      requirements: {
        solutions: [{ id: "sol-field-service", name: "Field Service Accelerator", type: "Name" }],
      },
    },
    team: [
      { firstName: "Ann", lastName: "Lee", email: "ann@partner.example", phoneNumber: "+1 206 555 0101" },
    ],
    ...overrides,
  };
}

/** Creates a partner referral over HTTP and returns it. */
export async function createReferral(api: Api, overrides: Record<string, unknown> = {}): Promise<Referral> {
  const res = await api<Referral>("POST", REFERRALS, newReferralBody(overrides));
  if (res.status !== 201) throw new Error(`create failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

/**
 * PATCHes `referral` with `changes`: a JSON Patch of the paths that differ (core's `referralPatch`),
 * its own eTag as If-Match and `Prefer: return=representation`.
 */
export function patch(
  api: Api,
  referral: Referral,
  changes: Record<string, unknown> = {},
  eTag = referral.eTag ?? "",
) {
  return api<
    Referral & {
      error?: { code: string; message: string; innerError?: { code?: string; fields?: string[] } };
    }
  >("PATCH", `${REFERRALS}/${referral.id}`, referralPatch(referral, { ...referral, ...changes }), {
    "if-match": eTag,
    prefer: "return=representation",
  });
}
