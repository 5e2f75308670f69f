import { describe, expect, it } from "vitest";
import type { CatalogSolution, SolutionCatalog } from "../domain/solution-catalog.js";

/** A fresh, empty catalog per test (a new sandbox org or environment), and how to end it. */
export interface CatalogFixture {
  catalog: SolutionCatalog;
  close?: () => Promise<void> | void;
}

/**
 * The executable specification of `SolutionCatalog`: every adapter that keeps a catalog calls it
 * against its sandbox. Ids are prefixed so a shared sandbox's earlier rows cannot satisfy a test.
 */
export function runSolutionCatalogConformance(name: string, open: () => Promise<CatalogFixture>): void {
  describe(`${name}: solution catalog`, () => {
    const run = async (body: (c: SolutionCatalog, prefix: string) => Promise<void>) => {
      const fx = await open();
      try {
        await body(fx.catalog, `cc${Math.random().toString(36).slice(2, 8)}`);
      } finally {
        await fx.close?.();
      }
    };
    const entries = (p: string): CatalogSolution[] => [
      { id: `${p}-own`, name: "Contoso Insights", kind: "own", active: true },
      { id: `${p}-ms`, name: "Azure OpenAI", kind: "microsoft", active: true },
    ];

    it("creates entries once; the same upsert again writes nothing", async () => {
      await run(async (c, p) => {
        const first = await c.upsert(entries(p));
        expect(first.created.sort()).toEqual([`${p}-ms`, `${p}-own`]);
        expect(first.failed).toEqual([]);
        const again = await c.upsert(entries(p));
        expect(again.created).toEqual([]);
        expect(again.updated).toEqual([]);
        expect(again.unchanged.sort()).toEqual([`${p}-ms`, `${p}-own`]);
        const listed = (await c.list()).filter((e) => e.id.startsWith(p));
        expect(listed).toHaveLength(2);
        expect(listed.find((e) => e.id === `${p}-ms`)).toEqual(entries(p)[1]);
      });
    });

    it("updates an entry by its Partner Center id (name, kind, active) without a second row", async () => {
      await run(async (c, p) => {
        await c.upsert(entries(p));
        const renamed: CatalogSolution = {
          id: `${p}-own`,
          name: "Contoso Insights 2",
          kind: "own",
          active: false,
        };
        const res = await c.upsert([renamed]);
        expect(res.updated).toEqual([`${p}-own`]);
        const listed = (await c.list()).filter((e) => e.id.startsWith(p));
        expect(listed).toHaveLength(2);
        expect(listed.find((e) => e.id === `${p}-own`)).toEqual(renamed);
      });
    });

    it("lists entries ordered by name", async () => {
      await run(async (c, p) => {
        await c.upsert(entries(p));
        const names = (await c.list()).filter((e) => e.id.startsWith(p)).map((e) => e.name);
        expect(names).toEqual(["Azure OpenAI", "Contoso Insights"]);
      });
    });
  });
}
