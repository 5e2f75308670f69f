import { z } from "zod";
import { ControlError } from "../control/errors.js";
import { type ControlRoute, parseBody } from "../control/server.js";
import type { EntraSignIns } from "./sign-ins.js";

/** Runs `fn`, turning the sign-in state's refusals (unknown code, expired, no user) into a 409. */
function refusedAs409<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof ControlError) throw e;
    throw new ControlError(409, "SIGN_IN_REFUSED", (e as Error).message);
  }
}

/**
 * Entra ID's control routes: act as the person in the browser.
 *
 * | route | body | does |
 * |---|---|---|
 * | `GET /entra/users` | | the directory's users and their roles |
 * | `POST /entra/users` | `{ tenantId, username, roles }` | adds a user |
 * | `GET /entra/device-codes` | | device codes waiting to be redeemed |
 * | `POST /entra/device-codes/approve` | `{ userCode, username? }` | the user signs in and approves the code |
 * | `POST /entra/device-codes/decline` | `{ userCode }` | the user declines |
 * | `POST /entra/device-codes/auto-approve` | `{ username \| null }` | approve every polled code as this user (null: stop) |
 * | `POST /entra/users/{username}/revoke-sessions` | | every refresh token of the user stops working |
 */
export function entraControlRoutes(signIns: EntraSignIns): ControlRoute[] {
  return [
    {
      method: "GET",
      path: "/entra/users",
      summary: "users and their roles",
      handle: () => ({ value: signIns.allUsers() }),
    },
    {
      method: "POST",
      path: "/entra/users",
      summary: "add a user: { tenantId, username, roles }",
      handle: ({ body }) =>
        signIns.addUser(
          parseBody(
            z.object({
              tenantId: z.string().min(1),
              username: z.string().min(1),
              roles: z.array(z.string()).default([]),
            }),
            body,
          ),
        ),
    },
    {
      method: "GET",
      path: "/entra/device-codes",
      summary: "device codes waiting to be redeemed",
      handle: () => ({
        value: signIns.pendingDeviceCodes().map(({ deviceCode: _hidden, lastPollMs: _t, ...rest }) => rest),
      }),
    },
    {
      method: "POST",
      path: "/entra/device-codes/approve",
      summary: "approve a device code as a user: { userCode, username? }",
      handle: ({ body }) => {
        const b = parseBody(z.object({ userCode: z.string().min(1), username: z.string().optional() }), body);
        const { deviceCode: _hidden, ...s } = refusedAs409(() => signIns.approve(b.userCode, b.username));
        return s;
      },
    },
    {
      method: "POST",
      path: "/entra/device-codes/decline",
      summary: "decline a device code: { userCode }",
      handle: ({ body }) => {
        const b = parseBody(z.object({ userCode: z.string().min(1) }), body);
        const { deviceCode: _hidden, ...s } = refusedAs409(() => signIns.decline(b.userCode));
        return s;
      },
    },
    {
      method: "POST",
      path: "/entra/device-codes/auto-approve",
      summary: "approve every polled device code as { username } (null stops)",
      handle: ({ body }) => {
        const b = parseBody(z.object({ username: z.string().min(1).nullable() }), body);
        if (b.username && !signIns.userNamed(b.username))
          throw new ControlError(404, "NOT_FOUND", `No user ${b.username} in the directory.`);
        signIns.autoApproveAs = b.username ?? undefined;
        return { autoApproveAs: b.username };
      },
    },
    {
      method: "POST",
      path: "/entra/users/{username}/revoke-sessions",
      summary: "revoke every refresh token of a user",
      handle: ({ params }) => ({ revoked: signIns.revokeSignInSessions(params.username!) }),
    },
  ];
}
