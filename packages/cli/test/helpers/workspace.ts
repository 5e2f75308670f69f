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

/**
 * Signs the folder `dir` in as the sandbox's sync user and returns the `partnerCenter` config section
 * that uses it. The sandbox signed that user in at start (the device-code login `cosell login` runs);
 * the folder gets an owner-only copy of that token cache, as after a `cosell login` there.
 */
export function signedInPartnerCenter(
  dir: string,
  c: Sandbox<"partnerCenter">["credentials"]["partnerCenter"],
): Record<string, unknown> {
  copyFileSync(c.tokenCachePath, join(dir, "token-cache.json"));
  chmodSync(join(dir, "token-cache.json"), 0o600);
  return {
    tenantId: c.tenantId,
    clientId: c.clientId,
    auth: { kind: "user", tokenCache: "token-cache.json" },
    authorityHost: c.authorityHost,
    tokenEndpoint: c.tokenEndpoint,
    scope: c.scope,
    apiBaseUrl: c.apiBaseUrl,
  };
}

/** A temp folder signed in to a new sandbox's Partner Center, with a cosell.yaml for it (see {@link Workspace}). */
export async function workspace(): Promise<Workspace> {
  const sandbox = await startSandbox({ systems: ["partnerCenter"] });
  const dir = mkdtempSync(join(tmpdir(), "cosell-cli-"));
  const file = join(dir, "cosell.yaml");
  const c = sandbox.credentials.partnerCenter;
  const env = { PC_SECRET: c.clientSecret };
  const partnerCenter = signedInPartnerCenter(dir, c);
  const write = (patch?: (c: Record<string, unknown>) => void) => {
    const config: Record<string, unknown> = {
      partnerCenter: {
        // A copy per write: a test's patch must not leak into the next write.
        ...structuredClone(partnerCenter),
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
