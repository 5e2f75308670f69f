import { randomUUID } from "node:crypto";
import { ConfidentialClientApplication, ServerError } from "@azure/msal-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Sandbox, sandboxMsalAuthority, startSandbox } from "../../src/index.js";

const RESOURCE = "https://api.partner.microsoft.com";
let sandbox: Sandbox;

beforeAll(async () => {
  sandbox = await startSandbox();
});
afterAll(() => sandbox.stop());

/** A fresh msal app per test (msal's throttle and token caches are per instance). */
function app(auth: {
  clientId?: string;
  clientSecret?: string;
  clientCertificate?: { thumbprintSha256: string; privateKey: string };
}) {
  const c = sandbox.credentials.partnerCenter;
  return new ConfidentialClientApplication({
    auth: {
      clientId: auth.clientId ?? c.clientId,
      ...sandboxMsalAuthority(sandbox.urls.entra, c.tenantId),
      ...auth,
    },
  });
}

const tokenCalls = () => sandbox.log.count({ server: "entra", endpoint: "POST /{tenant}/oauth2/v2.0/token" });

describe("unmodified @azure/msal-node 7.2.3 against the sandbox's Entra ID", () => {
  it("gets a token with the client secret, and the second call is served from msal's cache", async () => {
    const cca = app({ clientSecret: sandbox.credentials.partnerCenter.clientSecret });
    const before = tokenCalls();
    const first = await cca.acquireTokenByClientCredential({
      scopes: [sandbox.credentials.partnerCenter.scope],
    });
    expect(first?.tokenType).toBe("Bearer");
    expect(first?.fromCache).toBe(false);
    expect(sandbox.tokens.verify(first?.accessToken, RESOURCE)).toBeDefined();
    const second = await cca.acquireTokenByClientCredential({
      scopes: [sandbox.credentials.partnerCenter.scope],
    });
    expect(second?.fromCache).toBe(true);
    expect(second?.accessToken).toBe(first?.accessToken);
    expect(tokenCalls() - before).toBe(1);
  });

  it("gets a token with the certificate (PKCS#8 PEM key + SHA-256 thumbprint)", async () => {
    const { privateKeyPem, thumbprintSha256 } = sandbox.credentials.partnerCenter.certificate;
    const cca = app({ clientCertificate: { thumbprintSha256, privateKey: privateKeyPem } });
    const r = await cca.acquireTokenByClientCredential({ scopes: [sandbox.credentials.partnerCenter.scope] });
    expect(sandbox.tokens.verify(r?.accessToken, RESOURCE)?.clientId).toBe(
      sandbox.credentials.partnerCenter.clientId,
    );
    const again = await cca.acquireTokenByClientCredential({
      scopes: [sandbox.credentials.partnerCenter.scope],
    });
    expect(again?.fromCache).toBe(true);
  });

  it("sends nothing but the token POST (no discovery, no metadata request)", async () => {
    sandbox.log.clear();
    await app({
      clientSecret: sandbox.credentials.partnerCenter.clientSecret,
    }).acquireTokenByClientCredential({
      scopes: [sandbox.credentials.partnerCenter.scope],
    });
    expect(sandbox.log.entries.map((e) => `${e.server} ${e.endpoint} ${e.status}`)).toEqual([
      "entra POST /{tenant}/oauth2/v2.0/token 200",
    ]);
  });

  async function serverError(p: Promise<unknown>): Promise<ServerError> {
    const e = await p.then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(e).toBeInstanceOf(ServerError);
    return e as ServerError;
  }

  it("wrong secret → ServerError invalid_client with AADSTS7000215", async () => {
    const e = await serverError(
      app({ clientSecret: "wrong-secret" }).acquireTokenByClientCredential({
        scopes: [`${RESOURCE}/.default`],
      }),
    );
    expect(e.errorCode).toBe("invalid_client");
    expect(e.errorMessage).toContain("AADSTS7000215");
  });

  it("unknown client → ServerError unauthorized_client with AADSTS700016", async () => {
    const e = await serverError(
      app({ clientId: randomUUID(), clientSecret: "x" }).acquireTokenByClientCredential({
        scopes: [`${RESOURCE}/.default`],
      }),
    );
    expect(e.errorCode).toBe("unauthorized_client");
    expect(e.errorMessage).toContain("AADSTS700016");
  });

  it("bad scope → ServerError invalid_scope with an AADSTS code", async () => {
    const secret = sandbox.credentials.partnerCenter.clientSecret;
    const notDefault = await serverError(
      app({ clientSecret: secret }).acquireTokenByClientCredential({
        scopes: [`${RESOURCE}/user_impersonation`],
      }),
    );
    expect(notDefault.errorCode).toBe("invalid_scope");
    expect(notDefault.errorMessage).toContain("AADSTS1002012");
    const otherResource = await serverError(
      app({ clientSecret: secret }).acquireTokenByClientCredential({
        scopes: ["https://graph.microsoft.com/.default"],
      }),
    );
    expect(otherResource.errorCode).toBe("invalid_scope");
    expect(otherResource.errorMessage).toContain("AADSTS70011");
  });
});
