/**
 * Where each metadata type lives in a metadata-format zip (deploy, retrieve, listMetadata's
 * `fileName`): an object's fields, list views and validation rules are elements of its
 * `objects/<Object>.object` file; the other types have a folder of their own
 * (each type's reference page, "File Suffix and Directory Location").
 */

/** Types kept inside their object's file, and the element that holds each. */
export const IN_OBJECT_FILE: Readonly<Record<string, string>> = {
  CustomField: "fields",
  ListView: "listViews",
  ValidationRule: "validationRules",
};

/** Types with a folder of their own: the folder and the file suffix. */
export const OWN_FOLDER: Readonly<Record<string, { folder: string; suffix: string }>> = {
  GlobalValueSet: { folder: "globalValueSets", suffix: "globalValueSet" },
  PermissionSet: { folder: "permissionsets", suffix: "permissionset" },
  QuickAction: { folder: "quickActions", suffix: "quickAction" },
  Layout: { folder: "layouts", suffix: "layout" },
};

/** The file a component is in (`Opportunity.X__c` → `objects/Opportunity.object`). */
export function fileNameOf(type: string, fullName: string): string {
  if (type === "CustomObject") return `objects/${fullName}.object`;
  if (IN_OBJECT_FILE[type]) return `objects/${fullName.split(".")[0]}.object`;
  const place = OWN_FOLDER[type];
  if (!place) throw new Error(`No metadata-format location known for the type ${type}`);
  return `${place.folder}/${fullName}.${place.suffix}`;
}
