import { createTokenProvider } from "@cosell/core";
import { type Sandbox, startSandbox } from "@cosell/sandbox";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseDynamicsConfig } from "../src/config.js";
import { EntraDirectory } from "../src/graph.js";
import type { CallCounter } from "../src/http.js";
import { sandboxConfig } from "./helpers.js";

/**
 * Microsoft Graph answers are read with the same size cap as Dataverse's (`maxResponseBytes`,
 * `REMOTE_RESPONSE_TOO_LARGE`). The sandbox's Graph is a real HTTP server; one directory user with
 * an oversized display name makes its answer larger than the cap, the other users' stay under it.
 */
let sb: Sandbox<"partnerCenter" | "dataverse" | "graph">;
beforeAll(async () => {
  sb = await startSandbox({ systems: ["partnerCenter", "dataverse", "graph"], freezeClock: true });
});
afterAll(() => sb?.stop());

function directory(maxResponseBytes: number): EntraDirectory {
  const cfg = parseDynamicsConfig(sandboxConfig(sb));
  const tokens = createTokenProvider({
    tenantId: cfg.tenantId,
    clientId: cfg.clientId,
    ...(cfg.clientSecret ? { clientSecret: cfg.clientSecret } : {}),
    authorityHost: cfg.authorityHost,
    ...(cfg.tokenEndpoint ? { tokenEndpoint: cfg.tokenEndpoint } : {}),
    scope: cfg.graphScope,
  });
  const counter: CallCounter = { total: 0, reads: 0, writes: 0 };
  return new EntraDirectory(cfg.graphBaseUrl, tokens, counter, () => Date.now(), 0, 10_000, maxResponseBytes);
}

describe("Graph answers have a size cap", () => {
  it("an answer over maxResponseBytes is refused with REMOTE_RESPONSE_TOO_LARGE; one under it is read", async () => {
    const normal = sb.graph.add({ displayName: "Nora Normal", userPrincipalName: "nora@sandbox.example" });
    const huge = sb.graph.add({
      displayName: `Huge ${"x".repeat(100_000)}`,
      userPrincipalName: "huge@sandbox.example",
    });
    const dir = directory(16_384);
    const found = await dir.people([normal.id]);
    expect(found.get(normal.id)?.email).toBe("nora@sandbox.example");
    const err = await dir.people([huge.id]).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "REMOTE_RESPONSE_TOO_LARGE" });
    expect((err as Error).message).toContain("maxResponseBytes");
    expect((err as Error).message).toContain("Microsoft Graph");
    // With a cap above the answer's size the same user is read.
    expect((await directory(1_000_000).people([huge.id])).get(huge.id)?.email).toBe("huge@sandbox.example");
  });
});
