/**
 * Salesforce DX source format: the files `sf project deploy start` reads. Every component is one
 * `…-meta.xml` file whose root element is its Metadata API type, in the metadata namespace; a custom
 * object is "decomposed" into a folder holding the object's own file and a subfolder per child type
 * (fields, list views, validation rules). Suffixes and folders are the Metadata API's (each type's
 * reference page, "File Suffix and Directory Location") plus source format's `-meta.xml`
 * (developer.salesforce.com/docs/atlas.en-us.sfdx_dev.meta/sfdx_dev/sfdx_dev_source_file_format.htm).
 */

/** One component as the Metadata API CRUD calls take it (`fullName` as they spell it, e.g. `Opportunity.X__c`). */
export interface MetadataComponent {
  type: string;
  fullName: string;
  metadata: Record<string, unknown>;
}

/** One file of the package, relative to the package directory (e.g. `force-app`). */
export interface SourceFile {
  path: string;
  content: string;
}

/**
 * Types whose components live in their object: in source format under the object's folder (`fields/`,
 * …), in metadata format as elements of the same name inside `objects/<Object>.object`.
 */
export const OBJECT_CHILD_TYPES: Readonly<Record<string, { folder: string; suffix: string }>> = {
  CustomField: { folder: "fields", suffix: "field" },
  ListView: { folder: "listViews", suffix: "listView" },
  ValidationRule: { folder: "validationRules", suffix: "validationRule" },
};

/** Types with a folder of their own, the same in source and metadata format (`-meta.xml` aside). */
export const OWN_FOLDER_TYPES: Readonly<Record<string, { folder: string; suffix: string }>> = {
  GlobalValueSet: { folder: "globalValueSets", suffix: "globalValueSet" },
  PermissionSet: { folder: "permissionsets", suffix: "permissionset" },
  QuickAction: { folder: "quickActions", suffix: "quickAction" },
  Layout: { folder: "layouts", suffix: "layout" },
};

const ROOT = "main/default";
const NAMESPACE = "http://soap.sforce.com/2006/04/metadata";

/** Where a component's file goes, and the `fullName` it carries inside (source format drops the object prefix). */
export function sourcePath(c: MetadataComponent): { path: string; innerName?: string } {
  const child = OBJECT_CHILD_TYPES[c.type];
  if (child) {
    const dot = c.fullName.indexOf(".");
    if (dot < 1) throw new Error(`${c.type} ${c.fullName}: expected Object.Name`);
    const object = c.fullName.slice(0, dot);
    const name = c.fullName.slice(dot + 1);
    return {
      path: `${ROOT}/objects/${object}/${child.folder}/${name}.${child.suffix}-meta.xml`,
      innerName: name,
    };
  }
  if (c.type === "CustomObject")
    return { path: `${ROOT}/objects/${c.fullName}/${c.fullName}.object-meta.xml` };
  const top = OWN_FOLDER_TYPES[c.type];
  if (!top) throw new Error(`No source-format location known for the Metadata API type ${c.type}`);
  return { path: `${ROOT}/${top.folder}/${c.fullName}.${top.suffix}-meta.xml` };
}

/**
 * The component's `-meta.xml` file. Elements are written `fullName` first, then the others in
 * alphabetical order: the metadata WSDL declares each type's fields in that order, and a deploy
 * refuses an element out of its place ("Element … invalid at this location"). Top-level and
 * object-child files carry no `fullName` of the object (the path names the component); child files
 * keep the short name, as `sf project retrieve start` writes them.
 */
export function sourceFile(c: MetadataComponent): SourceFile {
  const { path, innerName } = sourcePath(c);
  const { fullName: _drop, ...rest } = c.metadata;
  const body = innerName === undefined ? rest : { fullName: innerName, ...rest };
  return { path, content: metadataXml(c.type, body) };
}

/** A metadata file: the root element named after the type, in the metadata namespace, then `body`'s elements. */
export function metadataXml(rootType: string, body: Record<string, unknown>): string {
  const lines = [
    `<?xml version="1.0" encoding="UTF-8"?>`,
    `<${rootType} xmlns="${NAMESPACE}">`,
    ...elements(body, "    "),
    `</${rootType}>`,
  ];
  return `${lines.join("\n")}\n`;
}

function elements(value: Record<string, unknown>, indent: string): string[] {
  const keys = Object.keys(value)
    .filter((k) => !k.startsWith("$") && value[k] !== undefined && value[k] !== null)
    .sort((a, b) => (a === "fullName" ? -1 : b === "fullName" ? 1 : a < b ? -1 : a > b ? 1 : 0));
  const out: string[] = [];
  for (const k of keys) {
    const v = value[k];
    for (const item of Array.isArray(v) ? v : [v]) {
      if (item !== null && typeof item === "object") {
        out.push(
          `${indent}<${k}>`,
          ...elements(item as Record<string, unknown>, `${indent}    `),
          `${indent}</${k}>`,
        );
      } else out.push(`${indent}<${k}>${escapeXml(String(item))}</${k}>`);
    }
  }
  return out;
}

/** Text content needs only `&`, `<` and `>` escaped (quotes matter in attributes, which these files have none of). */
function escapeXml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** `sfdx-project.json`: one package directory, the API version the adapter speaks. */
export function sfdxProject(packageDirectory: string, apiVersion: string): SourceFile {
  const project = {
    packageDirectories: [{ path: packageDirectory, default: true }],
    name: "cosell",
    namespace: "",
    sourceApiVersion: apiVersion,
  };
  return { path: "sfdx-project.json", content: `${JSON.stringify(project, null, 2)}\n` };
}
