import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from "node:fs";
import { hostname } from "node:os";
import { errorMessage, StateLockedError, StorageError } from "../errors.js";

/** A held state lock; `release()` removes the lock file (only if it is still ours). */
export interface StateLock {
  readonly path: string;
  release(): void;
}

interface LockContent {
  pid: number;
  host: string;
  since: string;
  command?: string;
}

/** Whether process `pid` is alive on this machine (EPERM: alive, owned by someone else). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

function readLock(path: string): LockContent | undefined {
  try {
    const v = JSON.parse(readFileSync(path, "utf8")) as Partial<LockContent>;
    return typeof v.pid === "number" ? (v as LockContent) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Takes the one-writer lock of a state file: `<state>.lock` created exclusively (`O_EXCL`, 0600) with
 * this process's pid. A second `cosell sync`/`run` on the same state gets {@link StateLockedError}
 * (`STATE_LOCKED`, naming the holder's pid) at once instead of both crashing mid-run. A lock left by a
 * process that no longer exists (SIGKILL, power loss) is taken over. A lock written on another host
 * (a shared folder) is never taken over automatically: its pid means nothing here.
 */
export function acquireStateLock(statePath: string, command?: string): StateLock {
  const path = `${statePath}.lock`;
  const mine: LockContent = {
    pid: process.pid,
    host: hostname(),
    since: new Date().toISOString(),
    ...(command ? { command } : {}),
  };
  for (let attempt = 0; attempt < 3; attempt++) {
    let fd: number;
    try {
      fd = openSync(path, "wx", 0o600);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST")
        throw new StorageError(
          "STATE_LOCK_FAILED",
          `Cannot create the state lock ${path} (${(e as NodeJS.ErrnoException).code ?? errorMessage(e)}). Make the state folder writable by this user.`,
          { path },
          { cause: e },
        );
      const holder = readLock(path);
      if (holder && holder.host !== mine.host)
        throw new StateLockedError(
          `The state file ${statePath} is locked by process ${holder.pid} on host ${holder.host} (since ${holder.since}). Only one cosell sync/run may use a state file; stop that one, or delete ${path} if it is certainly not running.`,
          holder.pid,
          { path, host: holder.host, since: holder.since },
        );
      if (holder && holder.pid !== process.pid && alive(holder.pid))
        throw new StateLockedError(
          `The state file ${statePath} is in use by cosell process ${holder.pid}${holder.command ? ` (${holder.command})` : ""}, running since ${holder.since}. Only one cosell sync/run may use a state file at a time: wait for it to finish or stop it (kill ${holder.pid}).`,
          holder.pid,
          { path, since: holder.since },
        );
      // Stale (its process is gone) or unreadable (crashed while writing it): take it over.
      try {
        unlinkSync(path);
      } catch {
        // someone else took it over first: try again
      }
      continue;
    }
    try {
      writeSync(fd, `${JSON.stringify(mine)}\n`);
    } finally {
      closeSync(fd);
    }
    let released = false;
    return {
      path,
      release() {
        if (released) return;
        released = true;
        if (readLock(path)?.pid === process.pid) {
          try {
            unlinkSync(path);
          } catch {
            // already gone
          }
        }
      },
    };
  }
  throw new StorageError(
    "STATE_LOCK_FAILED",
    `Could not take the state lock ${path}: other processes keep replacing it. Check that only one cosell sync/run uses ${statePath}.`,
    { path },
  );
}
