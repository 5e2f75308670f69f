import { describe, expect, it } from "vitest";
import { describeSandbox } from "../src/describe.js";

const sandbox = {
  urls: { control: "http://127.0.0.1:3", entra: "http://127.0.0.1:1", partnerCenter: "http://127.0.0.1:2" },
  credentials: {
    partnerCenter: {
      clientId: "client-1",
      clientSecret: "s3cret",
      certificate: {
        privateKeyPem: "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----",
        thumbprintSha256: "abc123",
      },
    },
  },
  clock: { now: () => new Date("2026-03-01T00:00:00Z") },
};

describe("describeSandbox", () => {
  it("lists every server, Entra ID first and the control API last", () => {
    const text = describeSandbox(sandbox);
    const at = (s: string) => text.indexOf(s);
    expect(at("Entra ID")).toBeLessThan(at("Partner Center"));
    expect(at("Partner Center")).toBeLessThan(at("Control API"));
    expect(text).toContain("http://127.0.0.1:2");
    expect(text).toContain("2026-03-01T00:00:00.000Z");
  });

  it("prints test credentials, nested ones by path, but never a private key", () => {
    const text = describeSandbox(sandbox, { snapshotFile: "state.json" });
    expect(text).toContain("clientSecret");
    expect(text).toMatch(/certificate\.thumbprintSha256\s+abc123/);
    expect(text).not.toContain("BEGIN PRIVATE KEY");
    expect(text).toMatch(/certificate\.privateKeyPem\s+\(a PEM private key, kept in state\.json\)/);
  });
});
