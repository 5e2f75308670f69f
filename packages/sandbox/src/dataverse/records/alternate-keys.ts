import type { Env } from "../env.js";
import { DataverseError, dvErrors } from "../errors.js";
import type { FilterLiteral } from "../odata/filter.js";
import { isLookup } from "../schema/schema.js";
import type { KeyDef, TableDef } from "../schema/types.js";
import type { Stored } from "../store/store.js";

/** An alternate key resolved from a URL: the key, its values as stored, and the matching row id. */
export interface AlternateKeyMatch {
  key: KeyDef;
  values: Record<string, Stored>;
  id: string | undefined;
}

function literalToStored(table: TableDef, column: string, lit: FilterLiteral): Stored {
  const col = table.columns.get(column)!;
  if (lit.type === "null") return null;
  if (isLookup(col)) {
    if (lit.type !== "guid") throw dvErrors.invalidKey(table.logicalName);
    return { id: lit.value, table: col.targets?.[0]?.table ?? "" };
  }
  switch (lit.type) {
    case "string":
    case "date":
    case "guid":
      return lit.value;
    case "number":
    case "boolean":
      return lit.value;
    case "datetime":
      return new Date(lit.value).toISOString().replace(/\.\d{3}Z$/, "Z");
  }
  return null;
}

/**
 * Resolves `opportunities(cosell_referralid='ABC')`: the names must be exactly the attributes of one
 * Active alternate key (lookup columns may be written `_x_value`), otherwise Dataverse's "The key in
 * the request URI is not valid…" error.
 */
export function resolveAlternateKey(
  env: Env,
  table: TableDef,
  values: Record<string, FilterLiteral>,
): AlternateKeyMatch {
  const names = Object.keys(values).map((n) => /^_(.+)_value$/.exec(n)?.[1] ?? n);
  const wanted = [...names].sort().join(",");
  const key = [...table.keys.values()].find((k) => [...k.keyAttributes].sort().join(",") === wanted);
  if (!key) throw dvErrors.invalidKey(table.logicalName);
  if (key.status !== "Active")
    throw new DataverseError(
      400,
      "0x80060888",
      `The alternate key '${key.logicalName}' of '${table.logicalName}' cannot be used yet: its index status is ${key.status}. ${key.status === "Failed" ? "Remove the duplicate key values and reactivate the key." : "Wait until EntityKeyIndexStatus is Active."}`,
    );
  const stored: Record<string, Stored> = {};
  const literals = Object.values(values);
  names.forEach((name, i) => {
    stored[name] = literalToStored(table, name, literals[i]!);
  });
  return { key, values: stored, id: env.store.findByKey(table.logicalName, key.logicalName, stored) };
}

/**
 * Builds the index of every Pending key whose time has come (or all of them when `force`): Active
 * when the existing rows are unique, Failed otherwise. With timed activation a key is InProgress
 * between its pending time and its build time.
 */
export function activatePendingKeys(env: Env, force = false): void {
  const mode = env.keyActivation;
  const now = env.clock.now().getTime();
  for (const table of env.schema.tables()) {
    for (const key of table.keys.values()) {
      if (key.status !== "Pending" && key.status !== "InProgress") continue;
      if (!force) {
        if (mode === "manual") continue;
        if (mode === "nextRequest" && key.createdAtRequest >= env.requestCounter) continue;
        if (typeof mode === "object") {
          const age = now - key.createdAtMs;
          if (age < mode.pendingMs) continue;
          if (age < mode.pendingMs + mode.buildMs) {
            key.status = "InProgress";
            continue;
          }
        }
      }
      const ok = env.store.buildKeyIndex(table.logicalName, key.logicalName, key.keyAttributes);
      key.status = ok ? "Active" : "Failed";
    }
  }
}
