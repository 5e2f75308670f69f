import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, statSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { SANDBOX_SYNC_USERNAME } from "@cosell/sandbox";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runCli } from "../src/program.js";
import { useFakeDynamics } from "./helpers/fake-crm.js";
import { captureIo } from "./helpers/io.js";
import { type Workspace, workspace } from "./helpers/workspace.js";

/** `cosell login`, what `doctor`, `sync` and `run` say about the sign-in, and the one-writer state lock. */
describe("cosell login and the state a sync keeps", () => {
  let ws: Workspace;
  let fake: ReturnType<typeof useFakeDynamics>;
  const children: ChildProcess[] = [];
  const cli = async (...argv: string[]) => {
    const io = captureIo({ env: ws.env, cwd: ws.dir });
    const code = await runCli(argv, io);
    return { code, out: io.out(), err: io.err() };
  };
  /** Points the config at a token cache nobody has signed in to yet. */
  const freshCache = () =>
    ws.write((c) => {
      (c.partnerCenter as Record<string, unknown>).auth = { kind: "user", tokenCache: "fresh-cache.json" };
    });
  const noStack = (text: string) => expect(text).not.toMatch(/\n\s+at /);

  beforeEach(async () => {
    ws = await workspace();
    fake = useFakeDynamics();
  });
  afterEach(async () => {
    for (const c of children.splice(0)) c.kill("SIGKILL");
    fake.restore();
    await ws.sandbox.stop();
  });

  it("sync without a sign-in stops with SIGN_IN_REQUIRED and the instruction, never a stack trace; doctor says the same", async () => {
    freshCache();
    const sync = await cli("sync");
    expect(sync.code).toBe(1);
    expect(sync.err).toMatch(/^cosell: SIGN_IN_REQUIRED: .*cosell login/m);
    noStack(sync.err);
    const run = await cli("run", "--max-cycles", "1");
    expect(run.code).toBe(1);
    expect(run.err).toContain("SIGN_IN_REQUIRED");

    const doctor = await cli("doctor");
    expect(doctor.code).toBe(1);
    expect(doctor.out).toMatch(/FAIL\s+Partner Center sign-in\s+nobody is signed in/);
    expect(doctor.out).toMatch(/fix Partner Center sign-in: run `cosell login`/);
  });

  it("login prints the address and code, waits for approval, then sync and doctor work as that user", async () => {
    freshCache();
    // The sandbox's Entra ID approves the code itself: no human in the loop.
    ws.sandbox.signIns.autoApproveAs = SANDBOX_SYNC_USERNAME;
    const login = await cli("login");
    expect(login.code, login.err).toBe(0);
    expect(login.err).toMatch(
      /open the page http:\/\/127\.0\.0\.1:\d+\/devicelogin and enter the code [A-Z0-9]{9}/,
    );
    expect(login.out).toContain(`Signed in to Partner Center as ${SANDBOX_SYNC_USERNAME}`);
    expect(statSync(join(ws.dir, "fresh-cache.json")).mode & 0o777).toBe(0o600);

    const status = await cli("login", "--status");
    expect(status.out).toContain(SANDBOX_SYNC_USERNAME);
    const doctor = await cli("doctor");
    expect(doctor.out).toMatch(
      new RegExp(
        `ok\\s+Partner Center sign-in\\s+signed in as ${SANDBOX_SYNC_USERNAME.replace(/\./g, "\\.")}`,
      ),
    );
    const sync = await cli("sync");
    expect(sync.code, sync.err).toBe(0);
  });

  it("a revoked sign-in is SIGN_IN_EXPIRED with `cosell login` as the fix", async () => {
    ws.sandbox.signIns.revokeSignInSessions(SANDBOX_SYNC_USERNAME);
    ws.sandbox.tokens.expireAll();
    const sync = await cli("sync");
    expect(sync.code).toBe(1);
    expect(sync.err).toMatch(/^cosell: SIGN_IN_EXPIRED: .*cosell login/m);
    noStack(sync.err);
  });

  it("auth.kind app is refused by the emulated Referrals API (403), as Microsoft documents", async () => {
    ws.write((c) => {
      (c.partnerCenter as Record<string, unknown>).auth = { kind: "app", clientSecret: "env:PC_SECRET" };
    });
    const sync = await cli("sync");
    expect(sync.code).toBe(1);
    expect(sync.err).toContain("AUTH_FORBIDDEN");
    const login = await cli("login");
    expect(login.err).toContain("LOGIN_NOT_USER_AUTH");
  });

  it("a second sync on the same state exits at once naming the holder's pid; a dead holder's lock is taken over", async () => {
    const holder = spawn(process.execPath, ["-e", "setTimeout(() => {}, 60000)"], { stdio: "ignore" });
    children.push(holder);
    const pid = holder.pid!;
    const lock = join(ws.dir, "state.sqlite.lock");
    writeFileSync(
      lock,
      JSON.stringify({ pid, host: hostname(), since: new Date().toISOString(), command: "cosell run" }),
    );
    const refused = await cli("sync");
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(new RegExp(`^cosell: STATE_LOCKED: .*process ${pid} \\(cosell run\\)`, "m"));
    expect(existsSync(join(ws.dir, "state.sqlite"))).toBe(false);

    holder.kill("SIGKILL");
    await new Promise((r) => holder.once("exit", r));
    const taken = await cli("sync");
    expect(taken.code, taken.err).toBe(0);
    expect(existsSync(lock)).toBe(false);
  });

  it("the state database and its -wal/-shm are created 0600", async () => {
    const sync = await cli("sync");
    expect(sync.code, sync.err).toBe(0);
    for (const f of ["state.sqlite", "state.sqlite-wal", "state.sqlite-shm"]) {
      const p = join(ws.dir, f);
      if (f === "state.sqlite" || existsSync(p)) expect(statSync(p).mode & 0o777, f).toBe(0o600);
    }
  });
});
