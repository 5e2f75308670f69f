import { STATUS_CODES } from "node:http";

/**
 * The `multipart/mixed` format of OData `$batch` (dynamics.md §1.6): parsing request bodies (batch
 * parts, change sets, embedded `application/http` requests) and writing response bodies. Accepts
 * CRLF and bare LF line ends, as clients send both.
 */

/** One MIME part: its headers (names lower-cased) and its raw body. */
export interface MimePart {
  headers: Record<string, string>;
  body: string;
}

/** An HTTP request embedded in an `application/http` part. */
export interface EmbeddedRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string;
}

/** The body is not valid multipart; the message says where. */
export class MultipartError extends Error {}

/** The `boundary` parameter of a `multipart/mixed` content type. */
export function boundaryOf(contentType: string | undefined): string | undefined {
  if (!contentType || !/^\s*multipart\/mixed/i.test(contentType)) return undefined;
  const m = /boundary\s*=\s*(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  return m?.[1] ?? m?.[2];
}

function parseHeaderLines(lines: string[]): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(":");
    if (colon <= 0) throw new MultipartError(`Malformed header line '${line}'`);
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return headers;
}

/** Splits a multipart body into parts. */
export function parseMultipart(body: string, boundary: string): MimePart[] {
  const lines = body.split(/\r?\n/);
  const delimiter = `--${boundary}`;
  const parts: MimePart[] = [];
  let current: string[] | undefined;
  let closed = false;
  for (const line of lines) {
    const trimmed = line.trimEnd();
    if (trimmed === delimiter || trimmed === `${delimiter}--`) {
      if (current) parts.push(toPart(current));
      current = trimmed === delimiter ? [] : undefined;
      if (trimmed !== delimiter) {
        closed = true;
        break;
      }
      continue;
    }
    current?.push(line);
  }
  if (!closed) throw new MultipartError(`The multipart body does not end with '--${boundary}--'.`);
  return parts;
}

function toPart(lines: string[]): MimePart {
  const blank = lines.findIndex((l) => l.trim() === "");
  const headerLines = blank < 0 ? lines : lines.slice(0, blank);
  const bodyLines = blank < 0 ? [] : lines.slice(blank + 1);
  return {
    headers: parseHeaderLines(headerLines.filter((l) => l.trim() !== "")),
    body: bodyLines.join("\r\n"),
  };
}

/** Parses the HTTP request inside an `application/http` part. */
export function parseEmbeddedRequest(text: string): EmbeddedRequest {
  const lines = text.replace(/^(\r?\n)+/, "").split(/\r?\n/);
  const requestLine = /^([A-Z]+)\s+(\S+)(?:\s+HTTP\/\d\.\d)?$/.exec(lines[0]?.trim() ?? "");
  if (!requestLine)
    throw new MultipartError(
      `Expected a request line such as 'POST /api/data/v9.2/accounts HTTP/1.1', got '${lines[0] ?? ""}'.`,
    );
  const blank = lines.findIndex((l, i) => i > 0 && l.trim() === "");
  const headerLines = lines.slice(1, blank < 0 ? lines.length : blank);
  const body =
    blank < 0
      ? ""
      : lines
          .slice(blank + 1)
          .join("\r\n")
          .trim();
  return { method: requestLine[1]!, url: requestLine[2]!, headers: parseHeaderLines(headerLines), body };
}

/** One response to write into a batch body. */
export interface EmbeddedResponse {
  status: number;
  headers: Record<string, string>;
  body?: string;
}

/** `HTTP/1.1 204 No Content` + headers + body, as the content of an `application/http` part. */
export function serializeEmbeddedResponse(r: EmbeddedResponse): string {
  const lines = [`HTTP/1.1 ${r.status} ${STATUS_CODES[r.status] ?? ""}`.trimEnd()];
  for (const [k, v] of Object.entries(r.headers)) lines.push(`${k}: ${v}`);
  lines.push("");
  lines.push(r.body ?? "");
  return lines.join("\r\n");
}

/** A multipart body from parts (each with its own headers). */
export function serializeMultipart(boundary: string, parts: MimePart[]): string {
  const out: string[] = [];
  for (const p of parts) {
    out.push(`--${boundary}`);
    for (const [k, v] of Object.entries(p.headers)) out.push(`${k}: ${v}`);
    out.push("");
    out.push(p.body);
  }
  out.push(`--${boundary}--`);
  out.push("");
  return out.join("\r\n");
}
