import type { RawReply } from "./fixtures.js";

/**
 * Malformed Partner Center answers. Write cases answer one record's create (POST) or update (PATCH)
 * badly; list cases spoil the referral list page every cycle starts with.
 */

const HTML_ERROR_PAGE =
  "<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1></body></html>";

/** The real answer with its body cut off half-way. */
const truncated = (real: RawReply): RawReply => ({
  ...real,
  body: real.body.slice(0, Math.floor(real.body.length / 2)),
});
/** The real answer served as HTML. */
const asHtml = (real: RawReply): RawReply => ({ ...real, contentType: "text/html; charset=utf-8" });
/** The real answer without a Content-Type header. */
const noContentType = (real: RawReply): RawReply => ({ ...real, contentType: undefined });
/** The real answer without its eTag. */
const withoutETag = (real: RawReply): RawReply => {
  const { eTag: _e, ...rest } = JSON.parse(real.body) as Record<string, unknown>;
  return { ...real, body: JSON.stringify(rest) };
};
/** The real answer with one field replaced. */
const withField =
  (key: string, value: unknown) =>
  (real: RawReply): RawReply => ({
    ...real,
    body: JSON.stringify({ ...JSON.parse(real.body), [key]: value }),
  });
const fixed = (status: number, contentType: string | undefined, body: string): RawReply => ({
  status,
  contentType,
  body,
});

export interface WriteCase {
  name: string;
  /** Which write of the bad record is answered badly. */
  method: "POST" | "PATCH";
  reply: RawReply | ((real: RawReply) => RawReply);
  code: string;
  /** The error names this field (details.field), when the answer was unusable. */
  field?: string;
  /** Whether the real write went through before the bad answer (the next cycle must adopt it, not duplicate it). */
  landed: boolean;
}

export const WRITE_CASES: WriteCase[] = [
  {
    name: "create answered with truncated JSON",
    method: "POST",
    reply: truncated,
    code: "REMOTE_BAD_RESPONSE",
    field: "(body)",
    landed: true,
  },
  {
    name: "create answered as text/html",
    method: "POST",
    reply: asHtml,
    code: "REMOTE_BAD_RESPONSE",
    field: "(body)",
    landed: true,
  },
  {
    name: "create answered without Content-Type",
    method: "POST",
    reply: noContentType,
    code: "REMOTE_BAD_RESPONSE",
    field: "(body)",
    landed: true,
  },
  {
    name: "create answered without eTag",
    method: "POST",
    reply: withoutETag,
    code: "REMOTE_BAD_RESPONSE",
    field: "eTag",
    landed: true,
  },
  {
    name: "create answered with an unknown status",
    method: "POST",
    reply: withField("status", "Open"),
    code: "REMOTE_BAD_RESPONSE",
    field: "status",
    landed: true,
  },
  {
    name: "create answered with a numeric id",
    method: "POST",
    reply: withField("id", 42),
    code: "REMOTE_BAD_RESPONSE",
    field: "id",
    landed: true,
  },
  {
    name: "create answered 201 with an empty body",
    method: "POST",
    reply: fixed(201, "application/json", ""),
    code: "REMOTE_BAD_RESPONSE",
    field: "(body)",
    landed: false,
  },
  {
    name: "create answered 200 with JSON null",
    method: "POST",
    reply: fixed(200, "application/json", "null"),
    code: "REMOTE_BAD_RESPONSE",
    field: "(body)",
    landed: false,
  },
  {
    name: "create refused with a JSON error body",
    method: "POST",
    reply: fixed(
      400,
      "application/json",
      JSON.stringify({
        error: { code: "InvalidCustomer", message: "customerProfile.address.country is not supported." },
      }),
    ),
    code: "REMOTE_REJECTED",
    landed: false,
  },
  {
    name: "create refused with an HTML error page",
    method: "POST",
    reply: fixed(400, "text/html", HTML_ERROR_PAGE),
    code: "REMOTE_REJECTED",
    landed: false,
  },
  {
    name: "create answered by a gateway's HTML 502 page, every attempt",
    method: "POST",
    reply: fixed(502, "text/html", HTML_ERROR_PAGE),
    code: "REMOTE_UNAVAILABLE",
    landed: false,
  },
  {
    name: "update answered with truncated JSON",
    method: "PATCH",
    reply: truncated,
    code: "REMOTE_BAD_RESPONSE",
    field: "(body)",
    landed: true,
  },
  {
    name: "update answered without eTag",
    method: "PATCH",
    reply: withoutETag,
    code: "REMOTE_BAD_RESPONSE",
    field: "eTag",
    landed: true,
  },
  {
    name: "update answered as text/plain",
    method: "PATCH",
    reply: (real) => ({ ...real, contentType: "text/plain" }),
    code: "REMOTE_BAD_RESPONSE",
    field: "(body)",
    landed: true,
  },
  {
    name: "update answered with a string dealValue",
    method: "PATCH",
    reply: (real) => {
      const r = JSON.parse(real.body);
      return { ...real, body: JSON.stringify({ ...r, details: { ...r.details, dealValue: "lots" } }) };
    },
    code: "REMOTE_BAD_RESPONSE",
    field: "details.dealValue",
    landed: true,
  },
  {
    name: "update refused with 403 and an HTML page",
    method: "PATCH",
    reply: fixed(403, "text/html", HTML_ERROR_PAGE),
    code: "AUTH_FORBIDDEN",
    landed: false,
  },
];

export interface ListCase {
  name: string;
  reply: RawReply | ((real: RawReply) => RawReply);
  /** The field the error names. */
  field: string;
}

/** A spoilt list page: the cycle cannot know what changed, so it must stop before writing anything. */
export const LIST_CASES: ListCase[] = [
  { name: "list page with truncated JSON", reply: truncated, field: "(body)" },
  {
    name: "list page as an HTML error page with 200",
    reply: fixed(200, "text/html", HTML_ERROR_PAGE),
    field: "(body)",
  },
  { name: "list page with an empty body", reply: fixed(200, "application/json", ""), field: "(body)" },
  {
    name: "list page without value",
    reply: fixed(200, "application/json", JSON.stringify({ items: [] })),
    field: "value",
  },
  {
    name: "list page whose value is an object",
    reply: fixed(200, "application/json", JSON.stringify({ value: {} })),
    field: "value",
  },
  {
    name: "list page linking off the API's origin",
    reply: fixed(
      200,
      "application/json",
      JSON.stringify({
        value: [],
        "@odata.nextLink": "https://evil.example/v1.0/engagements/referrals?$skip=100",
      }),
    ),
    field: "@odata.nextLink",
  },
];
