import { afterEach, describe, expect, it } from "vitest";
import type { DemoReport } from "../src/demo/report.js";
import { runCli } from "../src/program.js";
import { useFakeDynamics } from "./helpers/fake-crm.js";
import { captureIo } from "./helpers/io.js";

describe("cosell demo (Dynamics played by the in-memory CRM, Partner Center by the sandbox)", () => {
  let restore: (() => void) | undefined;
  afterEach(() => restore?.());

  it("runs the script, prints one readable screen and exits 0", async () => {
    const fake = useFakeDynamics();
    restore = fake.restore;
    const io = captureIo();
    const code = await runCli(["demo", "--crm", "dynamics"], io);
    expect(io.err()).not.toContain("demo run failed");
    expect(code).toBe(0);
    const out = io.out();
    expect(out).toContain("Dynamics 365");
    expect(out).toMatch(/deals won\s+1/);
    expect(out).toMatch(/deals lost\s+1/);
    expect(out).toMatch(/deals expired .*\s+1/);
    expect(out).toMatch(/opportunities created from referrals\s+5/);
    expect(out).toMatch(/referrals created from opportunities\s+3/);
    expect(out.split("\n").length).toBeLessThan(40);
  });

  it("--json reports per CRM what happened to the deals and the calls per side", async () => {
    const fake = useFakeDynamics();
    restore = fake.restore;
    const io = captureIo();
    const code = await runCli(["demo", "--json", "--crm", "dynamics"], io);
    expect(code).toBe(0);
    const report = JSON.parse(io.out()) as DemoReport;
    expect(report.ok).toBe(true);
    const d = report.crms[0]!;
    expect(d).toMatchObject({
      crm: "dynamics",
      ran: true,
      deals: {
        createdInCrm: 5,
        createdInPartnerCenter: 3,
        // Microsoft's decline of an invitation leaves the deal open: 4 accepted, 1 declined by a seller.
        accepted: 4,
        won: 1,
        lost: 1,
        declined: 1,
        expired: 1,
        engaged: 1,
      },
      recordErrors: 0,
      warnings: [],
    });
    expect(d.inStep.agree).toBe(d.inStep.total);
    expect(d.calls.partnerCenter).toBeGreaterThan(0);
    expect(d.calls.entraId).toBeGreaterThan(0);
  });

  it("a CRM whose adapter is missing is named as not run", async () => {
    const fake = useFakeDynamics();
    restore = fake.restore;
    const io = captureIo();
    await runCli(["demo", "--json"], io);
    const report = JSON.parse(io.out()) as DemoReport;
    const sf = report.crms.find((c) => c.crm === "salesforce")!;
    if (!sf.ran) expect(sf.note).toMatch(/Salesforce/);
  });

  it("never logs a sandbox secret or token (every JSON log line grepped)", async () => {
    const fake = useFakeDynamics();
    restore = fake.restore;
    const io = captureIo();
    const code = await runCli(["demo", "--json", "--crm", "dynamics", "--log-level", "trace"], io);
    expect(code).toBe(0);
    const lines = io.err().split("\n").filter(Boolean);
    expect(lines.length).toBeGreaterThan(5);
    for (const l of lines) expect(() => JSON.parse(l)).not.toThrow();
    const secrets = fake.sandboxes.flatMap((s) => s.secrets());
    expect(secrets.length).toBeGreaterThan(2);
    const everything = `${io.err()}\n${io.out()}`;
    for (const s of secrets) expect(everything.includes(s), "a secret leaked").toBe(false);
  });
});
