import {
  CoSellError,
  errorMessage,
  type SyncTarget,
  type WebhookReceiver,
  WebhookVerificationError,
} from "@cosell/core";
import Fastify, { type FastifyInstance, type FastifyReply, LogController } from "fastify";
import type { Logger } from "pino";
import type { EventSource, ServeMetrics } from "./metrics.js";
import type { SyncService } from "./service.js";

/** A refused event: the HTTP status to answer and the error to log. */
export class EventRefusedError extends CoSellError {
  constructor(
    code: string,
    message: string,
    readonly httpStatus: number,
  ) {
    super(code, message);
  }
}

/**
 * Reads a CRM's webhook request: checks its authentication and returns the records it names
 * (empty: nothing cosell syncs). Throws {@link EventRefusedError} (or any error with `httpStatus`).
 */
export type CrmEventParser = (
  rawBody: Buffer,
  headers: Record<string, string | string[] | undefined>,
) => SyncTarget[];

/** What the HTTP server serves. */
export interface ServeAppOptions {
  service: SyncService;
  metrics: ServeMetrics;
  log: Logger;
  /** Verifies Partner Center's signed events; `undefined` when `partnerCenter.webhookUrl` is not set. */
  partnerCenter?: WebhookReceiver;
  /** Dataverse's service-endpoint events; `undefined` when the CRM has no webhook configured. */
  dataverse?: CrmEventParser;
  /** HTTPS: PEM certificate and key. */
  https?: { cert: Buffer; key: Buffer };
  /** Behind a reverse proxy: trust its X-Forwarded-* headers. */
  behindProxy?: boolean;
}

function refuse(reply: FastifyReply, status: number, code: string, message: string) {
  return reply.code(status).send({ error: { code, message } });
}

/** A receiver this deployment did not configure: 404, saying which setting turns it on. */
function notConfigured(reply: FastifyReply, howToTurnOn: string) {
  return refuse(reply, 404, "WEBHOOK_NOT_CONFIGURED", howToTurnOn);
}

/** The body's exact bytes (the content-type parser below keeps every body as a buffer). */
function rawBody(req: { body: unknown }): Buffer {
  return Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
}

/**
 * The fastify app of `cosell serve`: the two webhook receivers, `/healthz`, `/readyz` and `/metrics`.
 * Webhook bodies are read raw (signatures cover the exact bytes) and capped at 1 MiB.
 */
export function buildServeApp(o: ServeAppOptions): FastifyInstance {
  const app = Fastify({
    loggerInstance: o.log.child({ component: "http" }) as never,
    // Each webhook outcome is logged by the route itself; per-request lines would only repeat it.
    logController: new LogController({ disableRequestLogging: true }),
    trustProxy: o.behindProxy === true,
    bodyLimit: 1024 * 1024,
    ...(o.https ? { https: o.https } : {}),
  }) as unknown as FastifyInstance;

  app.get("/healthz", async () => ({ status: "ok" }));

  app.get("/readyz", async (_req, reply) => {
    const r = o.service.readiness();
    return reply.code(r.ready ? 200 : 503).send(r);
  });

  app.get("/metrics", async (_req, reply) => {
    const text = await o.metrics.registry.metrics();
    return reply.type(o.metrics.registry.contentType).send(text);
  });

  app.register(async (hooks) => {
    hooks.removeAllContentTypeParsers();
    hooks.addContentTypeParser("*", { parseAs: "buffer" }, (_req, body, done) => done(null, body));

    const rejected = (source: EventSource, reply: FastifyReply, e: unknown) => {
      const status =
        e instanceof WebhookVerificationError || e instanceof EventRefusedError ? e.httpStatus : 400;
      const code = e instanceof CoSellError ? e.code : "WEBHOOK_BAD_BODY";
      o.metrics.eventsRejected.inc({ source, code });
      o.log.warn({ source, code, status }, `webhook event refused: ${errorMessage(e)}`);
      return refuse(reply, status, code, errorMessage(e));
    };

    hooks.post("/webhooks/partner-center", async (req, reply) => {
      if (!o.partnerCenter)
        return notConfigured(
          reply,
          "Partner Center events are not received here: set partnerCenter.webhookUrl.",
        );
      const outcome = await o.partnerCenter.receive(req.headers, rawBody(req));
      if (!outcome.event) {
        const { status, reason } = outcome;
        if (status === 200) {
          // A replayed copy (or Partner Center's redelivery after a lost answer): acknowledged, not acted on.
          o.log.info(
            { source: "partner_center", code: reason.code },
            `webhook event ignored: ${reason.message}`,
          );
          return reply.code(200).send();
        }
        // After a 413 the rest of an oversized upload is not read: close the connection.
        if (status === 413) reply.header("connection", "close");
        return rejected(
          "partner_center",
          reply,
          new WebhookVerificationError(reason.code, reason.message, status, reason.details),
        );
      }
      await o.service.event("partner_center", { side: "partnerCenter", id: outcome.event.referralId });
      return reply.code(200).send();
    });

    hooks.post("/webhooks/dataverse", async (req, reply) => {
      if (!o.dataverse)
        return notConfigured(
          reply,
          "Dataverse events are not received here: set crm.webhookUrl and run `cosell setup`.",
        );
      let targets: SyncTarget[];
      try {
        targets = o.dataverse(rawBody(req), req.headers);
      } catch (e) {
        return rejected("dataverse", reply, e);
      }
      for (const t of targets) await o.service.event("dataverse", t);
      return reply.code(200).send();
    });
  });

  return app;
}
