import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { acquireStateLock, StateLockedError } from "../../src/index.js";

/** One writer per state file: `<state>.lock` with the holder's pid. */
describe("acquireStateLock", () => {
  let dir: string;
  let state: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "cosell-lock-"));
    state = join(dir, "state.sqlite");
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const writeLock = (pid: number, host = hostname()) =>
    writeFileSync(
      `${state}.lock`,
      JSON.stringify({ pid, host, since: "2026-12-04T10:00:00.000Z", command: "cosell run" }),
    );

  it("writes this process's pid, 0600, and removes the file on release", () => {
    const lock = acquireStateLock(state, "cosell sync");
    expect(JSON.parse(readFileSync(lock.path, "utf8"))).toMatchObject({
      pid: process.pid,
      command: "cosell sync",
    });
    lock.release();
    expect(existsSync(lock.path)).toBe(false);
  });

  it("refuses while another live process holds it, naming that pid", async () => {
    const holder = spawn(process.execPath, ["-e", "setTimeout(() => {}, 60000)"], { stdio: "ignore" });
    try {
      writeLock(holder.pid!);
      let caught: unknown;
      try {
        acquireStateLock(state);
      } catch (e) {
        caught = e;
      }
      expect(caught).toBeInstanceOf(StateLockedError);
      expect(caught).toMatchObject({ code: "STATE_LOCKED", holderPid: holder.pid });
      expect((caught as Error).message).toContain(`process ${holder.pid} (cosell run)`);
    } finally {
      holder.kill("SIGKILL");
    }
  });

  it("takes over a lock whose process is gone", async () => {
    const gone = spawn(process.execPath, ["-e", ""], { stdio: "ignore" });
    await new Promise((r) => gone.once("exit", r));
    writeLock(gone.pid!);
    const lock = acquireStateLock(state);
    expect(JSON.parse(readFileSync(lock.path, "utf8")).pid).toBe(process.pid);
    lock.release();
  });

  it("never takes over a lock written on another host", () => {
    writeLock(1, "some-other-host");
    expect(() => acquireStateLock(state)).toThrow(/another host|on host some-other-host/);
  });
});
