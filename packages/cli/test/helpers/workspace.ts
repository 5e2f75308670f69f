import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Sandbox, startSandbox } from "@cosell/sandbox";
import { stringify } from "yaml";

/** A temp folder with a cosell.yaml pointing at a running sandbox's Partner Center. */
export interface Workspace {
  dir: string;
  file: string;
  env: NodeJS.ProcessEnv;
  sandbox: Sandbox<"partnerCenter">;
  /** Rewrites the config with `patch` applied to the default one. */
  write(patch?: (c: Record<string, unknown>) => void): void;
}

export async function workspace(): Promise<Workspace> {
  const sandbox = await startSandbox({ systems: ["partnerCenter"] });
  const dir = mkdtempSync(join(tmpdir(), "cosell-cli-"));
  const file = join(dir, "cosell.yaml");
  const c = sandbox.credentials.partnerCenter;
  const env = { PC_SECRET: c.clientSecret };
  const write = (patch?: (c: Record<string, unknown>) => void) => {
    const config: Record<string, unknown> = {
      partnerCenter: {
        tenantId: c.tenantId,
        clientId: c.clientId,
        clientSecret: "env:PC_SECRET",
        authorityHost: c.authorityHost,
        tokenEndpoint: c.tokenEndpoint,
        scope: c.scope,
        apiBaseUrl: c.apiBaseUrl,
        retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 5 },
      },
      crm: { kind: "dynamics", environmentUrl: "https://contoso.crm.dynamics.com" },
      state: { path: "state.sqlite" },
    };
    patch?.(config);
    writeFileSync(file, stringify(config));
  };
  write();
  return { dir, file, env, sandbox, write };
}
