import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  boundaryOf,
  parseEmbeddedRequest,
  parseMultipart,
  serializeEmbeddedResponse,
  serializeMultipart,
} from "../../src/dataverse/batch/multipart.js";
import { type DataverseHarness, startDataverse } from "./harness.js";

let h: DataverseHarness;
beforeAll(async () => {
  h = await startDataverse();
});
afterAll(() => h.close());

interface Item {
  contentId?: string;
  method: string;
  url: string;
  body?: unknown;
  headers?: Record<string, string>;
}
type Part = Item | { changeset: Item[] };

const CRLF = "\r\n";

function request(item: Item): string {
  const lines = [`${item.method} ${item.url} HTTP/1.1`];
  if (item.body !== undefined) lines.push("Content-Type: application/json; type=entry");
  for (const [k, v] of Object.entries(item.headers ?? {})) lines.push(`${k}: ${v}`);
  lines.push("", item.body === undefined ? "" : JSON.stringify(item.body));
  return lines.join(CRLF);
}

function partHeaders(contentId?: string): string {
  return [
    "Content-Type: application/http",
    "Content-Transfer-Encoding: binary",
    ...(contentId ? [`Content-ID: ${contentId}`] : []),
  ].join(CRLF);
}

/** A $batch body as a client library writes it. */
function batchBody(boundary: string, parts: Part[]): string {
  const out: string[] = [];
  parts.forEach((p, i) => {
    out.push(`--${boundary}`);
    if ("changeset" in p) {
      const cs = `changeset_${i}`;
      out.push(`Content-Type: multipart/mixed; boundary=${cs}`, "");
      for (const item of p.changeset) out.push(`--${cs}`, partHeaders(item.contentId), "", request(item));
      out.push(`--${cs}--`);
    } else out.push(partHeaders(), "", request(p));
  });
  out.push(`--${boundary}--`, "");
  return out.join(CRLF);
}

interface ParsedResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
  contentId?: string;
}

/** Reads a $batch response body into the embedded responses, flattening change sets. */
function readBatch(contentType: string | null, body: string): ParsedResponse[] {
  const boundary = boundaryOf(contentType ?? "");
  if (!boundary) throw new Error(`not multipart: ${contentType}`);
  const out: ParsedResponse[] = [];
  for (const part of parseMultipart(body, boundary)) {
    const inner = boundaryOf(part.headers["content-type"]);
    const parts = inner ? parseMultipart(part.body, inner) : [part];
    for (const p of parts) {
      const lines = p.body.split(/\r\n/);
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(lines[0]!)![1]);
      const blank = lines.indexOf("");
      const headers: Record<string, string> = {};
      for (const l of lines.slice(1, blank))
        headers[l.slice(0, l.indexOf(":")).toLowerCase()] = l.slice(l.indexOf(":") + 1).trim();
      out.push({
        status,
        headers,
        body: lines
          .slice(blank + 1)
          .join("\n")
          .trim(),
        contentId: p.headers["content-id"],
      });
    }
  }
  return out;
}

async function sendBatch(parts: Part[], prefer?: string) {
  const boundary = `batch_${Math.random().toString(16).slice(2)}`;
  const res = await h.call("POST", "$batch", {
    body: batchBody(boundary, parts),
    headers: {
      "Content-Type": `multipart/mixed; boundary="${boundary}"`,
      ...(prefer ? { Prefer: prefer } : {}),
    },
  });
  const text = await res.text();
  return {
    res,
    text,
    parts: res.headers.get("content-type")?.startsWith("multipart")
      ? readBatch(res.headers.get("content-type"), text)
      : [],
  };
}

const count = (set: string) => h.server.control.count(set);

describe("multipart format", () => {
  it("parses LF and CRLF bodies, change sets and embedded requests; writes responses back", () => {
    const lf =
      "--b\nContent-Type: application/http\nContent-Transfer-Encoding: binary\n\nGET /api/data/v9.2/accounts?$select=name HTTP/1.1\nAccept: application/json\n\n\n--b--\n";
    const [part] = parseMultipart(lf, "b");
    expect(part!.headers["content-type"]).toBe("application/http");
    expect(parseEmbeddedRequest(part!.body)).toEqual({
      method: "GET",
      url: "/api/data/v9.2/accounts?$select=name",
      headers: { accept: "application/json" },
      body: "",
    });
    expect(boundaryOf('multipart/mixed; boundary="batch_1"')).toBe("batch_1");
    expect(boundaryOf("multipart/mixed;boundary=changeset_x")).toBe("changeset_x");
    expect(boundaryOf("application/json")).toBeUndefined();
    const written = serializeMultipart("r", [
      {
        headers: { "Content-Type": "application/http" },
        body: serializeEmbeddedResponse({ status: 204, headers: { "OData-Version": "4.0" } }),
      },
    ]);
    expect(written).toBe(
      "--r\r\nContent-Type: application/http\r\n\r\nHTTP/1.1 204 No Content\r\nOData-Version: 4.0\r\n\r\n\r\n--r--\r\n",
    );
    expect(() => parseMultipart("--b\nContent-Type: x\n\nbody", "b")).toThrow(/does not end/);
  });
});

