import { randomUUID } from "node:crypto";
import type { Env } from "../env.js";
import { DataverseError, dvErrors } from "../errors.js";
import type { Schema } from "./schema.js";
import type { OptionDef } from "./types.js";

/**
 * Global choices (`GlobalOptionSetDefinitions`, Microsoft Learn "Create and update choices (option
 * sets) using the Web API"): created with a POST of `OptionSetMetadata` (`Name`, `Options`,
 * `IsGlobal: true`), read by MetadataId or `Name`, and used by a choice column through
 * `GlobalOptionSet@odata.bind`. Kept per schema, as the custom tables are.
 */

/** `componenttype` of an option set in `solutioncomponents`. */
export const OPTION_SET_COMPONENT = 9;

export interface GlobalOptionSet {
  metadataId: string;
  name: string;
  displayName: string;
  options: OptionDef[];
}

type Json = Record<string, unknown>;

const globalSets = new WeakMap<Schema, Map<string, GlobalOptionSet>>();

function setsOf(env: Env): Map<string, GlobalOptionSet> {
  let m = globalSets.get(env.schema);
  if (!m) {
    m = new Map();
    globalSets.set(env.schema, m);
  }
  return m;
}

const text = (v: unknown): string | undefined => {
  const t = (v as { LocalizedLabels?: { Label?: unknown }[] } | undefined)?.LocalizedLabels?.[0]?.Label;
  return typeof t === "string" ? t : undefined;
};

/** The global option sets of an environment. */
export function globalOptionSets(env: Env): GlobalOptionSet[] {
  return [...setsOf(env).values()];
}

/** A global option set by MetadataId or by `Name` (case-insensitive, as Dataverse names are). */
export function findGlobalOptionSet(
  env: Env,
  ref: { id?: string; name?: string },
): GlobalOptionSet | undefined {
  return globalOptionSets(env).find((s) =>
    ref.id ? s.metadataId === ref.id.toLowerCase() : s.name === ref.name?.toLowerCase(),
  );
}

/** Creates a global option set from an `OptionSetMetadata` payload (the route adds it to a solution). */
export function createGlobalOptionSet(env: Env, payload: unknown): GlobalOptionSet {
  if (typeof payload !== "object" || payload === null)
    throw dvErrors.badRequest("The body must be an OptionSetMetadata object.");
  const p = payload as Json;
  if (typeof p.Name !== "string" || !/^[A-Za-z][A-Za-z0-9]*_[A-Za-z0-9_]+$/.test(p.Name))
    throw dvErrors.badRequest(
      `The option set Name '${String(p.Name)}' is not valid: use '<publisher prefix>_<name>', e.g. 'new_colors'.`,
    );
  if (p.IsGlobal !== true)
    throw dvErrors.badRequest(
      "A global option set needs IsGlobal: true (local choices are created with their column).",
    );
  const name = p.Name.toLowerCase();
  if (findGlobalOptionSet(env, { name }))
    throw new DataverseError(400, "0x80047013", `An option set with the name ${name} already exists.`);
  const options = optionsOf(p.Options, "Options");
  const set: GlobalOptionSet = {
    metadataId: randomUUID(),
    name,
    displayName: text(p.DisplayName) ?? name,
    options,
  };
  setsOf(env).set(name, set);
  return set;
}

/** Options of a payload: each with an explicit integer `Value`, none twice. */
function optionsOf(raw: unknown, where: string): OptionDef[] {
  if (!Array.isArray(raw) || raw.length === 0)
    throw dvErrors.badRequest(`${where} needs at least one option.`);
  const options = raw.map((o: Json) => {
    if (typeof o.Value !== "number" || !Number.isInteger(o.Value))
      throw dvErrors.badRequest(`Every option of ${where} needs an integer Value.`);
    return { value: o.Value, label: text(o.Label) ?? String(o.Value) };
  });
  if (new Set(options.map((o) => o.value)).size !== options.length)
    throw dvErrors.badRequest(`${where} contains the same Value twice.`);
  return options;
}

/**
 * The options a choice column takes from `GlobalOptionSet@odata.bind` (`/GlobalOptionSetDefinitions(<id>)`);
 * undefined when the payload binds none.
 */
export function boundGlobalOptions(env: Env, payload: Json): GlobalOptionSet | undefined {
  const bind = payload["GlobalOptionSet@odata.bind"];
  if (bind === undefined) return undefined;
  const id =
    typeof bind === "string"
      ? /GlobalOptionSetDefinitions\(([0-9a-fA-F-]{36})\)$/.exec(bind)?.[1]
      : undefined;
  const set = id ? findGlobalOptionSet(env, { id }) : undefined;
  if (!set)
    throw dvErrors.badRequest(
      `GlobalOptionSet@odata.bind '${String(bind)}' names no global option set: create it first (POST GlobalOptionSetDefinitions) and bind '/GlobalOptionSetDefinitions(<MetadataId>)'.`,
    );
  return set;
}

/** The global option sets of a schema, for a snapshot. */
export function exportGlobalOptionSets(schema: Schema): GlobalOptionSet[] {
  return [...(globalSets.get(schema)?.values() ?? [])];
}

/** Restores the global option sets of a snapshot into a schema. */
export function importGlobalOptionSets(schema: Schema, sets: readonly GlobalOptionSet[] | undefined): void {
  const m = new Map<string, GlobalOptionSet>();
  for (const s of sets ?? []) m.set(s.name, { ...s, options: s.options.map((o) => ({ ...o })) });
  globalSets.set(schema, m);
}
