import type { Command } from "commander";
import { type CommandContext, EXIT } from "./context.js";

/**
 * The plumbing every command module shares. It lives apart from `program.ts` so imports run one
 * way: `program.ts` → `commands/*` → this module, never back (a command importing `program.ts`
 * would close an import circle through every other command).
 */

/** Holds the exit code an action decided on. */
export interface ExitBox {
  code: number;
}

/** Adds one command (or a family of commands) to the program. */
export type RegisterCommand = (program: Command, ctx: CommandContext, box: ExitBox) => void;

/** Wraps an action: runs it, turns a returned number into the exit code and errors into exit 1. */
export function action<A extends unknown[]>(
  ctx: CommandContext,
  box: ExitBox,
  fn: (...args: A) => Promise<number | undefined> | number | undefined,
): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      box.code = (await fn(...args)) ?? EXIT.ok;
    } catch (e) {
      box.code = ctx.fail(e);
    }
  };
}