describe("$batch", () => {
  it("runs a change set with Content-ID references in URLs and binds", async () => {
    const { res, parts } = await sendBatch([
      {
        changeset: [
          {
            contentId: "1",
            method: "POST",
            url: "/api/data/v9.2/accounts",
            body: { name: "Batch Account", address1_country: "Germany" },
          },
          {
            contentId: "2",
            method: "POST",
            url: `${h.api}opportunities`,
            body: { name: "Batch Deal", "parentaccountid@odata.bind": "$1" },
          },
          { contentId: "3", method: "PATCH", url: "$2", body: { description: "patched through $2" } },
        ],
      },
      { method: "GET", url: encodeURI("opportunities?$select=name&$filter=name eq 'Batch Deal'") },
    ]);
    expect(res.status, JSON.stringify(parts)).toBe(200);
    expect(res.headers.get("OData-Version")).toBe("4.0");
    expect(res.headers.get("content-type")).toMatch(
      /^multipart\/mixed; boundary=batchresponse_[0-9a-f-]{36}$/,
    );
    expect(parts.map((p) => [p.status, p.contentId])).toEqual([
      [204, "1"],
      [204, "2"],
      [204, "3"],
      [200, undefined],
    ]);
    const accountUrl = parts[0]!.headers["odata-entityid"]!;
    expect(parts[0]!.headers.location).toBe(accountUrl);
    const deal = JSON.parse(parts[3]!.body).value[0];
    const row = h.server.control.get("opportunities", deal.opportunityid)!;
    expect(row.description).toBe("patched through $2");
    expect(`${h.api}accounts(${row._parentaccountid_value})`).toBe(accountUrl);
  });

  it("rolls a change set back as a whole and, by default, stops with 400 and that one error", async () => {
    const accountsBefore = count("accounts");
    const oppsBefore = count("opportunities");
    const { res, parts } = await sendBatch([
      {
        changeset: [
          { contentId: "1", method: "POST", url: "accounts", body: { name: "Rolled back" } },
          {
            contentId: "2",
            method: "POST",
            url: "opportunities",
            body: { name: "x".repeat(301), "parentaccountid@odata.bind": "$1" },
          },
        ],
      },
      { method: "POST", url: "opportunities", body: { name: "never runs" } },
    ]);
    expect(res.status).toBe(400);
    expect(parts).toHaveLength(1);
    expect(parts[0]!.status).toBe(400);
    expect(JSON.parse(parts[0]!.body)).toEqual({
      error: {
        code: "0x80044331",
        message:
          "A validation error occurred.  The length of the 'name' attribute of the 'opportunity' entity exceeded the maximum allowed length of '300'.",
      },
    });
    expect(count("accounts")).toBe(accountsBefore);
    expect(count("opportunities")).toBe(oppsBefore);
  });

  it("with odata.continue-on-error answers 200 with every part, errors included", async () => {
    const oppsBefore = count("opportunities");
    const accountsBefore = count("accounts");
    const { res, parts } = await sendBatch(
      [
        { method: "POST", url: "opportunities", body: { name: "x".repeat(301) } },
        { method: "POST", url: "opportunities", body: { name: "kept" } },
        {
          changeset: [
            { contentId: "1", method: "POST", url: "accounts", body: { name: "also rolled back" } },
            {
              contentId: "2",
              method: "PATCH",
              url: "opportunities(00000000-0000-0000-0000-0000000000aa)",
              body: { name: "y" },
              headers: { "If-Match": "*" },
            },
          ],
        },
        { method: "GET", url: "WhoAmI" },
      ],
      "odata.continue-on-error",
    );
    expect(res.status).toBe(200);
    expect(res.headers.get("Preference-Applied")).toBe("odata.continue-on-error");
    expect(parts.map((p) => p.status)).toEqual([400, 204, 404, 200]);
    expect(count("opportunities")).toBe(oppsBefore + 1);
    expect(count("accounts")).toBe(accountsBefore);
  });

  it("rejects undeclared Content-ID references, GET in a change set, nested batches and more than 1000 requests", async () => {
    const undeclared = await sendBatch([
      {
        changeset: [
          {
            contentId: "2",
            method: "POST",
            url: "opportunities",
            body: { name: "x", "parentaccountid@odata.bind": "$1" },
          },
        ],
      },
    ]);
    expect(undeclared.res.status).toBe(400);
    expect(JSON.parse(undeclared.parts[0]!.body).error.message).toBe(
      "Content-ID Reference: '$1' does not exist in the batch context.",
    );

    const getInChangeset = await sendBatch([{ changeset: [{ method: "GET", url: "accounts" }] }]);
    expect(getInChangeset.res.status).toBe(400);

    const nested = await sendBatch([{ method: "POST", url: "$batch", body: {} }]);
    expect(nested.res.status).toBe(400);

    const many = Array.from({ length: 1001 }, () => ({ method: "GET", url: "WhoAmI" }));
    const tooMany = await sendBatch(many);
    expect(tooMany.res.status).toBe(400);
    expect(tooMany.text).toMatch(/maximum number of requests in a batch is 1000/);

    const notMultipart = await h.call("POST", "$batch", { body: { requests: [] } });
    expect(notMultipart.status).toBe(400);
  });
});
