import { z } from "zod";
import { ControlError, guardedControl } from "../control/errors.js";
import { type ControlRoute, parseBody } from "../control/server.js";
import type { SystemDefinition } from "../control/system.js";
import { type DirectoryUser, directoryUserSchema } from "./directory.js";
import { createGraphServer, type GraphControl, SANDBOX_GRAPH_RESOURCE } from "./server.js";

/** Where clients reach the Graph emulator. Tokens come from the Dynamics app (`graphScope`). */
export interface GraphCredentials {
  /** `{origin}/v1.0`. */
  baseUrl: string;
  /** `https://graph.microsoft.com/.default`. */
  scope: string;
}

/** What a snapshot keeps of Graph: the directory users. */
export interface GraphSnapshot {
  users: DirectoryUser[];
}

/**
 * Graph's control routes.
 *
 * | route | body | does |
 * |---|---|---|
 * | `GET /graph/users` | | `{ value }`, every directory user |
 * | `GET /graph/users/{id}` | | one user by id or UPN (404) |
 * | `POST /graph/users` | user fields (`displayName`, `userPrincipalName` required) | adds a user |
 * | `PUT /graph/users/{id}` | fields to change | edits a user |
 * | `DELETE /graph/users/{id}` | | removes a user |
 * | `POST /graph/throttle` | `{ limit, windowSeconds }` or `{}` | per-client request limit (`{}` = off) |
 */
function controlRoutes(control: GraphControl): ControlRoute[] {
  return [
    {
      method: "GET",
      path: "/graph/users",
      summary: "every directory user",
      handle: () => ({ value: control.all() }),
    },
    {
      method: "GET",
      path: "/graph/users/{id}",
      summary: "one directory user by id or userPrincipalName",
      handle: ({ params }) => {
        const u = control.get(params.id!);
        if (!u) throw new ControlError(404, "NOT_FOUND", `No directory user ${params.id}.`);
        return u;
      },
    },
    {
      method: "POST",
      path: "/graph/users",
      summary: "add a directory user",
      handle: ({ body }) =>
        guardedControl(() =>
          control.add(
            parseBody(
              directoryUserSchema.partial().required({ displayName: true, userPrincipalName: true }),
              body,
            ),
          ),
        ),
    },
    {
      method: "PUT",
      path: "/graph/users/{id}",
      summary: "edit a directory user",
      handle: ({ params, body }) =>
        guardedControl(() =>
          control.update(params.id!, parseBody(directoryUserSchema.omit({ id: true }).partial(), body)),
        ),
    },
    {
      method: "DELETE",
      path: "/graph/users/{id}",
      summary: "remove a directory user",
      handle: ({ params }) => control.remove(params.id!),
    },
    {
      method: "POST",
      path: "/graph/throttle",
      summary: "per-client request limit: { limit, windowSeconds }, or {} for none",
      handle: ({ body }) => {
        const b = parseBody(
          z.object({ limit: z.number().int().min(1), windowSeconds: z.number().positive() }).partial(),
          body,
        );
        control.setThrottle(
          b.limit !== undefined && b.windowSeconds !== undefined
            ? { limit: b.limit, windowSeconds: b.windowSeconds }
            : null,
        );
      },
    },
  ];
}

/** The Microsoft Graph system of the sandbox (for `SYSTEMS` in sandbox.ts), port offset 5. */
export const graphSystem: SystemDefinition<GraphControl, GraphCredentials, GraphSnapshot> = {
  serverName: "graph",
  portOffset: 5,
  parseSnapshot: (raw) => z.object({ users: z.array(directoryUserSchema) }).parse(raw),
  start(ctx, restored) {
    const server = createGraphServer(
      { clock: ctx.clock, tokens: ctx.tokens },
      restored ? { users: restored.users } : {},
    );
    let origin = "";
    return {
      server,
      attach(url) {
        origin = url;
      },
      control: server.control,
      credentials: () => ({ baseUrl: `${origin}/v1.0`, scope: `${SANDBOX_GRAPH_RESOURCE}/.default` }),
      routes: controlRoutes(server.control),
      state: () => ({ users: server.control.all().length }),
      snapshot: () => ({ users: server.control.all() }),
      secrets: () => [],
    };
  },
};
