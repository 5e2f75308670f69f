import { AuthError, RemoteApiError, TransientError } from "@cosell/core";
import { describe, expect, it } from "vitest";
import { isTransientFailure, toCoSellError } from "../src/errors.js";

const named = (name: string, message = "") => Object.assign(new Error(message), { name });

describe("toCoSellError: what jsforce throws, as cosell's typed errors", () => {
  it.each([
    ["a reset socket", Object.assign(new Error("socket hang up"), { code: "ECONNRESET" })],
    ["node-fetch's FetchError", named("FetchError", "request to https://x failed, reason: read ECONNRESET")],
    [
      "undici's fetch failed",
      Object.assign(new TypeError("fetch failed"), { cause: { code: "UND_ERR_SOCKET" } }),
    ],
  ])("%s is a retryable TransientError", (_n, e) => {
    const err = toCoSellError(e, "GET query");
    expect(err).toBeInstanceOf(TransientError);
    expect(err).toMatchObject({ retryable: true });
  });

  it("a refused session is an AuthError; an unknown error code stays a RemoteApiError", () => {
    expect(toCoSellError(named("INVALID_SESSION_ID", "Session expired"), "GET query")).toBeInstanceOf(
      AuthError,
    );
    const other = toCoSellError(named("MALFORMED_QUERY", "unexpected token"), "GET query");
    expect(other).toBeInstanceOf(RemoteApiError);
    expect(other).not.toBeInstanceOf(TransientError);
  });
});

describe("isTransientFailure (token endpoint answers worth retrying)", () => {
  it.each([
    ["ERROR_HTTP_503", true],
    ["ERROR_HTTP_429", true],
    ["unknown_error", true],
    ["invalid_grant", false],
    ["invalid_client_id", false],
  ])("%s → %s", (name, expected) => {
    expect(isTransientFailure(named(name))).toBe(expected);
  });
});
