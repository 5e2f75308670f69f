import { describe, expect, it } from "vitest";
import { ConfigError } from "../../src/errors.js";
import { describeNetworkFailure, unreachableConfigError } from "../../src/remote/network-failure.js";

const sysErr = (code: string, message = `${code} somewhere`) => Object.assign(new Error(message), { code });
/** node-fetch 2 (jsforce's transport) wraps the system error and copies its code. */
const nodeFetchError = (code: string) =>
  Object.assign(
    new Error(`request to https://acme.my.salesforce.com/x failed, reason: getaddrinfo ${code}`),
    {
      name: "FetchError",
      type: "system",
      code,
      errno: code,
    },
  );
/** Node's global fetch (undici) throws TypeError("fetch failed") with the system error as cause. */
const undiciError = (cause: unknown) => new TypeError("fetch failed", { cause });

describe("describeNetworkFailure", () => {
  const url = "https://api.partner.microsoft.com/v1.0/engagements/referrals";

  it("a name that does not resolve is permanent, in every wrapping", () => {
    for (const e of [nodeFetchError("ENOTFOUND"), undiciError(sysErr("ENOTFOUND")), sysErr("EAI_NONAME")])
      expect(describeNetworkFailure(e, url)).toMatchObject({
        host: "api.partner.microsoft.com",
        permanent: true,
        what: "host name not found (DNS)",
      });
  });

  it("a refused, reset or timed-out connection and a resolver that is briefly down are worth retrying", () => {
    expect(describeNetworkFailure(undiciError(sysErr("ECONNREFUSED")), url)).toMatchObject({
      code: "ECONNREFUSED",
      permanent: false,
      what: expect.stringContaining("connection refused"),
    });
    expect(describeNetworkFailure(nodeFetchError("ECONNRESET"), url)?.permanent).toBe(false);
    expect(describeNetworkFailure(undiciError(sysErr("UND_ERR_CONNECT_TIMEOUT")), url)?.what).toBe(
      "connection timed out",
    );
    expect(describeNetworkFailure(sysErr("EAI_AGAIN"), url)?.permanent).toBe(false);
  });

  it("finds the code inside an AggregateError (IPv4 and IPv6 both refused) and in a bare message", () => {
    const both = undiciError(new AggregateError([sysErr("ECONNREFUSED"), sysErr("ECONNREFUSED")], "connect"));
    expect(describeNetworkFailure(both, url)?.code).toBe("ECONNREFUSED");
    expect(describeNetworkFailure(new Error("connect ECONNREFUSED 127.0.0.1:1"), url)?.code).toBe(
      "ECONNREFUSED",
    );
  });

  it("a refused certificate is permanent; an error that is no connection failure is not described", () => {
    expect(describeNetworkFailure(undiciError(sysErr("UNABLE_TO_VERIFY_LEAF_SIGNATURE")), url)).toMatchObject(
      {
        permanent: true,
        what: "TLS certificate refused",
      },
    );
    expect(describeNetworkFailure(new Error("Unexpected token < in JSON"), url)).toBeUndefined();
  });

  it("the config error names the service, the host, the cause and the key to fix", () => {
    const f = describeNetworkFailure(nodeFetchError("ENOTFOUND"), "https://acme.my.nowhere.invalid")!;
    const e = unreachableConfigError("Salesforce's token endpoint", f, "crm.auth.loginUrl", undefined);
    expect(e).toBeInstanceOf(ConfigError);
    expect(e.code).toBe("REMOTE_HOST_NOT_FOUND");
    expect(e.message).toBe(
      "Salesforce's token endpoint at acme.my.nowhere.invalid: host name not found (DNS) (ENOTFOUND); the host name is wrong or not resolvable from this machine. Check crm.auth.loginUrl.",
    );
    const tls = describeNetworkFailure(sysErr("CERT_HAS_EXPIRED"), "https://contoso.crm.dynamics.com")!;
    expect(unreachableConfigError("Dataverse", tls, "crm.environmentUrl", undefined).code).toBe(
      "REMOTE_TLS_REFUSED",
    );
  });
});
