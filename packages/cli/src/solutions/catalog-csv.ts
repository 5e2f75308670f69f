import { type CatalogSolution, CatalogSolutionSchema, type SolutionKind } from "@cosell/core";
import { parse } from "csv-parse/sync";

/** A row of the file that cannot become a catalog entry: its line and what to change. */
export interface CatalogCsvProblem {
  line: number;
  message: string;
}

/** What a catalog file holds: the entries to import and the rows left out (with why). */
export interface CatalogCsv {
  entries: CatalogSolution[];
  problems: CatalogCsvProblem[];
}

/** Column names accepted for each field (Partner Center's export says "Solution ID"; ours say `id`). */
const HEADERS: Readonly<Record<"id" | "name" | "kind" | "active", readonly string[]>> = {
  id: ["id", "solution id", "solutionid", "partner center solution id"],
  name: ["name", "solution name", "solutionname"],
  kind: ["kind", "type", "solution type"],
  active: ["active", "is active"],
};

/** Spellings of each kind a person is likely to type; the canonical values are accepted as they are. */
const KINDS: Readonly<Record<string, SolutionKind>> = {
  own: "own",
  "own solution": "own",
  partner: "own",
  microsoft: "microsoft",
  "microsoft solution": "microsoft",
  thirdparty: "thirdParty",
  "third-party": "thirdParty",
  "third party": "thirdParty",
  "other partner": "thirdParty",
};

const TRUE = new Set(["", "true", "yes", "y", "1", "active"]);
const FALSE = new Set(["false", "no", "n", "0", "inactive"]);

/**
 * Reads a catalog CSV (a header row naming `id`, `name` and optionally `kind` and `active`). A
 * missing `kind` is `own`: the file is meant for the partner's own published solutions. Bad rows
 * are reported with their line and left out; the good ones still import. A file without the two
 * required columns is one problem on line 1.
 */
export function parseCatalogCsv(text: string): CatalogCsv {
  let rows: string[][];
  try {
    rows = parse(text, { bom: true, skip_empty_lines: true, relax_column_count: true, trim: true });
  } catch (e) {
    const line = (e as { lines?: number }).lines ?? 1;
    return { entries: [], problems: [{ line, message: `not readable as CSV: ${(e as Error).message}` }] };
  }
  const header = (rows[0] ?? []).map((h) => h.toLowerCase());
  const col = (field: keyof typeof HEADERS) => header.findIndex((h) => HEADERS[field].includes(h));
  const at = { id: col("id"), name: col("name"), kind: col("kind"), active: col("active") };
  if (at.id < 0 || at.name < 0)
    return {
      entries: [],
      problems: [
        {
          line: 1,
          message: `the first row must name the columns, at least "id" and "name" (optional: "kind", "active"); found ${header.length ? header.map((h) => `"${h}"`).join(", ") : "nothing"}`,
        },
      ],
    };
  const entries: CatalogSolution[] = [];
  const problems: CatalogCsvProblem[] = [];
  const seen = new Map<string, number>();
  rows.slice(1).forEach((row, i) => {
    const line = i + 2;
    const cell = (k: number) => (k >= 0 ? (row[k] ?? "") : "");
    const kindText = cell(at.kind).toLowerCase();
    const kind = kindText === "" ? "own" : (KINDS[kindText] ?? KINDS[kindText.replace(/\s+/g, "")]);
    if (!kind) {
      problems.push({
        line,
        message: `kind "${cell(at.kind)}" is not one of own, microsoft, thirdParty`,
      });
      return;
    }
    const activeText = cell(at.active).toLowerCase();
    if (!TRUE.has(activeText) && !FALSE.has(activeText)) {
      problems.push({ line, message: `active "${cell(at.active)}" is not yes or no` });
      return;
    }
    const parsed = CatalogSolutionSchema.safeParse({
      id: cell(at.id),
      name: cell(at.name),
      kind,
      active: !FALSE.has(activeText),
    });
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      problems.push({ line, message: `${issue?.path.join(".") || "row"}: ${issue?.message ?? "invalid"}` });
      return;
    }
    const earlier = seen.get(parsed.data.id);
    if (earlier !== undefined) {
      problems.push({ line, message: `solution id ${parsed.data.id} is already on line ${earlier}` });
      return;
    }
    seen.set(parsed.data.id, line);
    entries.push(parsed.data);
  });
  return { entries, problems };
}
