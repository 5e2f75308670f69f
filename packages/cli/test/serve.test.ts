import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { runCli } from "../src/program.js";
import { useFakeDynamics } from "./helpers/fake-crm.js";
import { type CapturedIo, captureIo } from "./helpers/io.js";
import { freePort, startServe } from "./helpers/serve-rig.mjs";
import { type Workspace, workspace } from "./helpers/workspace.js";

type Ready = { ready: boolean; checks: { name: string; ok: boolean; reason?: string }[] };
type ErrorBody = { error: { code: string; message: string } };

describe("cosell serve", () => {
  let ws: Workspace;
  let fake: ReturnType<typeof useFakeDynamics>;
  let io: CapturedIo;
  let running: Promise<number> | undefined;
  let base: string;

  /** Starts serve on a free port; `webhooks` registers the Partner Center receiver. */
  async function serve(options: { webhooks?: boolean; trustTestRoot?: boolean; args?: string[] } = {}) {
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    // The sandbox signs with a test CA made at its start: trusted here through config, as a
    // deployment would list Microsoft's own locations and roots.
    const webhookReceiver = {
      certificateUrlPrefixes: [ws.sandbox.partnerCenter.webhooks.certificateUrlPrefix],
      ...(options.trustTestRoot === false
        ? {}
        : { trustedRootCertificates: await ws.sandbox.partnerCenter.webhooks.trustedRootPem() }),
    };
    ws.write((c) => {
      const pc = c.partnerCenter as Record<string, unknown>;
      if (options.webhooks) {
        pc.webhookUrl = `${base}/webhooks/partner-center`;
        pc.webhookReceiver = webhookReceiver;
      }
      c.serve = { port, coalesceMs: 20 };
    });
    io = captureIo({ env: ws.env, cwd: ws.dir });
    const serving = await startServe({
      runCli,
      io,
      argv: ["serve", "--reconcile-interval", "3600", ...(options.args ?? [])],
      base,
      timeoutMs: 10_000,
    });
    running = serving.exited;
    expect(io.out()).toContain("listening");
  }

  beforeEach(async () => {
    ws = await workspace();
    fake = useFakeDynamics();
    running = undefined;
  });
  afterEach(async () => {
    if (running) {
      io.signal("SIGTERM");
      await running;
    }
    fake.restore();
    await ws.sandbox.stop();
  });

  it("answers /healthz, /readyz with every check, and /metrics with cosell_ series", async () => {
    await serve();
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    const ready = (await (await fetch(`${base}/readyz`)).json()) as Ready;
    expect(ready.ready).toBe(true);
    expect(ready.checks.map((c) => c.name)).toEqual(["state store", "sign-in", "first cycle"]);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/^cosell_cycles_total\{mode="incremental",outcome="ok"\} 1$/m);
    expect(metrics).toMatch(/^cosell_api_calls_total\{system="partner_center",status="200"\} [1-9]/m);
    expect(metrics).toMatch(/^cosell_queue_depth 0$/m);
    expect(metrics).toMatch(/^cosell_seconds_since_last_successful_cycle \d/m);
    expect(metrics).toContain("cosell_events_dropped_total");
    expect(metrics).toContain("cosell_records_synced_total");
    expect(metrics).toContain("cosell_records_failed_total");
  });

  it("retries a reconciliation cycle that failed after 1 s instead of waiting for the next interval", async () => {
    vi.spyOn(fake.crm, "changedAfter").mockImplementationOnce(() => {
      throw new Error("the CRM went away");
    });
    // Ready only once a cycle has finished: the retry's, since the next interval is an hour away.
    await serve();
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/^cosell_cycles_total\{mode="incremental",outcome="error"\} 1$/m);
    expect(metrics).toMatch(/^cosell_cycles_total\{mode="incremental",outcome="ok"\} 1$/m);
    expect(io.err()).toContain("sync cycle failed: the CRM went away");
    expect(io.err()).toContain("retrying the sync cycle in 1 s (attempt 1 of 5 failed)");
  });

  it("a receiver that is not configured answers 404 naming the setting that turns it on", async () => {
    await serve();
    for (const [path, setting] of [
      ["partner-center", "partnerCenter.webhookUrl"],
      ["dataverse", "crm.webhookUrl"],
    ] as const) {
      const r = await fetch(`${base}/webhooks/${path}`, { method: "POST", body: "{}" });
      expect(r.status).toBe(404);
      const body = (await r.json()) as ErrorBody;
      expect(body.error.code).toBe("WEBHOOK_NOT_CONFIGURED");
      expect(body.error.message).toContain(setting);
    }
  });

  it("a Partner Center event syncs its referral into the CRM without waiting for the poll", async () => {
    await serve({ webhooks: true });
    const ready = (await (await fetch(`${base}/readyz`)).json()) as Ready;
    expect(ready.checks).toContainEqual({ name: "feed: partner center webhooks", ok: true });
    expect(fake.crm.all()).toHaveLength(0);

    const referral = ws.sandbox.partnerCenter.sendInboundReferral();

    await vi.waitFor(() => expect(fake.crm.all().map((o) => o.referralId)).toEqual([referral.id]), {
      timeout: 10_000,
    });
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/^cosell_events_received_total\{source="partner_center"\} [1-9]/m);
    expect(metrics).toMatch(/^cosell_cycles_total\{mode="incremental",outcome="ok"\} 1$/m);
  });

  it("an event with a bad signature or a malformed body is refused, logged with the reason, and syncs nothing", async () => {
    await serve({ webhooks: true });
    const before = fake.crm.all().length;
    const unsigned = await fetch(`${base}/webhooks/partner-center`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ EventName: "referral-created", ResourceUri: "x", ResourceChangeUtcDate: "y" }),
    });
    expect(unsigned.status).toBe(401);
    expect(((await unsigned.json()) as ErrorBody).error.code).toBe("WEBHOOK_SIGNATURE_MISSING");
    const forged = await fetch(`${base}/webhooks/partner-center`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        authorization: `Signature ${Buffer.alloc(256, 7).toString("base64")}`,
        "x-ms-signature-algorithm": "rsa-sha256",
        "x-ms-certificate-url": `${ws.sandbox.partnerCenter.webhooks.certificateUrlPrefix}pcnotifications-dispatch.microsoft.com.cer`,
      },
      body: JSON.stringify({
        EventName: "referral-created",
        ResourceUri: `${ws.sandbox.credentials.partnerCenter.apiBaseUrl}/engagements/referrals/abc`,
        ResourceName: "referral",
        AuditUri: null,
        ResourceChangeUtcDate: ws.sandbox.clock.now().toISOString(),
      }),
    });
    expect(forged.status).toBe(401);
    expect(((await forged.json()) as ErrorBody).error.code).toBe("WEBHOOK_BAD_SIGNATURE");
    expect(io.err()).toContain("WEBHOOK_BAD_SIGNATURE");
    expect(io.err()).toContain("webhook event refused");
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(
      /^cosell_events_rejected_total\{source="partner_center",code="WEBHOOK_BAD_SIGNATURE"\} 1$/m,
    );
    expect(fake.crm.all()).toHaveLength(before);
    // No Dataverse feed configured: its route says how to turn it on.
    const dv = await fetch(`${base}/webhooks/dataverse`, { method: "POST", body: "{}" });
    expect(dv.status).toBe(404);
  });

  it("an event whose certificate chain does not end in a trusted root is refused (401), logged with the reason, and syncs nothing", async () => {
    // Default trust (the public roots): the sandbox's test root is not among them.
    await serve({ webhooks: true, trustTestRoot: false });
    const referral = ws.sandbox.partnerCenter.sendInboundReferral();
    await vi.waitFor(
      () => {
        const d = ws.sandbox.partnerCenter.webhooks.deliveries().find((x) => x.referralId === referral.id);
        expect(d?.attempts[0]?.status).toBe(401);
      },
      { timeout: 10_000 },
    );
    expect(io.err()).toContain("WEBHOOK_UNTRUSTED_CERTIFICATE");
    expect(io.err()).toContain("does not chain to a trusted root");
    expect(fake.crm.all()).toHaveLength(0);
  });

  it("stops on SIGTERM with exit 0 and a summary", async () => {
    await serve({ args: ["--json"] });
    io.signal("SIGTERM");
    expect(await running).toBe(0);
    running = undefined;
    const lines = io
      .out()
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(lines[0].listening).toBe(base);
    expect(lines.at(-1)).toMatchObject({ ok: true, cycles: 1 });
    await expect(fetch(`${base}/healthz`)).rejects.toThrow();
  });

  it("refuses a non-loopback address without TLS or --behind-proxy, naming both fixes", async () => {
    const io2 = captureIo({ env: ws.env, cwd: ws.dir });
    expect(await runCli(["serve", "--host", "0.0.0.0"], io2)).toBe(1);
    expect(io2.err()).toContain("SERVE_TLS_REQUIRED");
    expect(io2.err()).toContain("--behind-proxy");
    const io3 = captureIo({ env: ws.env, cwd: ws.dir });
    expect(await runCli(["serve", "--tls-cert", "x.pem"], io3)).toBe(1);
    expect(io3.err()).toContain("SERVE_TLS_INCOMPLETE");
  });
});
