import type { CrmAdapter } from "@cosell/core";
import * as dynamics from "@cosell/dynamics";
import * as salesforce from "@cosell/salesforce";
import { z } from "zod";

/** The CRMs cosell can sync with. */
export const CRM_KINDS = ["salesforce", "dynamics"] as const;
export type CrmKind = (typeof CRM_KINDS)[number];

/** An adapter as the CLI uses it: the core contract plus an optional `close()`. */
export type CliAdapter = CrmAdapter & { close?(): unknown };

/**
 * What the CLI needs from an adapter package. Read off the package's exports at runtime, so the CLI
 * keeps working (and says which CRM is missing) while an adapter package is still being built.
 */
export interface CrmModule {
  kind: CrmKind;
  /** Human name: "Salesforce", "Dynamics 365". */
  title: string;
  /** The `crm` section's zod schema (`kind` literal included); a permissive stand-in when missing. */
  schema: z.ZodType;
  /** Whether the adapter package exports what the CLI needs. */
  available: boolean;
  /** Builds the adapter from the validated `crm` section. */
  createAdapter?(config: unknown, deps?: Record<string, unknown>): CliAdapter;
  /** The `crm` section that points at a running sandbox, from the sandbox's credentials. */
  sandboxConfig?(credentials: unknown, options?: Record<string, unknown>): unknown;
}

type Exports = Record<string, unknown>;

function moduleFrom(
  kind: CrmKind,
  title: string,
  exports: Exports,
  names: { schema: string; create: string; sandbox: string },
): CrmModule {
  const schema = exports[names.schema];
  const create = exports[names.create];
  const sandbox = exports[names.sandbox];
  // Duck-typed, not `instanceof`: the adapter package may resolve its own copy of zod.
  const isSchema = typeof (schema as { safeParse?: unknown } | undefined)?.safeParse === "function";
  return {
    kind,
    title,
    schema: isSchema ? (schema as z.ZodType) : z.looseObject({ kind: z.literal(kind) }),
    available: isSchema && typeof create === "function",
    createAdapter: typeof create === "function" ? (create as CrmModule["createAdapter"]) : undefined,
    sandboxConfig: typeof sandbox === "function" ? (sandbox as CrmModule["sandboxConfig"]) : undefined,
  };
}

/** Every CRM module, by kind. */
export const CRM_MODULES: Record<CrmKind, CrmModule> = {
  salesforce: moduleFrom("salesforce", "Salesforce", salesforce as Exports, {
    schema: "SalesforceConfigSchema",
    create: "createSalesforceAdapter",
    sandbox: "salesforceSandboxConfig",
  }),
  dynamics: moduleFrom("dynamics", "Dynamics 365", dynamics as Exports, {
    schema: "DynamicsConfigSchema",
    create: "createDynamicsAdapter",
    sandbox: "dynamicsSandboxConfig",
  }),
};

/**
 * Replaces a CRM module (tests plug in an in-memory adapter); returns a function that restores the
 * original.
 */
export function replaceCrmModule(kind: CrmKind, replacement: Partial<CrmModule>): () => void {
  const original = CRM_MODULES[kind];
  CRM_MODULES[kind] = { ...original, ...replacement, kind };
  return () => {
    CRM_MODULES[kind] = original;
  };
}
