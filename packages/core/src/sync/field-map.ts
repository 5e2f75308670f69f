import { z } from "zod";
import type { CoSellDeal } from "../domain/deal.js";
import { ConfigError, type ValidationIssue } from "../errors.js";
import { type FieldDirection, FieldDirectionSchema, type SyncField } from "./types.js";

/**
 * Mapping as data: which CRM field feeds which path of the canonical deal, which way, with what
 * default and through which value map. Adapters ship a default map; admins override it in config.
 * Relational parts (account → customer, contact roles → contact, team members) are mapped in
 * adapter code, but still obey the direction configured for their sync field.
 */

/** Paths of the canonical deal that a flat CRM field can feed. */
export const DEAL_PATHS = [
  "name",
  "value.amount",
  "value.currency",
  "closeDate",
  "notes",
  "campaignId",
  "customer.name",
  "customer.duns",
  "customer.address.street",
  "customer.address.city",
  "customer.address.state",
  "customer.address.postalCode",
  "customer.address.country",
  "consentToShareContact",
  "invitation.microsoftHelpRequested",
  "invitation.helpNotes",
  "stage",
  "closeReason",
] as const;
export type DealPath = (typeof DEAL_PATHS)[number];

export const FieldMappingSchema = z
  .object({
    /** CRM field API name, e.g. `Amount`, `estimatedvalue`, `Account.BillingPostalCode`. */
    crm: z.string().min(1),
    /** Canonical path it feeds. */
    deal: z.enum(DEAL_PATHS),
    direction: FieldDirectionSchema.default("both"),
    /** Value used when the CRM field is empty (for fields Partner Center requires). */
    default: z.union([z.string(), z.number(), z.boolean()]).optional(),
    /** Name of a value map in `valueMaps` (stage, country, currency, solution…). */
    valueMap: z.string().optional(),
  })
  .strict();
export type FieldMapping = z.infer<typeof FieldMappingSchema>;

export const ValueMapSchema = z
  .object({
    /** CRM value → canonical value. */
    toDeal: z.record(z.string(), z.string()),
    /** Canonical value → CRM value; defaults to the inverse of `toDeal` (first match wins). */
    toCrm: z.record(z.string(), z.string()).optional(),
  })
  .strict();
export type ValueMap = z.infer<typeof ValueMapSchema>;

export const FieldMapSchema = z
  .object({
    fields: z.array(FieldMappingSchema),
    valueMaps: z.record(z.string(), ValueMapSchema).default({}),
  })
  .strict()
  .superRefine((map, ctx) => {
    map.fields.forEach((f, i) => {
      if (f.valueMap && !map.valueMaps[f.valueMap])
        ctx.addIssue({
          code: "custom",
          path: ["fields", i, "valueMap"],
          message: `value map "${f.valueMap}" is not defined; add it under valueMaps or remove the reference`,
        });
    });
  });
export type FieldMap = z.infer<typeof FieldMapSchema>;

/** Parses a field map (e.g. from config), or throws a {@link ConfigError} naming the bad key. */
export function parseFieldMap(raw: unknown, keyPrefix = "mapping"): FieldMap {
  const r = FieldMapSchema.safeParse(raw);
  if (r.success) return r.data;
  const first = r.error.issues[0]!;
  const key = [keyPrefix, ...first.path.map(String)].join(".");
  const hint =
    first.path.at(-1) === "deal"
      ? ` Use one of: ${DEAL_PATHS.join(", ")}.`
      : first.path.at(-1) === "direction"
        ? " Use both, toCrm, toPartnerCenter or none."
        : "";
  throw new ConfigError("CONFIG_MAPPING_INVALID", `${key}: ${first.message}.${hint}`, {
    key,
    issues: r.error.issues.map((i) => ({
      path: [keyPrefix, ...i.path.map(String)].join("."),
      message: i.message,
    })),
  });
}

/** The sync field a canonical path belongs to. */
export function syncFieldOf(path: DealPath): SyncField {
  if (path === "closeReason") return "stage";
  const head = path.split(".")[0] as SyncField;
  return head;
}

/**
 * Direction per sync field implied by a field map: a field is only as open as its mappings allow
 * (`none` when nothing maps it, so it is never compared).
 */
export function directionsOf(map: FieldMap): Partial<Record<SyncField, FieldDirection>> {
  const out: Partial<Record<SyncField, FieldDirection>> = {};
  for (const f of map.fields) {
    const field = syncFieldOf(f.deal);
    const prev = out[field];
    out[field] =
      prev === undefined || prev === f.direction ? f.direction : mergeDirections(prev, f.direction);
  }
  return out;
}

function mergeDirections(a: FieldDirection, b: FieldDirection): FieldDirection {
  if (a === "none") return b;
  if (b === "none") return a;
  return a === b ? a : "both";
}

function translate(map: ValueMap | undefined, value: unknown, way: "toDeal" | "toCrm"): unknown {
  if (!map || value === null || value === undefined) return value;
  const key = String(value);
  if (way === "toDeal") return map.toDeal[key];
  const explicit = map.toCrm?.[key];
  if (explicit !== undefined) return explicit;
  return Object.entries(map.toDeal).find(([, v]) => v === key)?.[0];
}

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split(".");
  let cur = target;
  for (const p of parts.slice(0, -1)) {
    const next = cur[p];
    cur[p] = next && typeof next === "object" ? { ...(next as Record<string, unknown>) } : {};
    cur = cur[p] as Record<string, unknown>;
  }
  cur[parts.at(-1)!] = value;
}

function getPath(source: unknown, path: string): unknown {
  let cur: unknown = source;
  for (const p of path.split(".")) {
    if (!cur || typeof cur !== "object") return undefined;
    cur = (cur as Record<string, unknown>)[p];
  }
  return cur;
}

/**
 * Reads a flat CRM record through the map into a partial canonical deal. Values a value map does not
 * know become issues (`VALUE_NOT_MAPPED`), so the record is marked instead of synced wrongly.
 */
export function readThroughMap(
  record: Record<string, unknown>,
  map: FieldMap,
): { values: Partial<CoSellDeal>; issues: ValidationIssue[] } {
  const values: Record<string, unknown> = {};
  const issues: ValidationIssue[] = [];
  for (const f of map.fields) {
    if (f.direction === "none") continue;
    let v = getPath(record, f.crm);
    if (v === null || v === undefined || v === "") v = f.default;
    if (v === undefined || v === null) continue;
    if (f.valueMap) {
      const mapped = translate(map.valueMaps[f.valueMap], v, "toDeal");
      if (mapped === undefined) {
        issues.push({
          code: "VALUE_NOT_MAPPED",
          path: f.deal,
          message: `${f.crm} = "${String(v)}" has no entry in value map "${f.valueMap}". Add it to mapping.valueMaps.${f.valueMap}.toDeal.`,
        });
        continue;
      }
      v = mapped;
    }
    setPath(values, f.deal, v);
  }
  return { values: values as Partial<CoSellDeal>, issues };
}

/** The CRM field values that represent `fields` of `deal`, for mappings that flow to the CRM. */
export function writeThroughMap(
  deal: CoSellDeal,
  fields: readonly SyncField[],
  map: FieldMap,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of map.fields) {
    if (f.direction === "none" || f.direction === "toPartnerCenter") continue;
    if (!fields.includes(syncFieldOf(f.deal))) continue;
    if (f.crm.includes(".")) continue; // related-record fields are written by adapter code
    let v = getPath(deal, f.deal);
    if (f.valueMap) v = translate(map.valueMaps[f.valueMap], v, "toCrm");
    out[f.crm] = v === undefined ? null : v;
  }
  return out;
}
