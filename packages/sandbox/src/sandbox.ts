import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { z } from "zod";
import { SandboxError } from "./control/errors.js";
import { ObservedClock } from "./control/observed-clock.js";
import { coreRoutes } from "./control/routes.js";
import { type RunningControlServer, startControlServer } from "./control/server.js";
import type { SystemContext, SystemDefinition, SystemInstance } from "./control/system.js";
import { dataverseSystem } from "./dataverse/system.js";
import { createEntraServer, EntraDirectory, EntraSignIns, entraControlRoutes } from "./entra/index.js";
import { graphSystem } from "./graph/system.js";
import {
  FaultInjector,
  listen,
  RequestLog,
  type RunningServer,
  type SandboxClock,
  type SharedServices,
  TokenRegistry,
} from "./kit/index.js";
import { partnerCenterSystem } from "./partner-center/system.js";
import { salesforceSystem } from "./salesforce/system.js";

/**
 * Every system `startSandbox` can start, by the key it gets in `urls`, `credentials` and on the
 * sandbox object. Adding a system: write its `SystemDefinition` (see partner-center/system.ts) and
 * add one line here.
 */
export const SYSTEMS = {
  partnerCenter: partnerCenterSystem,
  dataverse: dataverseSystem,
  graph: graphSystem,
  salesforce: salesforceSystem,
} as const;

export type SandboxSystemName = keyof typeof SYSTEMS;
type DefinitionOf<K extends SandboxSystemName> = (typeof SYSTEMS)[K];
/** The in-process control of system `K` (e.g. `PartnerCenterControl`). */
export type SystemControl<K extends SandboxSystemName> =
  DefinitionOf<K> extends SystemDefinition<infer C, infer _Cr, infer _S> ? C : never;
/** The test credentials of system `K` (e.g. `PartnerCenterCredentials`). */
export type SystemCredentials<K extends SandboxSystemName> =
  DefinitionOf<K> extends SystemDefinition<infer _C, infer Cr, infer _S> ? Cr : never;

/** Port offsets from `basePort` of the servers every sandbox runs (systems carry their own). */
const ENTRA_PORT_OFFSET = 0;
const CONTROL_PORT_OFFSET = 1;

export interface SandboxOptions<S extends SandboxSystemName = SandboxSystemName> {
  /** Which systems to start besides Entra ID and the control API. Default: all. */
  systems?: readonly S[];
  /**
   * Fixed ports: Entra ID on `basePort`, control on `basePort + 1`, Partner Center on `basePort + 2`
   * (each system's `portOffset`). Default: the OS picks free ports.
   */
  basePort?: number;
  /** Seed of the fault injector's random choices (replayable chaos). Default 1. */
  seed?: number;
  /** Sandbox time at start. Default: the snapshot's time when restoring, otherwise now. */
  clockStart?: Date;
  /** Start with the clock frozen (only `advance`/`set` move it). */
  freezeClock?: boolean;
  /**
   * JSON file that keeps the sandbox's state (credentials, referrals, webhook registration, clock):
   * loaded at start when present, saved by `stop()`, `saveSnapshot()` and `POST /snapshot`.
   * It holds the generated secrets and keys: keep it out of version control.
   */
  snapshotFile?: string;
  /** Access-token lifetime of the sandbox's Entra ID. Default 3599 s. */
  tokenTtlSeconds?: number;
  /** The `interval` (seconds) Entra ID hands out with device codes. Default 5, as Entra ID. */
  deviceCodeIntervalSeconds?: number;
  /** Approve every polled device code as this user (e.g. the Partner Center sync user). Default: nobody. */
  autoApproveSignInAs?: string;
}

/** A running sandbox. `sandbox.partnerCenter` (and each other started system) is its in-process control. */
export type Sandbox<S extends SandboxSystemName = SandboxSystemName> = SandboxBase<S> & {
  [K in S]: SystemControl<K>;
};

export interface SandboxBase<S extends SandboxSystemName> {
  /** Origins (`http://127.0.0.1:PORT`): Entra ID, the control API and every started system. */
  urls: { entra: string; control: string } & { [K in S]: string };
  /** Test credentials of every started system. */
  credentials: { [K in S]: SystemCredentials<K> };
  /** The shared sandbox clock; moving it expires what is due. */
  clock: SandboxClock;
  log: RequestLog;
  faults: FaultInjector;
  tokens: TokenRegistry;
  /** The Entra ID directory (register more apps, allow more resources). */
  entra: EntraDirectory;
  /** Entra ID's users, device codes and refresh tokens: approve a sign-in, revoke a user's sessions. */
  signIns: EntraSignIns;
  /** Every secret value issued: client secrets, private keys, access tokens (for log-redaction tests). */
  secrets(): string[];
  /** Writes the snapshot file now; returns its path. Throws `SNAPSHOT_NOT_CONFIGURED` without `snapshotFile`. */
  saveSnapshot(): Promise<string>;
  /** Finishes webhook deliveries, saves the snapshot (if configured) and closes every server. */
  stop(): Promise<void>;
}

