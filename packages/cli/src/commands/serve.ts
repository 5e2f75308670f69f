import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import {
  ConfigError,
  createWebhookReceiver,
  dealKey,
  errorMessage,
  InProcessDealLock,
  InProcessSyncQueue,
  type TargetedSyncQueue,
  type WebhookReceiver,
} from "@cosell/core";
import type { Command } from "commander";
import { action, type ExitBox } from "../command-action.js";
import type { CommandContext } from "../context.js";
import { openRuntime } from "../runtime.js";
import type { CrmEventParser } from "../serve/app.js";
import {
  type ChangeEventCapableAdapter,
  type RunningChangeFeed,
  startChangeFeed,
} from "../serve/change-feed.js";
import { ServeMetrics } from "../serve/metrics.js";
import { SyncService } from "../serve/service.js";

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|\[::1\]|localhost)$/i;

/** Reconciliation interval when both sides push their changes (the poll is only a safety net). */
const FEEDS_ON_INTERVAL_S = 900;
/** … and when at least one side is only polled. */
const FEEDS_OFF_INTERVAL_S = 300;

interface ServeOptions {
  port?: string;
  host?: string;
  behindProxy?: boolean;
  tlsCert?: string;
  tlsKey?: string;
  reconcileInterval?: string;
  tenant?: string;
}

function wholeNumber(flag: string, raw: string, min: number, max: number, example: string): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new ConfigError(
      "SERVE_BAD_OPTION",
      `${flag}: "${raw}" — give a whole number ${min}–${max}, e.g. ${flag} ${example}.`,
      {
        key: flag,
      },
    );
  return n;
}

/** A CRM adapter that can read its own webhook requests (Dataverse service endpoints). */
interface WebhookCapableAdapter {
  webhook?: {
    /** Whether the CRM is set up to push events here; `undefined` when it is not configured. */
    configured(): boolean;
    parse: CrmEventParser;
    /** Checks the registration in the CRM; throws with what to do when it is missing. */
    verify(): Promise<void>;
  };
}

/**
 * `cosell serve`: one long-running process. Change events (Partner Center webhooks, Dataverse
 * service-endpoint calls, Salesforce Change Data Capture) trigger targeted syncs of the one deal they name; a reconciliation cycle
 * runs every 15 minutes with both feeds on (5 without) and catches whatever events missed.
 * SIGINT/SIGTERM: stop accepting requests, finish the batch and the targeted sync in flight, exit 0.
 */
