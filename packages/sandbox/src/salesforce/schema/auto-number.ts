import type { SObjectDef } from "./types.js";
/** The next auto-number of an object's name field, formatted (`DS-{000000}` → `DS-000042`). */
export function nextAutoNumber(def: SObjectDef): string | undefined {
  const format = def.fields.find((f) => f.nameField)?.autoNumberFormat;
  if (!format) return undefined;
  const n = def.autoNumberNext ?? 0;
  def.autoNumberNext = n + 1;
  return format.replace(/\{(0+)\}/, (_m, zeros: string) => String(n).padStart(zeros.length, "0"));
}
