import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { createLogger, maskSecrets } from "../src/logger.js";

function capture() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk));
      cb();
    },
  });
  return { lines, destination };
}

describe("logger", () => {
  it("redacts tokens, secrets, passwords and Authorization headers by key", () => {
    const { lines, destination } = capture();
    const log = createLogger({ destination, pretty: false });
    log.info(
      {
        accessToken: "tok-aaaaaaaa",
        clientSecret: "sec-bbbbbbbb",
        req: { headers: { authorization: "Bearer zzzzzzzzzzzz" } },
        auth: { password: "pw-cccccccc", refreshToken: "rt-dddddddd" },
      },
      "calling",
    );
    const out = lines.join("");
    for (const s of ["tok-aaaaaaaa", "sec-bbbbbbbb", "zzzzzzzzzzzz", "pw-cccccccc", "rt-dddddddd"])
      expect(out).not.toContain(s);
    expect(out).toContain("[redacted]");
    expect(JSON.parse(lines[0]!).msg).toBe("calling");
  });

  it("masks known secret values and bearer tokens inside free text", () => {
    const { lines, destination } = capture();
    const log = createLogger({ destination, pretty: false, secrets: () => ["super-secret-value"] });
    log.error(
      new Error("token endpoint said no to super-secret-value"),
      "failed with Bearer abcdefghijklmnop",
    );
    const out = lines.join("");
    expect(out).not.toContain("super-secret-value");
    expect(out).not.toContain("abcdefghijklmnop");
  });

  it("maskSecrets ignores very short values (they would mask ordinary words)", () => {
    expect(maskSecrets("a b c", ["b"])).toBe("a b c");
  });
});

describe("logger: secrets that JSON escapes", () => {
  it("masks a multi-line PEM key (the demo's) wherever it or one of its lines appears", async () => {
    const { startSandbox } = await import("@cosell/sandbox");
    const sb = await startSandbox({ systems: ["salesforce"] });
    try {
      const pem = sb.credentials.salesforce.jwtPrivateKeyPem;
      const { lines, destination } = capture();
      const log = createLogger({ destination, pretty: false, secrets: () => [pem] });
      const oneLine = pem.split("\n")[5]!;
      log.error({ detail: `could not sign with ${pem}` }, `bad key line ${oneLine}`);
      const out = lines.join("");
      for (const line of pem.split("\n").filter((l) => l.length >= 16 && !l.startsWith("-----")))
        expect(out).not.toContain(line);
      expect(out).not.toContain(JSON.stringify(pem).slice(1, -1));
      expect(out).toContain("[redacted]");
    } finally {
      await sb.stop();
    }
  });

  it('masks a secret containing " and \\ in its JSON-escaped form', () => {
    const secret = 'pa"ss\\wo"rd-123';
    const { lines, destination } = capture();
    const log = createLogger({ destination, pretty: false, secrets: () => [secret] });
    log.warn({ note: `login with ${secret} failed` }, `again: ${secret}`);
    const out = lines.join("");
    expect(out).not.toContain(JSON.stringify(secret).slice(1, -1));
    expect(out).not.toContain(secret);
    expect(out).toContain("[redacted]");
  });
});
