import { randomUUID } from "node:crypto";
import { RemoteApiError } from "@cosell/core";

/** One request inside a `$batch` (dynamics.md §1.6). */
export interface BatchOperation {
  method: "GET" | "POST" | "PATCH" | "DELETE";
  /** Absolute URL, or a `$n` Content-ID reference. */
  url: string;
  headers?: Record<string, string>;
  body?: unknown;
}

/** One part of a batch: a single GET, or an atomic change set of writes. */
export type BatchPart =
  | { kind: "request"; op: BatchOperation }
  | { kind: "changeset"; ops: BatchOperation[] };

/** The answer to one embedded request. */
export interface BatchItemResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

const CRLF = "\r\n";

/**
 * Requests in one `$batch`, each request of a change set counted: "Batch requests can contain up to
 * 1,000 individual requests" (learn.microsoft.com/power-apps/developer/data-platform/webapi/execute-batch-operations-using-web-api).
 * Dataverse refuses a larger batch whole.
 */
export const MAX_BATCH_OPERATIONS = 1000;

/** How many requests a part puts in the batch (a change set: each of its requests). */
export function operationCount(part: BatchPart): number {
  return part.kind === "changeset" ? part.ops.length : 1;
}

/**
 * Splits parts into consecutive groups of at most `max` operations (by operation count, not by part:
 * a change set of five requests counts five). A change set is never split; one larger than `max` is
 * refused, since no batch could carry it.
 */
export function groupByOperations(parts: readonly BatchPart[], max = MAX_BATCH_OPERATIONS): BatchPart[][] {
  const groups: BatchPart[][] = [];
  let current: BatchPart[] = [];
  let count = 0;
  for (const part of parts) {
    const n = operationCount(part);
    if (n > max)
      throw new RemoteApiError(
        "DATAVERSE_BATCH_TOO_LARGE",
        `A change set of ${n} requests does not fit in one $batch (at most ${max}); nothing was sent.`,
      );
    if (count + n > max) {
      groups.push(current);
      current = [];
      count = 0;
    }
    current.push(part);
    count += n;
  }
  if (current.length) groups.push(current);
  return groups;
}

/**
 * A request line or header value with a line break (or any control character) would end the embedded
 * request early and let the rest be read as another request: refused before anything is sent.
 */
function safe(value: string, what: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
  if (/[\x00-\x1f\x7f]/.test(value))
    throw new RemoteApiError(
      "DATAVERSE_VALUE_INVALID",
      `The ${what} of a $batch request holds a control character or line break; nothing was sent.`,
    );
  return value;
}

function httpRequestText(op: BatchOperation, contentId?: number): string {
  safe(op.url, "URL");
  if (/\s/.test(op.url))
    throw new RemoteApiError(
      "DATAVERSE_VALUE_INVALID",
      "A $batch request URL holds a space; nothing was sent.",
    );
  const lines = ["Content-Type: application/http", "Content-Transfer-Encoding: binary"];
  if (contentId !== undefined) lines.push(`Content-ID: ${contentId}`);
  lines.push("", `${op.method} ${op.url} HTTP/1.1`);
  const headers: Record<string, string> = { ...op.headers };
  if (op.body !== undefined) headers["Content-Type"] ??= "application/json; charset=utf-8";
  if (op.method === "GET") headers.Accept ??= "application/json";
  for (const [k, v] of Object.entries(headers))
    lines.push(`${safe(k, "header name")}: ${safe(v, `${k} header`)}`);
  lines.push("", op.body === undefined ? "" : JSON.stringify(op.body));
  return lines.join(CRLF);
}

/** Serialises parts into a `multipart/mixed` body; returns it with its Content-Type. */
export function buildBatch(parts: readonly BatchPart[]): { contentType: string; body: string } {
  const boundary = `batch_${randomUUID()}`;
  const chunks: string[] = [];
  for (const part of parts) {
    chunks.push(`--${boundary}`);
    if (part.kind === "request") chunks.push(httpRequestText(part.op));
    else {
      const cs = `changeset_${randomUUID()}`;
      const inner = part.ops.map((op, i) => `--${cs}${CRLF}${httpRequestText(op, i + 1)}`);
      chunks.push(
        `Content-Type: multipart/mixed; boundary=${cs}${CRLF}${CRLF}${inner.join(CRLF)}${CRLF}--${cs}--`,
      );
    }
  }
  chunks.push(`--${boundary}--`, "");
  return { contentType: `multipart/mixed; boundary=${boundary}`, body: chunks.join(CRLF) };
}

function boundaryOf(contentType: string | undefined): string | undefined {
  const m = /boundary="?([^";]+)"?/i.exec(contentType ?? "");
  return m?.[1];
}

function splitParts(body: string, boundary: string): string[] {
  const out: string[] = [];
  const pieces = body.split(`--${boundary}`);
  for (const p of pieces.slice(1)) {
    if (p.startsWith("--")) break;
    out.push(p.replace(/^\r?\n/, "").replace(/\r?\n$/, ""));
  }
  return out;
}

function parseHeaders(block: string): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const line of block.split(/\r?\n/)) {
    const i = line.indexOf(":");
    if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  return headers;
}

function splitHead(text: string): [string, string] {
  const m = /\r?\n\r?\n/.exec(text);
  return m ? [text.slice(0, m.index), text.slice(m.index + m[0].length)] : [text, ""];
}

function parseHttpResponse(text: string): BatchItemResponse {
  const [head, body] = splitHead(text);
  const [statusLine, ...headerLines] = head.split(/\r?\n/);
  const status = Number(/HTTP\/1\.1 (\d{3})/.exec(statusLine ?? "")?.[1] ?? 500);
  return { status, headers: parseHeaders(headerLines.join("\n")), body: body.trim() };
}

/**
 * Parses a `$batch` answer into one entry per request part: a GET's response, or a change set's
 * responses (all of them on success, the single failing one otherwise).
 */
export function parseBatchResponse(contentType: string | null, body: string): BatchItemResponse[][] {
  const boundary = boundaryOf(contentType ?? undefined);
  if (!boundary) throw new Error("The $batch answer has no multipart boundary.");
  return splitParts(body, boundary).map((part) => {
    const [head, rest] = splitHead(part);
    const headers = parseHeaders(head);
    const inner = boundaryOf(headers["content-type"]);
    if (inner) return splitParts(rest, inner).map((p) => parseHttpResponse(splitHead(p)[1]));
    return [parseHttpResponse(rest)];
  });
}
