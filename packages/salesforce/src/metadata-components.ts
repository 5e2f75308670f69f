import { RemoteApiError, type VerifyReport } from "@cosell/core";
import type { SalesforceClient } from "./client.js";
import type { Row } from "./mapping.js";

/** The errors of a failed Metadata API save, in one line. */
export function metadataErrorText(errors: unknown): string {
  const list = (Array.isArray(errors) ? errors : [errors]) as { statusCode?: string; message?: string }[];
  return list.map((e) => `${e?.statusCode ?? "ERROR"}: ${e?.message ?? ""}`).join("; ");
}

/** Whether `readMetadata` found the component (a missing one comes back empty or without a name). */
export const metadataExists = (md: Row | undefined): boolean =>
  typeof md?.fullName === "string" && md.fullName !== "";

/** The component read for a name: matched by fullName, as a missing one may come back empty or not at all. */
export const metadataByName = (read: Row[], fullName: string): Row | undefined =>
  read.find((r) => metadataExists(r) && String(r.fullName).toLowerCase() === fullName.toLowerCase());

/** A set of components of one Metadata API type that setup owns whole (list views, quick actions). */
export interface OwnedComponents<S extends { fullName: string; label: string }> {
  /** The Metadata API type, e.g. `ListView`. */
  type: string;
  /** What a report line calls one, e.g. "List view". */
  noun: string;
  specs: S[];
  /** How the component read differs from cosell's, in an admin's words (empty: the same). */
  differences(read: Row, spec: S): string[];
  /** The component as sent on create and update. */
  metadataOf(spec: S): Row;
}

/**
 * Creates the components that are missing and puts cosell's version back on those that were changed;
 * leaves equal ones alone. Returns the report lines.
 */
export async function ensureOwnedComponents<S extends { fullName: string; label: string }>(
  client: SalesforceClient,
  c: OwnedComponents<S>,
): Promise<{ created: string[]; unchanged: string[] }> {
  const read = await client.readMetadata(
    c.type,
    c.specs.map((s) => s.fullName),
  );
  const unchanged: string[] = [];
  const toCreate: S[] = [];
  const toUpdate: { spec: S; diff: string[] }[] = [];
  for (const s of c.specs) {
    const md = metadataByName(read, s.fullName);
    if (!md) toCreate.push(s);
    else {
      const diff = c.differences(md, s);
      if (diff.length) toUpdate.push({ spec: s, diff });
      else unchanged.push(`${c.noun} ${s.fullName}`);
    }
  }
  const save = async (op: "create" | "update", part: S[]) => {
    if (!part.length) return;
    const res = await client.saveMetadata(op, c.type, part.map(c.metadataOf));
    res.forEach((r, k) => {
      if (!r.success)
        throw new RemoteApiError(
          "SALESFORCE_SETUP_FAILED",
          `${op === "create" ? "Creating" : "Updating"} the ${c.noun.toLowerCase()} ${part[k]!.fullName} failed: ${metadataErrorText(r.errors)}. The integration user needs "Modify Metadata Through Metadata API Functions" (or "Modify All Data"), and the fields it names must exist.`,
        );
    });
  };
  await save("create", toCreate);
  await save(
    "update",
    toUpdate.map((u) => u.spec),
  );
  const created = [
    ...toCreate.map((s) => `${c.noun} ${s.fullName} "${s.label}"`),
    ...toUpdate.map((u) => `${c.noun} ${u.spec.fullName}: restored (it had ${u.diff.join(", ")})`),
  ];
  return { created, unchanged };
}

/**
 * Doctor's check of owned components: each exists and is cosell's. Changes nothing. `lacking` says
 * what sellers miss when some are not there; `fix` how to put them back.
 */
export async function verifyOwnedComponents<S extends { fullName: string; label: string }>(
  client: SalesforceClient,
  c: OwnedComponents<S> & { checkName: string; plural: string; lacking: string; fix: string },
): Promise<VerifyReport["checks"][number]> {
  const name = c.checkName;
  try {
    const read = await client.readMetadata(
      c.type,
      c.specs.map((s) => s.fullName),
    );
    const problems: string[] = [];
    for (const s of c.specs) {
      const md = metadataByName(read, s.fullName);
      if (!md) problems.push(`${s.fullName} ("${s.label}") is missing`);
      else {
        const diff = c.differences(md, s);
        if (diff.length) problems.push(`${s.fullName} differs (${diff.join(", ")})`);
      }
    }
    return problems.length
      ? { name, ok: false, detail: `${problems.join("; ")}: ${c.lacking}`, fix: c.fix }
      : { name, ok: true, detail: `All ${c.specs.length} ${c.plural} exist on Opportunity.` };
  } catch (e) {
    return {
      name,
      ok: false,
      detail: `Could not read the ${c.plural}: ${(e as Error).message}`,
      fix: 'Give the integration user "Modify Metadata Through Metadata API Functions" (or "Modify All Data").',
    };
  }
}
