import { strToU8, zipSync } from "fflate";
import type { SalesforceContext } from "../context.js";
import { fileNameOf, IN_OBJECT_FILE, OWN_FOLDER } from "./metadata-files.js";
import { type MetadataRecord, SoapFault } from "./metadata-types.js";
import { child, childrenNamed, toXml, type XmlElement } from "./xml.js";

/**
 * Metadata API `retrieve` and `checkRetrieveStatus` (developer.salesforce.com/docs/atlas.en-us.
 * api_meta.meta/api_meta/meta_retrieve.htm, meta_checkretrievestatus.htm): the components an
 * `unpackaged` manifest names (`*` for all of a type), as a metadata-format zip — an object's fields,
 * list views and validation rules inside its `objects/<Object>.object` file — with `package.xml`. A
 * member that does not exist is not an error: it comes back as a message, as Salesforce does. The
 * work is done at once; the first status check finds it done.
 */

const MD_NS = "http://soap.sforce.com/2006/04/metadata";
interface Retrieval {
  id: string;
  files: Record<string, string>;
  properties: MetadataRecord[];
  messages: { fileName: string; problem: string }[];
}

const file = (root: string, body: MetadataRecord) =>
  `<?xml version="1.0" encoding="UTF-8"?>\n${toXml(root, body, ` xmlns="${MD_NS}"`)}\n`;

export class Retrievals {
  private readonly retrievals = new Map<string, Retrieval>();
  private counter = 0;

  constructor(private readonly ctx: SalesforceContext) {}

  /** `retrieve(RetrieveRequest)`: the AsyncResult's id. */
  retrieve(request: XmlElement | undefined): { id: string; done: boolean; state: string } {
    const unpackaged = child(request, "unpackaged");
    if (!unpackaged)
      throw new SoapFault(
        "soapenv:Client",
        "retrieve needs request.unpackaged (the sandbox has no named packages)",
      );
    const version = child(request, "apiVersion")?.text.trim() ?? "62.0";
    const objects = new Map<string, MetadataRecord>();
    const files: Record<string, string> = {};
    const properties: MetadataRecord[] = [];
    const messages: { fileName: string; problem: string }[] = [];
    const listed: { members: string[]; name: string }[] = [];
    for (const t of childrenNamed(unpackaged, "types")) {
      const type = child(t, "name")?.text.trim() ?? "";
      const asked = childrenNamed(t, "members").map((m) => m.text.trim());
      const names = asked.includes("*") ? this.ctx.metadata.list(type).map((p) => String(p.fullName)) : asked;
      const found: string[] = [];
      for (const name of names) {
        const [md] = this.ctx.metadata.read(type, [name]);
        const element = IN_OBJECT_FILE[type];
        const dot = name.indexOf(".");
        if (!element && type !== "CustomObject" && !OWN_FOLDER[type])
          throw new SoapFault("sf:INVALID_TYPE", `INVALID_TYPE: the sandbox cannot retrieve ${type}`);
        const fileName = fileNameOf(type, name);
        if (!md) {
          messages.push({ fileName, problem: `Entity of type '${type}' named '${name}' cannot be found` });
          continue;
        }
        found.push(name);
        const { fullName: _f, ...body } = md;
        if (element) {
          const obj = objects.get(name.slice(0, dot)) ?? {};
          obj[element] = [
            ...((obj[element] as MetadataRecord[] | undefined) ?? []),
            { fullName: name.slice(dot + 1), ...body },
          ];
          objects.set(name.slice(0, dot), obj);
        } else if (type === "CustomObject") objects.set(name, { ...body, ...(objects.get(name) ?? {}) });
        else files[fileName] = file(type, body);
        properties.push({ fileName, fullName: name, type });
      }
      if (found.length) listed.push({ members: found.sort(), name: type });
    }
    for (const [name, body] of objects) files[`objects/${name}.object`] = file("CustomObject", body);
    files["package.xml"] = file("Package", { types: listed, version });
    this.counter += 1;
    const id = `09S${String(this.counter).padStart(12, "0")}AAA`;
    this.retrievals.set(id, { id, files, properties, messages });
    return { id, done: false, state: "Queued" };
  }

  /** `checkRetrieveStatus(asyncProcessId)`: the RetrieveResult, with the zip. */
  status(asyncProcessId: string): MetadataRecord {
    const r = this.retrievals.get(asyncProcessId);
    if (!r)
      throw new SoapFault(
        "sf:INVALID_ID_FIELD",
        `INVALID_ID_FIELD: invalid asyncProcessId: ${asyncProcessId}`,
      );
    const zip = zipSync(Object.fromEntries(Object.entries(r.files).map(([k, v]) => [k, strToU8(v)])));
    return {
      done: true,
      fileProperties: r.properties,
      id: r.id,
      messages: r.messages,
      status: "Succeeded",
      success: true,
      zipFile: Buffer.from(zip).toString("base64"),
    };
  }
}
