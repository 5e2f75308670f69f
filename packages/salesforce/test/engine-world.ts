import { MemoryStateStore, runCycle } from "@cosell/core";
import { type Sandbox, startSandbox } from "@cosell/sandbox";
import { partnerCenterSide } from "@cosell/sandbox/conformance";
import jsforce, { type Connection } from "jsforce";
import type { SalesforceAdapter } from "../src/index.js";
import { sandboxAdapter } from "./harness.js";

/** The summary of one sync cycle. */
export type CycleSummary = Awaited<ReturnType<typeof runCycle>>["summary"];

/** A sandbox org set up by cosell, Partner Center beside it, and the engine between them. */
export interface EngineWorld {
  sb: Sandbox<"partnerCenter" | "salesforce">;
  side: ReturnType<typeof partnerCenterSide>;
  adapter: SalesforceAdapter;
  /** One sync cycle on the sandbox clock; the clock then moves on a second. */
  cycle(): Promise<CycleSummary>;
}

/**
 * Starts the sandbox (Partner Center and Salesforce), runs the adapter's setup and returns a cycle on
 * one in-memory state store: what every end-to-end test of a seller's story starts from. `stop` the
 * sandbox in `afterAll`.
 */
export async function startEngineWorld(): Promise<EngineWorld> {
  const sb = await startSandbox({ systems: ["partnerCenter", "salesforce"] });
  const side = partnerCenterSide(sb);
  const adapter = sandboxAdapter(sb);
  await adapter.setup();
  const store = new MemoryStateStore();
  return {
    sb,
    side,
    adapter,
    async cycle() {
      const { summary } = await runCycle({
        adapter,
        partnerCenter: side.partnerCenter,
        store,
        now: () => side.clock.now(),
      });
      side.clock.advance(1000);
      return summary;
    },
  };
}

/** A jsforce connection as a user of the org, from a refresh token their earlier login left. */
export async function connectionAs(
  sb: Sandbox<"salesforce" | "partnerCenter">,
  username: string,
): Promise<Connection> {
  const c = sb.credentials.salesforce;
  const oauth2 = new jsforce.OAuth2({
    clientId: c.clientId,
    clientSecret: c.clientSecret,
    loginUrl: c.loginUrl,
  });
  const token = await oauth2.refreshToken(sb.salesforce.issueRefreshToken(username));
  return new jsforce.Connection({
    version: c.apiVersion,
    instanceUrl: token.instance_url,
    accessToken: token.access_token,
  });
}
