import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Referral } from "@cosell/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SandboxError, startSandbox } from "../../src/index.js";
import { createReferral, pcApi, pcToken, REFERRALS, webhookToken } from "../partner-center/helpers.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "cosell-sandbox-"));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe("startSandbox", () => {
  it("starts Entra ID, Partner Center and the control API on 127.0.0.1 with random credentials per start", async () => {
    const a = await startSandbox();
    const b = await startSandbox();
    try {
      for (const url of [a.urls.entra, a.urls.partnerCenter, a.urls.control])
        expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const c = a.credentials.partnerCenter;
      expect(c).toMatchObject({
        scope: "https://api.partner.microsoft.com/.default",
        apiBaseUrl: `${a.urls.partnerCenter}/v1.0`,
        authorityHost: a.urls.entra,
        tokenEndpoint: `${a.urls.entra}/${c.tenantId}/oauth2/v2.0/token`,
      });
      expect(c.certificate.privateKeyPem).toContain("BEGIN PRIVATE KEY");
      expect(c.certificate.thumbprintSha256).toMatch(/^[0-9a-f]{64}$/);
      const d = b.credentials.partnerCenter;
      expect(d.tenantId).not.toBe(c.tenantId);
      expect(d.clientSecret).not.toBe(c.clientSecret);
      expect(d.certificate.thumbprintSha256).not.toBe(c.certificate.thumbprintSha256);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });

  it("secrets() lists every secret, key and token it issued", async () => {
    const s = await startSandbox();
    try {
      const token = await pcToken(s);
      const secrets = s.secrets();
      expect(secrets).toContain(s.credentials.partnerCenter.clientSecret);
      expect(secrets).toContain(s.credentials.partnerCenter.certificate.privateKeyPem);
      expect(secrets).toContain(token);
      expect(
        secrets.some(
          (x) =>
            x.includes("BEGIN PRIVATE KEY") && x !== s.credentials.partnerCenter.certificate.privateKeyPem,
        ),
      ).toBe(true);
    } finally {
      await s.stop();
    }
  });

  it("systems: [] starts only Entra ID and the control API", async () => {
    const s = await startSandbox({ systems: [] });
    try {
      expect(Object.keys(s.urls).sort()).toEqual(["control", "entra"]);
      const routes = (await (await fetch(s.urls.control)).json()) as { routes: { path: string }[] };
      expect(routes.routes.map((r) => r.path)).not.toContain("/microsoft/referrals");
    } finally {
      await s.stop();
    }
  });

  it("a taken base port is a PORT_IN_USE error and nothing is left running", async () => {
    const first = await startSandbox();
    try {
      const taken = Number(new URL(first.urls.partnerCenter).port) - 2;
      const err = await startSandbox({ basePort: taken }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SandboxError);
      expect((err as SandboxError).code).toBe("PORT_IN_USE");
    } finally {
      await first.stop();
    }
  });

  it("stop() is idempotent and closes every server", async () => {
    const s = await startSandbox();
    await Promise.all([s.stop(), s.stop()]);
    await expect(fetch(s.urls.partnerCenter)).rejects.toThrow();
    await expect(fetch(s.urls.control)).rejects.toThrow();
  });
});

describe("snapshots", () => {
  it("round-trips credentials, referrals, webhook registration and the clock through stop and start", async () => {
    const file = join(dir, "round-trip", "sandbox.json");
    const first = await startSandbox({
      systems: ["partnerCenter"],
      snapshotFile: file,
      clockStart: new Date("2026-05-01T00:00:00Z"),
      freezeClock: true,
    });
    const api = pcApi(first, await pcToken(first));
    const outbound = await createReferral(api);
    const inbound = first.partnerCenter.sendInboundReferral();
    const hooks = pcApi(first, await webhookToken(first));
    await hooks("POST", first.credentials.partnerCenter.webhookRegistrationUrl, {
      WebhookUrl: "http://127.0.0.1:9/hook",
      WebhookEvents: ["referral-updated"],
    });
    first.clock.advance(3 * 24 * 3600 * 1000);
    const creds = first.credentials.partnerCenter;
    const certificatePem = await first.partnerCenter.webhooks.certificatePem();
    const referrals = first.partnerCenter.all();
    const oldToken = await pcToken(first);
    await first.stop();

    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const saved = JSON.parse(await readFile(file, "utf8")) as { clock: { now: string } };
    expect(saved.clock.now).toBe("2026-05-04T00:00:00.000Z");

    const second = await startSandbox({ systems: ["partnerCenter"], snapshotFile: file, freezeClock: true });
    try {
      expect(second.credentials.partnerCenter).toMatchObject({
        tenantId: creds.tenantId,
        clientId: creds.clientId,
        clientSecret: creds.clientSecret,
        certificate: creds.certificate,
      });
      expect(second.clock.now().toISOString()).toBe("2026-05-04T00:00:00.000Z");
      expect(second.partnerCenter.all()).toEqual(referrals);
      expect(second.partnerCenter.webhooks.registration()).toMatchObject({ url: "http://127.0.0.1:9/hook" });
      expect(await second.partnerCenter.webhooks.certificatePem()).toBe(certificatePem);
      // Tokens are not kept: clients sign in again with the same credentials.
      expect((await pcApi(second, oldToken)("GET", REFERRALS)).status).toBe(401);
      const api2 = pcApi(second, await pcToken(second));
      const got = await api2<Referral>("GET", `${REFERRALS}/${outbound.id}`);
      expect(got.body.eTag).toBe(outbound.eTag);
      expect((await api2<Referral>("GET", `${REFERRALS}/${inbound.id}`)).body.substatus).toBe("Pending");
      // A fresh referral keeps the sample rotation going rather than repeating the first customer.
      expect(second.partnerCenter.sendInboundReferral().customerProfile?.name).not.toBe(
        inbound.customerProfile?.name,
      );
    } finally {
      await second.stop();
    }
  });

  it("POST /snapshot saves on demand; without snapshotFile it says what to do", async () => {
    const file = join(dir, "on-demand.json");
    const s = await startSandbox({ snapshotFile: file });
    try {
      s.partnerCenter.sendInboundReferral();
      const res = await fetch(`${s.urls.control}/snapshot`, { method: "POST" });
      expect(((await res.json()) as { file: string }).file).toBe(file);
      const saved = JSON.parse(await readFile(file, "utf8")) as {
        systems: { partnerCenter: { referrals: unknown[] } };
      };
      expect(saved.systems.partnerCenter.referrals).toHaveLength(1);
    } finally {
      await s.stop();
    }
    const plain = await startSandbox();
    try {
      const res = await fetch(`${plain.urls.control}/snapshot`, { method: "POST" });
      expect(res.status).toBe(409);
      const body = (await res.json()) as { error: { code: string; message: string } };
      expect(body.error).toMatchObject({
        code: "SNAPSHOT_NOT_CONFIGURED",
        message: expect.stringContaining("snapshotFile"),
      });
      await expect(plain.saveSnapshot()).rejects.toMatchObject({ code: "SNAPSHOT_NOT_CONFIGURED" });
    } finally {
      await plain.stop();
    }
  });

  it("a malformed snapshot file is a SNAPSHOT_INVALID error", async () => {
    const file = join(dir, "bad.json");
    await writeFile(file, JSON.stringify({ format: "something-else" }));
    await expect(startSandbox({ snapshotFile: file })).rejects.toMatchObject({ code: "SNAPSHOT_INVALID" });
    await writeFile(file, "{ not json");
    await expect(startSandbox({ snapshotFile: file })).rejects.toMatchObject({ code: "SNAPSHOT_INVALID" });
  });
});
