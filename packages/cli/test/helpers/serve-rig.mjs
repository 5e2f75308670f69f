// @ts-check
/**
 * The rig for running `cosell serve` against the sandbox, shared by the serve tests (this package's
 * and the cross-package ones in test/) and by bench/feed-latency.mjs: a free loopback port, a config
 * whose secrets are `env:` references, the Partner Center section for a sandbox, and starting serve
 * until `/readyz` answers 200 and stopping it again.
 *
 * Plain JavaScript with nothing but `node:` imports, because the bench runs under plain Node against
 * the built packages (no TypeScript loader) while the tests run under vitest against the sources: the
 * callers pass in their own `runCli` and `SECRET_KEYS`.
 */
import { createServer } from "node:net";

/** A TCP port on 127.0.0.1 that was free a moment ago (the OS picked it). */
export async function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = /** @type {import("node:net").AddressInfo} */ (s.address());
      s.close(() => resolve(port));
    });
  });
}

/**
 * `section` with every secret value (a string under a key in `secretKeys`) replaced by an `env:`
 * reference, as the config file requires; the values go into `env` under names made from `prefix`
 * and the keys' path. Nested objects and arrays are walked.
 *
 * @template T
 * @param {T} section
 * @param {Record<string, string>} env
 * @param {string} prefix
 * @param {readonly string[]} secretKeys
 * @returns {T}
 */
export function secretsByReference(section, env, prefix, secretKeys) {
  if (Array.isArray(section))
    return /** @type {T} */ (section.map((v, i) => secretsByReference(v, env, `${prefix}_${i}`, secretKeys)));
  if (!section || typeof section !== "object") return section;
  return /** @type {T} */ (
    Object.fromEntries(
      Object.entries(section).map(([k, v]) => {
        if (secretKeys.includes(k) && typeof v === "string") {
          // An environment variable's name: a tenant's name may hold `-` or other characters.
          const name = `${prefix}_${k}`.toUpperCase().replace(/[^A-Z0-9_]/g, "_");
          env[name] = v;
          return [k, `env:${name}`];
        }
        return [k, secretsByReference(v, env, `${prefix}_${k}`, secretKeys)];
      }),
    )
  );
}

/**
 * @typedef {object} SandboxPartnerCenter What {@link partnerCenterSection} reads of a running sandbox.
 * @property {{ partnerCenter: { tenantId: string; clientId: string; tokenCachePath: string;
 *   authorityHost: string; tokenEndpoint: string; scope: string; apiBaseUrl: string;
 *   webhookRegistrationUrl: string; webhookScope: string } }} credentials
 * @property {{ webhooks: { certificateUrlPrefix: string; trustedRootPem(): Promise<string> } }} partnerCenter
 */

/**
 * The `partnerCenter` config section for a sandbox, signed in as its sync user (the token cache the
 * sandbox wrote at start). With `webhookUrl`, also the webhook registration and a receiver that
 * trusts the sandbox's test CA, as a deployment would list Microsoft's own locations and roots.
 *
 * @param {SandboxPartnerCenter} sandbox
 * @param {{ webhookUrl?: string }} [options]
 * @returns {Promise<Record<string, unknown>>}
 */
export async function partnerCenterSection(sandbox, options = {}) {
  const pc = sandbox.credentials.partnerCenter;
  const section = {
    tenantId: pc.tenantId,
    clientId: pc.clientId,
    auth: { kind: "user", tokenCache: pc.tokenCachePath },
    authorityHost: pc.authorityHost,
    tokenEndpoint: pc.tokenEndpoint,
    scope: pc.scope,
    apiBaseUrl: pc.apiBaseUrl,
  };
  if (options.webhookUrl === undefined) return section;
  const webhooks = sandbox.partnerCenter.webhooks;
  return {
    ...section,
    webhookUrl: options.webhookUrl,
    webhookRegistrationUrl: pc.webhookRegistrationUrl,
    webhookScope: pc.webhookScope,
    webhookReceiver: {
      certificateUrlPrefixes: [webhooks.certificateUrlPrefix],
      trustedRootCertificates: await webhooks.trustedRootPem(),
    },
  };
}

/**
 * Polls `${base}/readyz` until it answers 200. Throws after `timeoutMs` (or as soon as `exited`
 * settles: serve stopped before it got ready) with `why()` in the message, e.g. serve's log tail.
 *
 * @param {string} base
 * @param {{ timeoutMs: number; intervalMs?: number; why?: () => string; exited?: Promise<unknown> }} options
 * @returns {Promise<void>}
 */
export async function waitUntilReady(base, options) {
  const { timeoutMs, intervalMs = 50, why = () => "" } = options;
  let gone = false;
  options.exited?.then(
    () => {
      gone = true;
    },
    () => {
      gone = true;
    },
  );
  const end = performance.now() + timeoutMs;
  let last = "no answer";
  for (;;) {
    const r = await fetch(`${base}/readyz`).catch(() => undefined);
    if (r?.status === 200) return;
    last = r ? `status ${r.status}: ${await r.text().catch(() => "")}` : "no answer";
    if (gone) throw new Error(`cosell serve stopped before it was ready (${last})\n${why()}`);
    if (performance.now() >= end)
      throw new Error(`cosell serve was not ready after ${timeoutMs} ms (${last})\n${why()}`);
    await new Promise((res) => setTimeout(res, intervalMs));
  }
}

/**
 * @typedef {object} ServeIo The part of a CliIo the rig needs (the tests' `captureIo`, the bench's own).
 * @property {() => string} err
 * @property {(signal: "SIGTERM") => void} signal
 */

/**
 * @typedef {object} Serving A running `cosell serve`.
 * @property {Promise<number>} exited Its exit code, once it stops.
 * @property {() => Promise<number>} stop Sends SIGTERM (as a terminal's Ctrl-C or a container stop)
 *   and waits for the exit code.
 */

/**
 * Runs `cosell serve` in this process (`argv` as given to `runCli`, with `io`) and waits until
 * `${base}/readyz` answers 200; on failure serve's stderr tail is in the error.
 *
 * @template {ServeIo} Io
 * @param {{ runCli: (argv: string[], io: Io) => Promise<number>; io: Io; argv: string[]; base: string;
 *   timeoutMs: number; intervalMs?: number }} options
 * @returns {Promise<Serving>}
 */
export async function startServe(options) {
  const { io, base } = options;
  const exited = options.runCli(options.argv, io);
  const stop = async () => {
    io.signal("SIGTERM");
    return exited;
  };
  try {
    await waitUntilReady(base, {
      timeoutMs: options.timeoutMs,
      ...(options.intervalMs === undefined ? {} : { intervalMs: options.intervalMs }),
      exited,
      why: () => io.err().slice(-2000),
    });
  } catch (err) {
    // Not ready: stop it, so a failing set-up leaves no server behind.
    await stop().catch(() => undefined);
    throw err;
  }
  return { exited, stop };
}
