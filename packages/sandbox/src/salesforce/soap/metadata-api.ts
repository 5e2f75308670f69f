import type { SandboxRequest, SandboxResponse } from "../../kit/index.js";
import type { SalesforceContext } from "../context.js";
import { MAX_API_VERSION } from "../rest/router.js";
import { Deployments } from "./deploy.js";
import type { MetadataRecord } from "./metadata-types.js";
import { SoapFault } from "./metadata-types.js";
import { Retrievals } from "./retrieve.js";
import { child, childrenNamed, parseXml, toValue, toXml, type XmlElement, XmlSyntaxError } from "./xml.js";

const XML_CONTENT_TYPE = "text/xml;charset=UTF-8";
const MD_NS = "http://soap.sforce.com/2006/04/metadata";

function envelope(body: string): string {
  return (
    '<?xml version="1.0" encoding="UTF-8"?>' +
    `<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns="${MD_NS}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">` +
    `<soapenv:Body>${body}</soapenv:Body></soapenv:Envelope>`
  );
}

/** A SOAP fault as Salesforce sends it: HTTP 500, `<faultcode>sf:CODE</faultcode>`. */
export function soapFaultResponse(f: SoapFault): SandboxResponse {
  const body =
    '<?xml version="1.0" encoding="UTF-8"?>' +
    `<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:sf="${MD_NS}">` +
    `<soapenv:Body><soapenv:Fault>${toXml("faultcode", f.faultcode)}${toXml("faultstring", f.faultstring)}</soapenv:Fault></soapenv:Body></soapenv:Envelope>`;
  return { status: 500, headers: { "content-type": XML_CONTENT_TYPE }, body };
}

function typeOf(el: XmlElement): string {
  const t = el.attrs["xsi:type"] ?? "";
  return t.slice(t.indexOf(":") + 1);
}

function asRecord(el: XmlElement): MetadataRecord {
  const v = toValue(el);
  return v && typeof v === "object" ? (v as MetadataRecord) : {};
}

function respond(method: string, results: string): SandboxResponse {
  return {
    status: 200,
    headers: { "content-type": XML_CONTENT_TYPE },
    body: envelope(`<${method}Response>${results}</${method}Response>`),
  };
}

/**
 * `POST /services/Soap/m/<version>`: the Metadata API. The session comes from the envelope's
 * `SessionHeader` (not the Authorization header); a bad one is an `sf:INVALID_SESSION_ID` fault,
 * which is what makes jsforce refresh and retry.
 */
export function handleMetadataSoap(
  ctx: SalesforceContext,
  req: SandboxRequest,
  version: string,
): SandboxResponse {
  req.endpoint = "POST /services/Soap/m/{version}";
  try {
    const v = Number(version);
    if (!(v >= ctx.options.apiVersionFloor && v <= MAX_API_VERSION))
      throw new SoapFault(
        "sf:UNSUPPORTED_API_VERSION",
        `UNSUPPORTED_API_VERSION: Invalid Api version specified on URL: ${version}`,
      );
    if (req.method !== "POST")
      throw new SoapFault("soapenv:Client", "Only POST is supported by the SOAP endpoint");
    let root: XmlElement;
    try {
      root = parseXml(req.text());
    } catch (e) {
      if (e instanceof XmlSyntaxError)
        throw new SoapFault("soapenv:Client", `Unable to parse the request: ${e.message}`);
      throw e;
    }
    const header = child(root, "Header");
    const sessionId = child(child(header, "SessionHeader"), "sessionId")?.text.trim();
    const session = ctx.tokens.verify(sessionId, "salesforce");
    if (!session?.subject)
      throw new SoapFault(
        "sf:INVALID_SESSION_ID",
        "INVALID_SESSION_ID: Invalid Session ID found in SessionHeader: Illegal Session",
      );
    if (ctx.usage.exhausted())
      throw new SoapFault(
        "sf:REQUEST_LIMIT_EXCEEDED",
        "REQUEST_LIMIT_EXCEEDED: TotalRequests Limit exceeded.",
      );
    ctx.usage.count();
    const call = child(root, "Body")?.children[0];
    if (!call) throw new SoapFault("soapenv:Client", "Missing operation in the SOAP body");
    return dispatch(ctx, call);
  } catch (e) {
    if (e instanceof SoapFault) return soapFaultResponse(e);
    throw e;
  }
}

function componentType(components: XmlElement[]): string {
  const types = new Set(components.map(typeOf));
  if (types.size !== 1 || types.has(""))
    throw new SoapFault(
      "sf:INVALID_TYPE",
      "INVALID_TYPE: All components in a call must have the same xsi:type",
    );
  return [...types][0]!;
}

/** Each org's deploys and retrievals (their status is asked for by id on later calls). */
const deploymentsOf = new WeakMap<SalesforceContext, Deployments>();
const retrievalsOf = new WeakMap<SalesforceContext, Retrievals>();

function dispatch(ctx: SalesforceContext, call: XmlElement): SandboxResponse {
  const md = ctx.metadata;
  const method = call.local;
  switch (method) {
    case "retrieve":
    case "checkRetrieveStatus": {
      const retrievals = retrievalsOf.get(ctx) ?? new Retrievals(ctx);
      retrievalsOf.set(ctx, retrievals);
      if (method === "retrieve")
        return respond(method, toXml("result", retrievals.retrieve(child(call, "request"))));
      const id = child(call, "asyncProcessId")?.text.trim() ?? "";
      return respond(method, toXml("result", retrievals.status(id)));
    }
    case "deploy":
    case "checkDeployStatus": {
      const deployments = deploymentsOf.get(ctx) ?? new Deployments(ctx);
      deploymentsOf.set(ctx, deployments);
      if (method === "deploy") {
        const zip = child(call, "ZipFile")?.text.trim();
        if (!zip) throw new SoapFault("soapenv:Client", "deploy needs a ZipFile");
        return respond(method, toXml("result", deployments.deploy(zip, child(call, "DeployOptions"))));
      }
      const id = child(call, "asyncProcessId")?.text.trim() ?? "";
      const details = child(call, "includeDetails")?.text.trim() === "true";
      return respond(method, toXml("result", deployments.status(id, details)));
    }
    case "createMetadata":
    case "updateMetadata":
    case "upsertMetadata": {
      const components = childrenNamed(call, "metadata");
      if (!components.length)
        throw new SoapFault("soapenv:Client", `${method} needs at least one metadata element`);
      const type = componentType(components);
      const records = components.map(asRecord);
      const results =
        method === "createMetadata"
          ? md.create(type, records)
          : method === "updateMetadata"
            ? md.update(type, records)
            : md.upsert(type, records);
      return respond(method, toXml("result", results));
    }
    case "deleteMetadata":
    case "readMetadata": {
      const type = child(call, "type")?.text.trim() ?? "";
      const names = childrenNamed(call, "fullNames").map((n) => n.text.trim());
      if (method === "deleteMetadata") return respond(method, toXml("result", md.delete(type, names)));
      const records = md.read(type, names);
      const inner = records
        .map((r) => (r ? toXml("records", r, ` xsi:type="${type}"`) : '<records xsi:nil="true"/>'))
        .join("");
      return respond(method, `<result>${inner}</result>`);
    }
    case "listMetadata": {
      const types = childrenNamed(call, "queries").map((q) => child(q, "type")?.text.trim() ?? "");
      return respond(
        method,
        toXml(
          "result",
          types.flatMap((t) => md.list(t)),
        ),
      );
    }
    default:
      throw new SoapFault("soapenv:Client", `No operation available for request {${MD_NS}}${method}`);
  }
}
