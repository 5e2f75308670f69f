import type { ExpandItem, OrderByItem, Preferences } from "../odata/query-options.js";

/**
 * A parsed collection query and the `Preference-Applied` answer to it: shared by plain collection
 * reads (`collection-query.ts`) and change-tracked ones (`changes.ts`), which the former calls.
 */

export interface CollectionQuery {
  select?: string[];
  expand?: ExpandItem[];
  orderby?: OrderByItem[];
  filter?: string;
  top?: number;
  count: boolean;
  prefs: Preferences;
}

/** `Preference-Applied` for the preferences a read honoured. */
export function appliedPreferences(
  prefs: Preferences,
  pageSize: number | undefined,
  extra: string[] = [],
): Record<string, string> {
  const applied = [...extra];
  if (prefs.maxPageSize !== undefined && pageSize !== undefined)
    applied.push(`odata.maxpagesize=${pageSize}`);
  if (prefs.includeAnnotationsRaw !== undefined)
    applied.push(`odata.include-annotations="${prefs.includeAnnotationsRaw}"`);
  return applied.length > 0 ? { "Preference-Applied": applied.join(",") } : {};
}
