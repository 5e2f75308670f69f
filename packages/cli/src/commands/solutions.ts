import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import {
  type CatalogSolution,
  type CatalogUpsertResult,
  CoSellError,
  type SolutionCatalog,
} from "@cosell/core";
import type { Command } from "commander";
import { action, type ExitBox } from "../command-action.js";
import { type CommandContext, EXIT } from "../context.js";
import { createAdapter } from "../runtime.js";
import { parseCatalogCsv } from "../solutions/catalog-csv.js";

/** The adapter keeps no solution catalog (a build or CRM without one). */
export class CatalogUnsupportedError extends CoSellError {
  constructor(crm: string) {
    super(
      "CATALOG_UNSUPPORTED",
      `The ${crm} adapter keeps no solution catalog in this build: update cosell, then run \`cosell setup\`.`,
      { crm },
    );
  }
}

/** `cosell solutions import|list`: the CRM's co-sell solution catalog that sellers pick from. */
export function registerSolutions(program: Command, ctx: CommandContext, box: ExitBox): void {
  const solutions = program
    .command("solutions")
    .description("the co-sell solution catalog sellers pick from in the CRM");

  solutions
    .command("import <file>")
    .description(
      "create or update catalog entries from a CSV file with columns id, name and optionally kind (own, microsoft, thirdParty) and active",
    )
    .option("--dry-run", "check the file and say what it holds, writing nothing")
    .action(
      action(ctx, box, async (file: string, opts: { dryRun?: boolean }) => {
        const path = resolve(ctx.io.cwd, file);
        const { entries, problems } = parseCatalogCsv(readText(path));
        const problemLines = problems.map((p) => `  line ${p.line}: ${p.message}`);
        if (opts.dryRun || entries.length === 0) {
          ctx.output({ ok: problems.length === 0, file: path, entries, problems }, () =>
            [
              `${path}: ${entries.length} solution(s) to import${opts.dryRun ? " (dry run: nothing written)" : ""}.`,
              ...(problems.length ? [`Left out (${problems.length}):`, ...problemLines] : []),
            ].join("\n"),
          );
          return problems.length ? EXIT.error : EXIT.ok;
        }
        const result = await withCatalog(ctx, (catalog) => catalog.upsert(entries));
        const ok = problems.length === 0 && result.failed.length === 0;
        ctx.output({ ok, file: path, ...result, problems }, () =>
          [
            summary(result),
            ...(result.failed.length
              ? [
                  `Refused by the CRM (${result.failed.length}):`,
                  ...result.failed.map((f) => `  ${f.id}: ${f.reason}`),
                ]
              : []),
            ...(problems.length ? [`Left out of the file (${problems.length}):`, ...problemLines] : []),
          ].join("\n"),
        );
        return ok ? EXIT.ok : EXIT.error;
      }),
    );

  solutions
    .command("list")
    .description("every catalog entry, active or not")
    .action(
      action(ctx, box, async () => {
        const entries = await withCatalog(ctx, (catalog) => catalog.list());
        ctx.output({ ok: true, entries }, () =>
          entries.length === 0
            ? "The catalog is empty: import one with `cosell solutions import <file.csv>`."
            : entries.map(line).join("\n"),
        );
        return EXIT.ok;
      }),
    );
}

/** Runs `fn` with the configured CRM's catalog and closes the adapter after. */
async function withCatalog<T>(ctx: CommandContext, fn: (c: SolutionCatalog) => Promise<T>): Promise<T> {
  const loaded = ctx.config();
  const adapter = createAdapter(loaded, ctx.logger());
  try {
    if (!adapter.solutionCatalog) throw new CatalogUnsupportedError(loaded.config.crm.kind);
    return await fn(adapter.solutionCatalog);
  } finally {
    await adapter.close?.();
  }
}

/** One line per upsert outcome that happened. */
export function summary(r: CatalogUpsertResult): string {
  return `Catalog: ${r.created.length} created, ${r.updated.length} updated, ${r.unchanged.length} unchanged${r.failed.length ? `, ${r.failed.length} refused` : ""}.`;
}

function line(e: CatalogSolution): string {
  return `${e.active ? " " : "-"} ${e.id}  ${e.name}  (${e.kind})`;
}

function readText(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (e) {
    throw new CoSellError(
      "FILE_UNREADABLE",
      `Cannot read ${path}: ${(e as Error).message}. Give the path of a CSV file.`,
      {
        path,
      },
    );
  }
}