export function registerServe(program: Command, ctx: CommandContext, box: ExitBox): void {
  program
    .command("serve")
    .description(
      "run as a service: webhooks in, each changed deal synced at once, a reconciliation poll, /healthz /readyz /metrics",
    )
    .option("--port <port>", "TCP port (default: serve.port, 8080; 0 picks a free one)")
    .option("--host <address>", "address to listen on (default: serve.host, 127.0.0.1)")
    .option("--behind-proxy", "a reverse proxy terminates TLS (allows a non-loopback --host without TLS)")
    .option("--tls-cert <file>", "serve HTTPS with this PEM certificate (with --tls-key)")
    .option("--tls-key <file>", "PEM private key for --tls-cert")
    .option(
      "--tenant <name>",
      "a tenant of the PostgreSQL deployment (COSELL_DATABASE_URL): events and cycles become jobs for cosell worker",
    )
    .option(
      "--reconcile-interval <seconds>",
      "seconds between reconciliation cycles (default 900 with feeds on, 300 off)",
    )
    .action(
      action(ctx, box, async (opts: ServeOptions) => {
        // With --tenant, events go to the PostgreSQL deployment's shared queue (see serve/shared.ts).
        // The HTTP server (fastify) and its parts load with `serve` only, not with every command.
        const [{ buildServeApp }, { openShared }] = await Promise.all([
          import("../serve/app.js"),
          import("../serve/shared.js"),
        ]);
        const shared = opts.tenant ? await openShared(ctx, opts.tenant) : undefined;
        const loaded = shared?.loaded ?? ctx.config();
        const log = ctx.logger();
        const sc = loaded.config.serve;
        const port = opts.port === undefined ? sc.port : wholeNumber("--port", opts.port, 0, 65_535, "8080");
        const host = opts.host ?? sc.host;
        const behindProxy = opts.behindProxy === true || sc.behindProxy;
        const base = dirname(loaded.file);
        const certFile = opts.tlsCert ?? (sc.tls ? resolve(base, sc.tls.certFile) : undefined);
        const keyFile = opts.tlsKey ?? (sc.tls ? resolve(base, sc.tls.keyFile) : undefined);
        if (!!certFile !== !!keyFile)
          throw new ConfigError(
            "SERVE_TLS_INCOMPLETE",
            "HTTPS needs both a certificate and its key: pass --tls-cert and --tls-key (or serve.tls.certFile and serve.tls.keyFile).",
            { key: "serve.tls" },
          );
        if (!LOOPBACK.test(host) && !certFile && !behindProxy)
          throw new ConfigError(
            "SERVE_TLS_REQUIRED",
            `--host ${host}: off loopback cosell serves only HTTPS. Pass --tls-cert and --tls-key, or --behind-proxy when a reverse proxy in front terminates TLS (docs/operations.md).`,
            { key: "serve.host", value: host },
          );
        let https: { cert: Buffer; key: Buffer } | undefined;
        if (certFile && keyFile) {
          try {
            https = { cert: readFileSync(certFile), key: readFileSync(keyFile) };
          } catch (e) {
            throw new ConfigError(
              "SERVE_TLS_UNREADABLE",
              `Cannot read the TLS certificate or key (${errorMessage(e)}). Check serve.tls / --tls-cert / --tls-key.`,
              { key: "serve.tls" },
            );
          }
        }

        let queue: TargetedSyncQueue | undefined;
        const metrics = new ServeMetrics({ queueDepth: () => queue?.depth() ?? 0 });
        const rt = openRuntime(loaded, log, {
          command: "cosell serve",
          fetch: {
            partnerCenter: metrics.countingFetch("partner_center"),
            crm: metrics.countingFetch("crm"),
          },
          ...(shared ? { store: shared.store } : {}),
        });
        const store = rt.store;
        queue = shared
          ? shared.queue((t) => dealKey(store, t), sc.coalesceMs)
          : new InProcessSyncQueue({
              capacity: sc.queueCapacity,
              coalesceMs: sc.coalesceMs,
              keyOf: (t) => dealKey(store, t),
            });

        const pcUrl = loaded.config.partnerCenter.webhookUrl;
        const crmWebhook = (rt.adapter as WebhookCapableAdapter).webhook;
        const crmEvents = (rt.adapter as ChangeEventCapableAdapter).changeEvents;
        const crmFeed = crmWebhook?.configured() === true || crmEvents?.enabled() === true;
        const feedsOn = !!pcUrl && crmFeed;
        const intervalS =
          opts.reconcileInterval === undefined
            ? (sc.reconcileIntervalSeconds ?? (feedsOn ? FEEDS_ON_INTERVAL_S : FEEDS_OFF_INTERVAL_S))
            : wholeNumber("--reconcile-interval", opts.reconcileInterval, 1, 86_400, "900");

        const service = new SyncService({
          rt,
          config: loaded.config,
          log,
          metrics,
          queue,
          lock: new InProcessDealLock(),
          intervalMs: intervalS * 1000,
          ...(shared ? { enqueueCycle: shared.enqueueCycle } : {}),
        });

        let receiver: WebhookReceiver | undefined;
        if (pcUrl) {
          receiver = createWebhookReceiver(loaded.config.partnerCenter.webhookReceiver ?? {});
          const name = "partner center webhooks";
          service.setFeed({ name, connected: false, reason: "Not registered yet." });
          let registered = false;
          // Retried before every cycle until it succeeds; events are only a shortcut meanwhile.
          service.onBeforeCycle(async () => {
            if (registered) return;
            try {
              const r = await rt.partnerCenter.registerWebhook({ url: pcUrl });
              registered = true;
              service.setFeed({ name, connected: true });
              log.info(
                { action: r.action, url: r.registration.url, events: r.registration.events },
                "Partner Center webhook registered",
              );
            } catch (e) {
              const reason = `Registering ${pcUrl} with Partner Center failed: ${errorMessage(e)}`;
              service.setFeed({ name, connected: false, reason });
              log.warn({ code: (e as { code?: string }).code }, reason);
            }
          });
        }
        if (crmWebhook?.configured()) {
          const name = "dataverse webhooks";
          service.setFeed({ name, connected: false, reason: "Registration not checked yet." });
          let verified = false;
          service.onBeforeCycle(async () => {
            if (verified) return;
            try {
              await crmWebhook.verify();
              verified = true;
              service.setFeed({ name, connected: true });
            } catch (e) {
              service.setFeed({ name, connected: false, reason: errorMessage(e) });
              log.warn({ code: (e as { code?: string }).code }, errorMessage(e));
            }
          });
        }

        const app = buildServeApp({
          service,
          metrics,
          log,
          ...(receiver ? { partnerCenter: receiver } : {}),
          ...(crmWebhook?.configured() ? { dataverse: crmWebhook.parse } : {}),
          ...(https ? { https } : {}),
          behindProxy,
        });
        let changeFeed: RunningChangeFeed | undefined;
        let stopSignal: (() => void) | undefined;
        const stopped = new Promise<void>((r) => {
          stopSignal = r;
        });
        const off = ctx.io.onSignal((signal) => {
          log.info({ signal }, "stopping: no new requests; finishing the work in flight");
          stopSignal?.();
        });
        try {
          const url = await app.listen({ port, host });
          log.info({ url, reconcileIntervalSeconds: intervalS, feedsOn }, "cosell serve listening");
          if (ctx.json) ctx.io.stdout.write(`${JSON.stringify({ listening: url })}\n`);
          else ctx.print(`cosell serve listening on ${url} (reconciling every ${intervalS} s)`);
          // Salesforce Change Data Capture: subscribed before the first cycle, so no change falls
          // between what the cycle reads and what the events bring.
          changeFeed = startChangeFeed({
            adapter: rt.adapter as ChangeEventCapableAdapter,
            positions: store,
            service,
            metrics,
            log,
          });
          service.start();
          await stopped;
        } finally {
          off();
          await changeFeed?.stop();
          await app.close();
          await service.stop();
          await rt.close();
          await shared?.close();
        }
        const q = queue.stats();
        const summary = { ok: true, cycles: service.cycles, events: q };
        if (ctx.json) ctx.io.stdout.write(`${JSON.stringify(summary)}\n`);
        else ctx.print(`Stopped after ${service.cycles} cycle(s) and ${q.processed} targeted sync(s).`);
        return 0;
      }),
    );
}
