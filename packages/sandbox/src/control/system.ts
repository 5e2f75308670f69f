import type { EntraDirectory, EntraSignIns } from "../entra/index.js";
import type {
  EmulatedServer,
  FaultInjector,
  RequestLog,
  SandboxClock,
  ServerName,
  TokenRegistry,
} from "../kit/index.js";
import type { ControlRoute } from "./server.js";

/** What every emulated system gets from `startSandbox`. */
export interface SystemContext {
  clock: SandboxClock;
  log: RequestLog;
  faults: FaultInjector;
  tokens: TokenRegistry;
  /** The sandbox's Entra ID: register app registrations and allowed resources here. */
  entra: { directory: EntraDirectory; url: string; signIns: EntraSignIns };
}

/** One running emulated system, as `startSandbox` drives it. */
export interface SystemInstance<Control, Credentials, Snapshot> {
  /** The HTTP emulator, served through the kit's `listen` (request log + fault injection). */
  server: EmulatedServer;
  /** Called once the server listens, with its origin (`http://127.0.0.1:PORT`). */
  attach(url: string): void;
  /**
   * Further servers of the same system on their own origins (Partner Center's webhook API lives on
   * another host than its referrals API). Each listens on `basePort + portOffset` when a base port is given.
   */
  extraServers?: { server: EmulatedServer; portOffset: number; attach(url: string): void }[];
  /** In-process control (what `sandbox.<system>` is). */
  control: Control;
  /** Test credentials for clients of this system (what `sandbox.credentials.<system>` is). */
  credentials(): Credentials;
  /** Control-API routes of this system (mounted on the shared control server). */
  routes: ControlRoute[];
  /** JSON-able state for `GET /state`. */
  state(): unknown;
  /** Everything needed to resume later (saved in the snapshot file). */
  snapshot(): Snapshot;
  /** Every secret value this system issued (client secrets, private keys). */
  secrets(): string[];
  /** The sandbox clock moved (expire what is due). */
  onClockChange?(now: Date): void;
  /** Finish background work (webhook deliveries) before the server closes. */
  drain?(): Promise<void>;
  /** Async set-up once every server listens (e.g. signing the test user in). */
  ready?(): Promise<void>;
  /** Removes what `ready` left on disk; called when the sandbox stops. */
  dispose?(): Promise<void>;
}

/**
 * How `startSandbox` starts one system. Adding a system to the sandbox is one of these plus one entry
 * in `SYSTEMS` (sandbox.ts).
 */
export interface SystemDefinition<Control, Credentials, Snapshot> {
  /** The request-log name of its server. */
  serverName: ServerName;
  /** Its port is `basePort + portOffset` when a base port is given. */
  portOffset: number;
  /** Reads this system's part of a snapshot file (throws on a malformed one). */
  parseSnapshot(raw: unknown): Snapshot;
  start(ctx: SystemContext, restored: Snapshot | undefined): SystemInstance<Control, Credentials, Snapshot>;
}
