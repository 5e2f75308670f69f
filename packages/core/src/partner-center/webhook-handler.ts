import type { IncomingMessage, ServerResponse } from "node:http";
import { errorMessage } from "../errors.js";
import type { WebhookHint, WebhookOutcome, WebhookReceiver } from "./webhook-receiver.js";

/** Settings of {@link createWebhookRequestHandler}. */
export interface WebhookHandlerOptions {
  receiver: WebhookReceiver;
  /** Called with each verified event. Its failures go to `onError`; Partner Center still gets 200. */
  onHint: (hint: WebhookHint) => void | Promise<void>;
  /** Every delivery not acted on (refused or replayed), with its status and reason: log it. */
  onRefused?: (outcome: Extract<WebhookOutcome, { reason: object }>) => void;
  /** `onHint` failures and request stream errors. */
  onError?: (error: Error) => void;
}

function reply(
  res: ServerResponse,
  outcome: WebhookOutcome | { status: number; reason: { code: string; message: string } },
  extra: Record<string, string> = {},
): void {
  const payload = outcome.reason
    ? JSON.stringify({ error: { code: outcome.reason.code, message: outcome.reason.message } })
    : undefined;
  res.writeHead(outcome.status, {
    ...(payload ? { "content-type": "application/json; charset=utf-8" } : {}),
    ...extra,
  });
  res.end(payload);
}

/**
 * A `node:http` request handler (mount it on the receiver's path) around a {@link WebhookReceiver}:
 * POST only (405 otherwise); the headers are checked before the body is read; a body over the limit
 * (announced or counted) is answered 413 and the connection closed, so the rest is never read; the
 * verified event goes to `onHint` after the 200 is sent.
 */
export function createWebhookRequestHandler(
  options: WebhookHandlerOptions,
): (req: IncomingMessage, res: ServerResponse) => void {
  const { receiver } = options;
  const limit = receiver.config.maxBodyBytes;
  const report = (e: unknown) => options.onError?.(e instanceof Error ? e : new Error(errorMessage(e)));
  const refuse = (req: IncomingMessage, res: ServerResponse, outcome: WebhookOutcome) => {
    if (outcome.reason) options.onRefused?.(outcome as Extract<WebhookOutcome, { reason: object }>);
    if (outcome.status !== 413) return reply(res, outcome);
    // Stop reading: answer, then close the connection instead of draining an oversized upload.
    reply(res, outcome, { connection: "close" });
    res.on("finish", () => req.socket.destroySoon?.());
    req.pause();
  };
  return (req, res) => {
    req.on("error", report);
    if (req.method !== "POST") {
      req.resume();
      reply(
        res,
        { status: 405, reason: { code: "METHOD_NOT_ALLOWED", message: "Events are POSTed." } },
        { allow: "POST" },
      );
      return;
    }
    const early = receiver.precheck(req.headers);
    if (early) return refuse(req, res, early);
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    req.on("data", (c: Buffer) => {
      if (done) return;
      size += c.length;
      if (size > limit) {
        done = true;
        refuse(req, res, {
          status: 413,
          reason: {
            code: "WEBHOOK_TOO_LARGE",
            message: `Events are at most ${limit} bytes (partnerCenter.webhookReceiver.maxBodyBytes).`,
          },
        });
        return;
      }
      chunks.push(c);
    });
    req.on("end", () => {
      if (done) return;
      done = true;
      receiver.receive(req.headers, Buffer.concat(chunks)).then((outcome) => {
        if (!outcome.event) return refuse(req, res, outcome);
        reply(res, outcome);
        Promise.resolve()
          .then(() => options.onHint(outcome.event))
          .catch(report);
      }, report);
    });
  };
}
