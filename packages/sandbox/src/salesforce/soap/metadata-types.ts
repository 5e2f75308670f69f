/** A metadata component as parsed from / written to SOAP (`fullName`, `label`, …). */
export type MetadataRecord = Record<string, unknown>;

export interface MetadataErrorItem {
  fields?: string[];
  message: string;
  statusCode: string;
}

/** SaveResult / UpsertResult of the Metadata API (element order as Salesforce sends it). */
export interface MetadataSaveResult {
  created?: boolean;
  errors?: MetadataErrorItem[];
  fullName: string;
  success: boolean;
}

/** A component-level failure that goes into the SaveResult (not a SOAP fault). */
export class MetadataComponentError extends Error {
  constructor(
    readonly statusCode: string,
    message: string,
    readonly fields: string[] = [],
  ) {
    super(message);
  }
}

/** A request-level failure: answered as a SOAP fault with `sf:<code>`. */
export class SoapFault extends Error {
  constructor(
    readonly faultcode: string,
    readonly faultstring: string,
  ) {
    super(faultstring);
  }
}

/** A non-empty string property. */
export function str(md: MetadataRecord, key: string): string | undefined {
  const v = md[key];
  return typeof v === "string" && v !== "" ? v : undefined;
}

/** A boolean property (`true`/`false` text or a boolean). */
export function bool(md: MetadataRecord, key: string): boolean | undefined {
  const v = md[key];
  if (typeof v === "boolean") return v;
  if (v === "true") return true;
  if (v === "false") return false;
  return undefined;
}

/** A numeric property. */
export function num(md: MetadataRecord, key: string): number | undefined {
  const v = md[key];
  if (typeof v === "number") return v;
  if (typeof v === "string" && v.trim() !== "" && Number.isFinite(Number(v))) return Number(v);
  return undefined;
}

/** Repeated elements come out as an array, a single one as an object: this always gives an array. */
export function list(md: MetadataRecord | undefined, key: string): MetadataRecord[] {
  const v = md?.[key];
  if (v === undefined || v === null || v === "") return [];
  const arr = Array.isArray(v) ? v : [v];
  return arr.filter((x): x is MetadataRecord => typeof x === "object" && x !== null) as MetadataRecord[];
}

/** A nested component (object) property. */
export function record(md: MetadataRecord | undefined, key: string): MetadataRecord | undefined {
  const v = md?.[key];
  return v && typeof v === "object" && !Array.isArray(v) ? (v as MetadataRecord) : undefined;
}

/** Developer names: letter first, letters/digits/single underscores, no trailing underscore. */
export const DEVELOPER_NAME = /^[A-Za-z](?:[A-Za-z0-9]|_(?!_))*[A-Za-z0-9]$|^[A-Za-z]$/;