const SnapshotFileSchema = z.object({
  format: z.literal("cosell-sandbox-snapshot"),
  version: z.literal(1),
  savedAt: z.string(),
  clock: z.object({ now: z.iso.datetime({ offset: true }) }),
  systems: z.record(z.string(), z.unknown()),
});
type SnapshotFile = z.infer<typeof SnapshotFileSchema>;

async function loadSnapshot(file: string): Promise<SnapshotFile | undefined> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new SandboxError(
      "SNAPSHOT_UNREADABLE",
      `Cannot read the snapshot file ${file}: ${(e as Error).message}`,
      {
        cause: e,
      },
    );
  }
  try {
    return SnapshotFileSchema.parse(JSON.parse(text));
  } catch (e) {
    throw new SandboxError(
      "SNAPSHOT_INVALID",
      `${file} is not a cosell sandbox snapshot (${e instanceof z.ZodError ? (e.issues[0]?.message ?? "invalid") : (e as Error).message}). Delete it to start fresh.`,
      { cause: e },
    );
  }
}

async function writeSnapshot(file: string, snapshot: SnapshotFile): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  // The snapshot holds secrets and private keys: owner-only.
  await writeFile(tmp, `${JSON.stringify(snapshot, null, 2)}\n`, { mode: 0o600 });
  await rename(tmp, file);
}

async function listenOrExplain<T>(what: string, port: number, start: () => Promise<T>): Promise<T> {
  try {
    return await start();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "EADDRINUSE")
      throw new SandboxError(
        "PORT_IN_USE",
        `Port ${port} (${what}) is already in use on 127.0.0.1. Stop whatever holds it or choose another basePort.`,
        { cause: e },
      );
    throw e;
  }
}

type AnyInstance = SystemInstance<unknown, unknown, unknown>;
type AnyDefinition = SystemDefinition<unknown, unknown, unknown>;

/**
 * Starts the sandbox: Entra ID, every selected system and the control API, each on 127.0.0.1, sharing
 * one clock, request log, fault injector and token registry. Credentials are random per start unless
 * restored from `snapshotFile`.
 *
 * ```ts
 * const sandbox = await startSandbox();
 * // signed in as the sandbox's Referral Admin user (the token cache its start-up login filled):
 * const client = createPartnerCenterClient(partnerCenterClientConfig(sandbox.credentials.partnerCenter));
 * sandbox.partnerCenter.sendInboundReferral(); // a Microsoft seller sends a referral
 * await sandbox.stop();
 * ```
 */
