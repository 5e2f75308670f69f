import { chmodSync, copyFileSync, mkdtempSync, writeFileSync } from "node:fs";
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
  // The sandbox signed its sync user in at start (the device-code login `cosell login` runs); the
  // workspace starts from a copy of that token cache, as after a `cosell login` in this folder.
  copyFileSync(c.tokenCachePath, join(dir, "token-cache.json"));
  chmodSync(join(dir, "token-cache.json"), 0o600);
  const write = (patch?: (c: Record<string, unknown>) => void) => {
    const config: Record<string, unknown> = {
      partnerCenter: {
        tenantId: c.tenantId,
        clientId: c.clientId,
        auth: { kind: "user", tokenCache: "token-cache.json" },
        authorityHost: c.authorityHost,
        tokenEndpoint: c.tokenEndpoint,
        scope: c.scope,
        apiBaseUrl: c.apiBaseUrl,
        webhookRegistrationUrl: c.webhookRegistrationUrl,
        webhookScope: c.webhookScope,
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
