import { z } from "zod";
import { type Solution, SolutionKindSchema } from "./deal.js";

/**
 * One entry of the CRM's co-sell solution catalog: what a seller picks from when adding a solution
 * to a deal instead of typing ids. The Partner Center solution id is the key (unique external id in
 * Salesforce, alternate key in Dataverse), so an entry seen on a referral, listed in config and
 * imported from a file is one row, never three.
 */
export const CatalogSolutionSchema = z.object({
  /** Partner Center's solution id. */
  id: z
    .string()
    .trim()
    .min(1, "give the Partner Center solution id")
    .max(100, "a Partner Center solution id is at most 100 characters"),
  name: z.string().trim().min(1, "give the solution's name").max(255, "at most 255 characters"),
  kind: SolutionKindSchema,
  /** Inactive entries stay on the deals that have them but are no longer offered to sellers. */
  active: z.boolean().default(true),
});
export type CatalogSolution = z.infer<typeof CatalogSolutionSchema>;

/** What an upsert of catalog entries did, per entry. */
export interface CatalogUpsertResult {
  created: string[];
  updated: string[];
  unchanged: string[];
  /** Entries the CRM refused, with its reason; the others were still written. */
  failed: { id: string; reason: string }[];
}

/**
 * The catalog side of a CRM adapter (optional on `CrmAdapter`): `cosell solutions import`, setup
 * (the partner's own solutions from config) and the sync (every solution seen on a referral) fill it.
 */
export interface SolutionCatalog {
  /** Creates or updates entries by Partner Center id; an entry equal to what the CRM holds is not written. */
  upsert(entries: readonly CatalogSolution[]): Promise<CatalogUpsertResult>;
  /** Every entry, active or not, ordered by name. */
  list(): Promise<CatalogSolution[]>;
}

/** The catalog entry for a solution seen on a deal (active: a referral carries it). */
export function catalogEntryOf(s: Solution): CatalogSolution {
  return { id: s.id, name: s.name || s.id, kind: s.kind, active: true };
}

/** Whether `a` and `b` say the same (so an upsert of `a` over `b` writes nothing). */
export function sameCatalogEntry(a: CatalogSolution, b: CatalogSolution): boolean {
  return a.id === b.id && a.name === b.name && a.kind === b.kind && a.active === b.active;
}