export async function startSandbox<S extends SandboxSystemName = SandboxSystemName>(
  options: SandboxOptions<S> = {},
): Promise<Sandbox<S>> {
  const names = [...new Set(options.systems ?? (Object.keys(SYSTEMS) as S[]))];
  for (const n of names)
    if (!(n in SYSTEMS))
      throw new SandboxError(
        "UNKNOWN_SYSTEM",
        `Unknown sandbox system "${String(n)}"; choose from ${Object.keys(SYSTEMS).join(", ")}.`,
      );
  const snapshot = options.snapshotFile ? await loadSnapshot(options.snapshotFile) : undefined;
  const port = (offset: number) => (options.basePort === undefined ? 0 : options.basePort + offset);

  const start = options.clockStart ?? (snapshot ? new Date(snapshot.clock.now) : undefined);
  const clock = new ObservedClock(start, { frozen: options.freezeClock === true });
  const log = new RequestLog();
  const faults = new FaultInjector(options.seed ?? 1);
  const tokens = new TokenRegistry(clock);
  const shared: SharedServices = { clock, log, faults };
  const directory = new EntraDirectory();
  const signIns = new EntraSignIns(clock);
  if (options.deviceCodeIntervalSeconds !== undefined)
    signIns.intervalSeconds = options.deviceCodeIntervalSeconds;

  const closers: (() => Promise<void>)[] = [];
  const closeAll = async () => {
    for (const close of closers.splice(0).reverse()) await close().catch(() => undefined);
  };

  try {
    const entraServer = createEntraServer({
      directory,
      tokens,
      clock,
      tokenTtlSeconds: options.tokenTtlSeconds,
      signIns,
    });
    const entra: RunningServer = await listenOrExplain("Entra ID", port(ENTRA_PORT_OFFSET), () =>
      listen(entraServer, shared, port(ENTRA_PORT_OFFSET)),
    );
    closers.push(entra.close);

    const ctx: SystemContext = { clock, log, faults, tokens, entra: { directory, url: entra.url, signIns } };
    const instances = new Map<S, AnyInstance>();
    const running = new Map<S, RunningServer>();
    for (const name of names) {
      const def = SYSTEMS[name] as unknown as AnyDefinition;
      const raw = snapshot?.systems[name];
      let restored: unknown;
      try {
        restored = raw === undefined ? undefined : def.parseSnapshot(raw);
      } catch (e) {
        throw new SandboxError(
          "SNAPSHOT_INVALID",
          `The snapshot's "${name}" part is malformed (${e instanceof z.ZodError ? (e.issues[0]?.path.join(".") ?? "") : (e as Error).message}). Delete ${options.snapshotFile} to start fresh.`,
          { cause: e },
        );
      }
      const instance = def.start(ctx, restored);
      const server = await listenOrExplain(name, port(def.portOffset), () =>
        listen(instance.server, shared, port(def.portOffset)),
      );
      closers.push(server.close);
      for (const extra of instance.extraServers ?? []) {
        const running = await listenOrExplain(extra.server.name, port(extra.portOffset), () =>
          listen(extra.server, shared, port(extra.portOffset)),
        );
        closers.push(running.close);
        extra.attach(running.url);
      }
      instance.attach(server.url);
      instances.set(name, instance);
      running.set(name, server);
    }
    for (const instance of instances.values()) {
      if (instance.dispose) closers.push(instance.dispose);
      await instance.ready?.();
    }
    // After `ready`: the sandbox's own sign-in approves its code itself.
    if (options.autoApproveSignInAs) signIns.autoApproveAs = options.autoApproveSignInAs;
    clock.onChange((now) => {
      for (const i of instances.values()) i.onClockChange?.(now);
    });

    const buildSnapshot = (): SnapshotFile => ({
      format: "cosell-sandbox-snapshot",
      version: 1,
      savedAt: new Date().toISOString(),
      clock: { now: clock.now().toISOString() },
      systems: {
        ...(snapshot?.systems ?? {}),
        ...Object.fromEntries([...instances].map(([n, i]) => [n, i.snapshot()])),
      },
    });
    const saveSnapshot = async (): Promise<string> => {
      if (!options.snapshotFile)
        throw new SandboxError(
          "SNAPSHOT_NOT_CONFIGURED",
          "This sandbox was started without snapshotFile, so there is nowhere to save; pass snapshotFile to startSandbox.",
        );
      await writeSnapshot(options.snapshotFile, buildSnapshot());
      return options.snapshotFile;
    };

    const control: RunningControlServer = await listenOrExplain(
      "control API",
      port(CONTROL_PORT_OFFSET),
      () =>
        startControlServer(
          [
            ...coreRoutes({
              clock,
              log,
              faults,
              tokens,
              state: () => Object.fromEntries([...instances].map(([n, i]) => [n, i.state()])),
              saveSnapshot,
            }),
            ...entraControlRoutes(signIns),
            ...[...instances.values()].flatMap((i) => i.routes),
          ],
          port(CONTROL_PORT_OFFSET),
        ),
    );
    closers.push(control.close);

    let stopped: Promise<void> | undefined;
    const base: SandboxBase<S> = {
      urls: {
        entra: entra.url,
        control: control.url,
        ...Object.fromEntries([...running].map(([n, r]) => [n, r.url])),
      } as SandboxBase<S>["urls"],
      credentials: Object.fromEntries(
        [...instances].map(([n, i]) => [n, i.credentials()]),
      ) as SandboxBase<S>["credentials"],
      clock,
      log,
      faults,
      tokens,
      entra: directory,
      signIns,
      secrets: () => [
        ...new Set([
          ...[...instances.values()].flatMap((i) => i.secrets()),
          ...tokens.allTokenValues(),
          ...signIns.allRefreshTokenValues(),
        ]),
      ],
      saveSnapshot,
      stop: () => {
        stopped ??= (async () => {
          const drains = [...instances.values()].map((i) => i.drain?.() ?? Promise.resolve());
          await Promise.race([Promise.all(drains), new Promise((r) => setTimeout(r, 5_000).unref())]);
          try {
            if (options.snapshotFile) await saveSnapshot();
          } finally {
            await closeAll();
          }
        })();
        return stopped;
      },
    };
    const controls = Object.fromEntries([...instances].map(([n, i]) => [n, i.control]));
    return Object.assign(base, controls) as Sandbox<S>;
  } catch (e) {
    await closeAll();
    throw e;
  }
}
