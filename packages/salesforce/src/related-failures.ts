import type { CollectionResult } from "./client.js";

/**
 * Records, per opportunity, the first reason Salesforce gave for refusing one of its related rows
 * (`owners[k]` is the opportunity of the k-th row sent).
 */
export function noteFailures(
  failed: Map<string, string>,
  owners: readonly string[],
  res: readonly CollectionResult[],
): void {
  res.forEach((r, k) => {
    const owner = owners[k];
    if (!r.success && owner && !failed.has(owner))
      failed.set(
        owner,
        `${r.errors?.[0]?.statusCode ?? "UNKNOWN_ERROR"}: ${r.errors?.[0]?.message ?? "Salesforce did not say why."}`,
      );
  });
}
