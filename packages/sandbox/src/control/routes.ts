import { z } from "zod";
import type { FaultInjector, RequestLog, ServerName, TokenRegistry } from "../kit/index.js";
import { ControlError } from "./errors.js";
import type { ObservedClock } from "./observed-clock.js";
import { type ControlRoute, parseBody } from "./server.js";

const SERVER_NAMES = [
  "entra",
  "partner-center",
  "partner-center-webhooks",
  "salesforce",
  "dataverse",
  "graph",
] as const satisfies readonly ServerName[];
const ServerNameSchema = z.enum(SERVER_NAMES);

const FaultSchema = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("throttle"), retryAfterSeconds: z.number().min(0).default(1) }),
  z.object({
    kind: z.literal("serverError"),
    status: z.union([z.literal(500), z.literal(502), z.literal(503), z.literal(504)]).default(503),
  }),
  z.object({ kind: z.literal("reset") }),
  z.object({ kind: z.literal("latency"), ms: z.number().int().min(0) }),
  z.object({ kind: z.literal("preconditionFailed") }),
]);

const FaultsBodySchema = z
  .object({
    /** Which server the rates apply to; `*` = every server but entra. */
    server: z.union([ServerNameSchema, z.literal("*")]).default("*"),
    rates: z
      .object({
        throttle: z.number().min(0).max(1).optional(),
        retryAfterSeconds: z.number().min(0).optional(),
        serverError: z.number().min(0).max(1).optional(),
        reset: z.number().min(0).max(1).optional(),
        latencyMs: z.number().int().min(0).optional(),
      })
      .strict()
      .optional(),
    script: z
      .array(
        z
          .object({
            fault: FaultSchema,
            server: ServerNameSchema.optional(),
            method: z.string().toUpperCase().optional(),
            pathIncludes: z.string().optional(),
          })
          .strict(),
      )
      .optional(),
  })
  .strict();

const AdvanceSchema = z
  .object({
    ms: z.number().default(0),
    seconds: z.number().default(0),
    minutes: z.number().default(0),
    hours: z.number().default(0),
    days: z.number().default(0),
  })
  .strict();

/** Shared services the core routes act on. */
export interface CoreRouteDeps {
  clock: ObservedClock;
  log: RequestLog;
  faults: FaultInjector;
  tokens: TokenRegistry;
  /** Every system's state, for `GET /state`. */
  state(): Record<string, unknown>;
  /** Saves the snapshot file; returns its path (throws when no `snapshotFile` was configured). */
  saveSnapshot(): Promise<string>;
}

/**
 * The control routes that do not belong to one system.
 *
 * | route | body | does |
 * |---|---|---|
 * | `GET /` | | lists every route |
 * | `GET /clock` | | `{ now }` (sandbox time) |
 * | `POST /clock/advance` | `{ ms?, seconds?, minutes?, hours?, days? }` | moves the clock forward (expires what is due) |
 * | `POST /clock/set` | `{ now: ISO }` | jumps to a time |
 * | `POST /clock/freeze`, `POST /clock/unfreeze` | | stops / resumes real time moving the clock |
 * | `GET /faults` | | pending scripted faults and counts of injected ones |
 * | `POST /faults` | `{ server?, rates?, script? }` | sets fault rates (per server or `*`) and/or queues scripted faults (kit `FaultInjector`) |
 * | `DELETE /faults` | | clears rates and scripts |
 * | `POST /tokens/expire` | | expires every issued token now |
 * | `GET /log` | query `server` | request log entries and per-endpoint call counts |
 * | `DELETE /log` | | clears the request log |
 * | `GET /state` | | every system's state |
 * | `POST /snapshot` | | saves the snapshot file now |
 */
export function coreRoutes(deps: CoreRouteDeps): ControlRoute[] {
  const { clock, log, faults, tokens } = deps;
  return [
    {
      method: "GET",
      path: "/clock",
      summary: "sandbox time",
      handle: () => ({ now: clock.now().toISOString() }),
    },
    {
      method: "POST",
      path: "/clock/advance",
      summary: "move the clock forward: { ms?, seconds?, minutes?, hours?, days? }",
      handle: ({ body }) => {
        const a = parseBody(AdvanceSchema, body);
        const ms = a.ms + 1000 * (a.seconds + 60 * (a.minutes + 60 * (a.hours + 24 * a.days)));
        if (ms < 0)
          throw new ControlError(
            400,
            "BAD_REQUEST",
            "The clock only moves forward with advance; use /clock/set to go back.",
          );
        return { now: clock.advance(ms).toISOString() };
      },
    },
    {
      method: "POST",
      path: "/clock/set",
      summary: "jump to a time: { now: ISO date-time }",
      handle: ({ body }) => {
        const { now } = parseBody(z.object({ now: z.iso.datetime({ offset: true }) }), body);
        clock.set(new Date(now));
        return { now: clock.now().toISOString() };
      },
    },
    {
      method: "POST",
      path: "/clock/freeze",
      summary: "stop real time from moving the clock",
      handle: () => {
        clock.freeze();
        return { now: clock.now().toISOString() };
      },
    },
    {
      method: "POST",
      path: "/clock/unfreeze",
      summary: "let real time move the clock again",
      handle: () => {
        clock.unfreeze();
        return { now: clock.now().toISOString() };
      },
    },
    {
      method: "GET",
      path: "/faults",
      summary: "pending scripted faults and injected counts",
      handle: () => ({ pending: faults.pending(), injected: faults.injected }),
    },
    {
      method: "POST",
      path: "/faults",
      summary: "set rates and/or script faults: { server?, rates?, script? }",
      handle: ({ body }) => {
        const f = parseBody(FaultsBodySchema, body);
        if (f.rates) faults.setRates(f.rates, f.server);
        if (f.script?.length) faults.script(...f.script);
        return { pending: faults.pending(), injected: faults.injected };
      },
    },
    {
      method: "DELETE",
      path: "/faults",
      summary: "clear fault rates and scripts",
      handle: () => {
        faults.clear();
        return { pending: [] };
      },
    },
    {
      method: "POST",
      path: "/tokens/expire",
      summary: "expire every issued token now",
      handle: () => ({ expired: tokens.expireAll() }),
    },
    {
      method: "GET",
      path: "/log",
      summary: "request log and per-endpoint counts (query: server)",
      handle: ({ query }) => {
        const server = query.get("server");
        const entries = server ? log.entries.filter((e) => e.server === server) : log.entries;
        return { entries, countsByEndpoint: log.countsByEndpoint(), callsByServer: log.callsByServer() };
      },
    },
    {
      method: "DELETE",
      path: "/log",
      summary: "clear the request log",
      handle: () => {
        log.clear();
        return { cleared: true };
      },
    },
    {
      method: "GET",
      path: "/state",
      summary: "every system's state",
      handle: () => ({ now: clock.now().toISOString(), ...deps.state() }),
    },
    {
      method: "POST",
      path: "/snapshot",
      summary: "save the snapshot file now",
      handle: async () => ({ file: await deps.saveSnapshot() }),
    },
  ];
}
