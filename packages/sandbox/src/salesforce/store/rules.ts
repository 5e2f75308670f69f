import { RecordError } from "../errors.js";
import { forecastCategoryApiValue } from "../schema/stages.js";
import type { Value } from "../schema/types.js";
import type { Org } from "./org.js";
import type { Row } from "./record-store.js";

export type MutableRow = Record<string, Value>;

/** Object-specific behaviour the generic DML engine calls around each write. */
export interface ObjectRules {
  /** Fills read-only fields derived from others (IsClosed from the stage, Name from first/last…). */
  derive?(row: MutableRow, prev: Row | undefined, changed: ReadonlySet<string>, org: Org): void;
  /** Cross-record checks; throws {@link RecordError}. */
  validate?(row: Row, prev: Row | undefined, org: Org): void;
  /** Side effects after the row is stored (other rows to adjust, caches to drop). */
  afterWrite?(row: Row, prev: Row | undefined, org: Org): void;
  afterDelete?(row: Row, org: Org): void;
}

const fullName = (row: MutableRow) =>
  [row.FirstName, row.LastName].filter((v) => typeof v === "string" && v !== "").join(" ");

function deriveOpportunity(row: MutableRow, prev: Row | undefined, changed: ReadonlySet<string>, org: Org) {
  const stage = typeof row.StageName === "string" ? org.schema.stage(row.StageName) : undefined;
  if (stage) {
    row.IsClosed = stage.isClosed;
    row.IsWon = stage.isWon;
    const stageChanged = !prev || prev.StageName !== row.StageName;
    // A stage change resets probability and forecast category unless the same write sets them.
    if (stageChanged && !changed.has("Probability")) row.Probability = stage.defaultProbability;
    if (stageChanged && !changed.has("ForecastCategoryName"))
      row.ForecastCategoryName = stage.forecastCategoryName;
    if (stage.isClosed) row.ForecastCategoryName = stage.isWon ? "Closed" : "Omitted";
    row.ForecastCategoryName ??= stage.forecastCategoryName;
  }
  row.ForecastCategory = forecastCategoryApiValue(String(row.ForecastCategoryName ?? "Pipeline"));
  const amount = row.Amount;
  const probability = row.Probability;
  row.ExpectedRevenue =
    typeof amount === "number" && typeof probability === "number"
      ? Math.round(amount * probability) / 100
      : null;
  if (typeof row.CloseDate === "string") {
    const year = Number(row.CloseDate.slice(0, 4));
    const quarter = Math.floor((Number(row.CloseDate.slice(5, 7)) - 1) / 3) + 1;
    row.FiscalYear = year;
    row.FiscalQuarter = quarter;
    row.Fiscal = `${year} ${quarter}`;
  }
}

function userNamed(org: Org, userId: Value): Row | undefined {
  return typeof userId === "string" ? org.store.get("User", userId) : undefined;
}

function rejectDuplicate(org: Org, type: string, row: Row, a: string, b: string, message: string): void {
  for (const id of org.store.lookup(type, a, row[a] ?? null) ?? []) {
    if (id === row.Id) continue;
    const other = org.store.get(type, id);
    if (other && other[b] === row[b]) throw new RecordError("DUPLICATE_VALUE", message, []);
  }
}

/** Rules per object (canonical name). */
export const OBJECT_RULES: Record<string, ObjectRules> = {
  Opportunity: { derive: deriveOpportunity },
  Contact: {
    derive: (row) => {
      row.Name = fullName(row);
    },
  },
  User: {
    derive: (row) => {
      row.Name = fullName(row);
    },
    validate: (row, _prev, org) => {
      for (const id of org.store.lookup("User", "Username", row.Username ?? null) ?? [])
        if (id !== row.Id)
          throw new RecordError(
            "DUPLICATE_USERNAME",
            "Duplicate Username.The username already exists in this or another Salesforce organization. Usernames must be unique across all Salesforce organizations.",
            ["Username"],
          );
    },
  },
  OpportunityTeamMember: {
    derive: (row, _prev, _changed, org) => {
      const user = userNamed(org, row.UserId ?? null);
      row.Name = (user?.Name as string | undefined) ?? null;
      row.Title = (user?.Title as string | undefined) ?? null;
    },
    validate: (row, _prev, org) =>
      rejectDuplicate(
        org,
        "OpportunityTeamMember",
        row,
        "OpportunityId",
        "UserId",
        "duplicate value found: this user is already a member of the opportunity team",
      ),
  },
  OpportunityContactRole: {
    // Only one contact role per opportunity can be primary.
    afterWrite: (row, _prev, org) => {
      if (row.IsPrimary !== true) return;
      for (const id of org.store.lookup(
        "OpportunityContactRole",
        "OpportunityId",
        row.OpportunityId ?? null,
      ) ?? []) {
        const other = org.store.get("OpportunityContactRole", id);
        if (other && id !== row.Id && other.IsPrimary === true)
          org.store.put("OpportunityContactRole", { ...other, IsPrimary: false, SystemModstamp: org.now() });
      }
    },
  },
  PermissionSet: {
    validate: (row) => {
      const name = String(row.Name ?? "");
      if (!/^[A-Za-z](?:[A-Za-z0-9]|_(?!_))*$/.test(name) || name.endsWith("_"))
        throw new RecordError(
          "FIELD_INTEGRITY_EXCEPTION",
          "The API Name can only contain underscores and alphanumeric characters. It must be unique, begin with a letter, not include spaces, not end with an underscore, and not contain two consecutive underscores.",
          ["Name"],
        );
    },
    afterWrite: (_row, _prev, org) => org.security.invalidate(),
    afterDelete: (row, org) => {
      org.permissionSetDetails.delete(row.Id as string);
      org.security.invalidate();
    },
  },
  PermissionSetAssignment: {
    validate: (row, _prev, org) =>
      rejectDuplicate(
        org,
        "PermissionSetAssignment",
        row,
        "AssigneeId",
        "PermissionSetId",
        "Duplicate PermissionSetAssignment",
      ),
    afterWrite: (_row, _prev, org) => org.security.invalidate(),
    afterDelete: (_row, org) => org.security.invalidate(),
  },
};
