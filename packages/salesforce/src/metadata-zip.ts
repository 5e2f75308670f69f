import { strToU8, zipSync } from "fflate";
import {
  type MetadataComponent,
  metadataXml,
  OBJECT_CHILD_TYPES,
  OWN_FOLDER_TYPES,
} from "./source-format.js";

/**
 * The zip a Metadata API `deploy` takes, in metadata format (not source format: the Salesforce CLI
 * converts source format to this before it deploys): `package.xml` naming every component, an
 * object's fields, list views and validation rules inside its one `objects/<Object>.object` file, and
 * a file per component of the other types (developer.salesforce.com/docs/atlas.en-us.api_meta.meta/
 * api_meta/meta_deploy.htm, "Deploying and Retrieving Metadata with the Zip File").
 */

/** The files of the zip, by path (package.xml included). */
export function metadataFiles(
  components: readonly MetadataComponent[],
  apiVersion: string,
): Map<string, string> {
  const objects = new Map<string, Record<string, unknown[] | unknown>>();
  const objectOf = (name: string) => {
    const o = objects.get(name) ?? {};
    objects.set(name, o);
    return o;
  };
  const files = new Map<string, string>();
  for (const c of components) {
    const { fullName: _f, ...body } = c.metadata;
    const element = OBJECT_CHILD_TYPES[c.type]?.folder;
    if (element) {
      const dot = c.fullName.indexOf(".");
      const o = objectOf(c.fullName.slice(0, dot));
      const list = (o[element] as unknown[] | undefined) ?? [];
      list.push({ fullName: c.fullName.slice(dot + 1), ...body });
      o[element] = list;
    } else if (c.type === "CustomObject") Object.assign(objectOf(c.fullName), body);
    else {
      const place = OWN_FOLDER_TYPES[c.type];
      if (!place) throw new Error(`No metadata-format location known for the type ${c.type}`);
      files.set(`${place.folder}/${c.fullName}.${place.suffix}`, metadataXml(c.type, body));
    }
  }
  for (const [name, body] of objects) files.set(`objects/${name}.object`, metadataXml("CustomObject", body));
  files.set("package.xml", packageXml(components, apiVersion));
  return files;
}

/** `package.xml`: every component by type (types and members sorted, as the Salesforce CLI writes them). */
export function packageXml(components: readonly MetadataComponent[], apiVersion: string): string {
  const byType = new Map<string, string[]>();
  for (const c of components) byType.set(c.type, [...(byType.get(c.type) ?? []), c.fullName]);
  const types = [...byType.keys()].sort().map((name) => ({ members: [...byType.get(name)!].sort(), name }));
  // `members` before `name`, `types` before `version`: the schema's order, which metadataXml's sorting keeps.
  return metadataXml("Package", { types, version: apiVersion });
}

/** The zip itself, base64 as `deploy` sends it. */
export function metadataZip(components: readonly MetadataComponent[], apiVersion: string): Buffer {
  const entries: Record<string, Uint8Array> = {};
  for (const [path, content] of metadataFiles(components, apiVersion)) entries[path] = strToU8(content);
  return Buffer.from(zipSync(entries, { level: 6, mtime: new Date("2026-01-01T00:00:00Z") }));
}
