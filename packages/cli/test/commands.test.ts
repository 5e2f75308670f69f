import { existsSync } from "node:fs";
import { join } from "node:path";
import { sampleDeal } from "@cosell/core/testing";
import { describe, expect, it, vi } from "vitest";
import { parse } from "yaml";
import { runCli } from "../src/program.js";
import { useCliWorkspace } from "./helpers/cli-workspace.js";
import { captureIo } from "./helpers/io.js";

describe("cosell commands against the sandbox's Partner Center and an in-memory CRM", () => {
  const ctx = useCliWorkspace();

  it("setup → doctor → plan (exit 2) → sync → plan (exit 0) → status → deals", async () => {
    const setup = await ctx.cli("setup", "dynamics", "--json");
    expect(setup.code).toBe(0);
    expect(setup.json().created.length).toBeGreaterThan(0);

    const doctor = await ctx.cli("doctor", "--json");
    expect(doctor.json().checks.map((c: { name: string }) => c.name)).toContain("Partner Center credential");
    expect(doctor.code, doctor.out).toBe(0);

    const referral = ctx.ws.sandbox.partnerCenter.sendInboundReferral();
    ctx.fake.crm.createOpportunity(sampleDeal({ name: "Contoso rollout" }), { optedIn: true });
    const plan = await ctx.cli("plan");
    expect(plan.code).toBe(2);
    expect(plan.out).toContain("writes planned");
    // plan writes nothing, not even an empty state store.
    expect(existsSync(join(ctx.ws.dir, "state.sqlite"))).toBe(false);

    const sync = await ctx.cli("sync", "--json");
    expect(sync.code).toBe(0);
    expect(sync.json().summary.steps.create).toBe(2);

    const again = await ctx.cli("plan", "--json");
    expect(again.code).toBe(0);
    expect(again.json().writes).toBe(0);

    const status = await ctx.cli("status", "--json");
    expect(status.code).toBe(0);
    expect(status.json()).toMatchObject({ ok: true, links: { total: 2, byState: { linked: 2 } } });
    expect(status.json().cycles).toHaveLength(1);
    const human = await ctx.cli("status");
    expect(human.out).toContain("Failing records: none");

    const inbound = await ctx.cli("deals", "inbound", "--json");
    expect(inbound.json().deals.map((d: { id: string }) => d.id)).toEqual([referral.id]);
    const outbound = await ctx.cli("deals", "outbound");
    expect(outbound.out).toContain("Contoso rollout");
    expect((await ctx.cli("deals", "favorites")).out).toContain("No favorites deals.");
  });

  it("accept, decline, won and lost act on Partner Center; the next sync brings the stage to the CRM", async () => {
    const a = ctx.ws.sandbox.partnerCenter.sendInboundReferral();
    const d = ctx.ws.sandbox.partnerCenter.sendInboundReferral();
    expect((await ctx.cli("sync")).code).toBe(0);
    const accepted = await ctx.cli("accept", a.id, "--json");
    expect(accepted.code).toBe(0);
    expect(accepted.json().stage).toBe("accepted");
    expect((await ctx.cli("decline", d.id)).code).toBe(1); // --reason is required
    expect((await ctx.cli("decline", d.id, "--reason", "Not a fit")).code).toBe(0);
    expect((await ctx.cli("won", a.id)).code).toBe(0);
    const again = await ctx.cli("won", a.id, "--json");
    expect(again.code).toBe(1);
    expect(again.json().error.code).toBeTruthy();
    expect((await ctx.cli("sync")).code).toBe(0);
    const stages = ctx.fake.crm
      .all()
      .map((o) => o.deal.stage)
      .sort();
    expect(stages).toEqual(["declined", "won"]);
  });

  it("accept|decline|won|lost --notes add a dated, signed note; Microsoft's notes stay, in Partner Center and in the CRM", async () => {
    const msNotes = "Customer wants a pilot before March. (Microsoft seller)";
    const [a, d, l] = [1, 2, 3].map(() => {
      const r = ctx.ws.sandbox.partnerCenter.sendInboundReferral();
      return ctx.ws.sandbox.partnerCenter.updateNotes(r.id, msNotes);
    });
    expect((await ctx.cli("sync")).code).toBe(0);
    const notesOf = (id: string) => ctx.ws.sandbox.partnerCenter.get(id)?.details?.notes ?? "";
    const note = (who: string, act: string, text: string) =>
      new RegExp(`\\n\\n\\[\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d UTC, ${who} \\(cosell ${act}\\)\\] ${text}`);

    expect((await ctx.cli("accept", a!.id, "--notes", "We take it; Dana leads.", "--by", "Ann")).code).toBe(
      0,
    );
    expect(notesOf(a!.id).startsWith(msNotes)).toBe(true);
    expect(notesOf(a!.id)).toMatch(note("Ann", "accept", "We take it; Dana leads\\."));

    expect((await ctx.cli("won", a!.id, "--notes", "Signed on Friday.", "--by", "Ann")).code).toBe(0);
    expect(notesOf(a!.id)).toMatch(note("Ann", "accept", "We take it; Dana leads\\."));
    expect(notesOf(a!.id)).toMatch(note("Ann", "won", "Signed on Friday\\."));
    expect(ctx.ws.sandbox.partnerCenter.get(a!.id)?.substatus).toBe("Won");

    expect(
      (await ctx.cli("decline", d!.id, "--reason", "Not our region", "--notes", "Try EMEA.", "--by", "Bo"))
        .code,
    ).toBe(0);
    expect(notesOf(d!.id)).toMatch(new RegExp(`^${msNotes.replace(/[().]/g, "\\$&")}`));
    expect(notesOf(d!.id)).toMatch(note("Bo", "decline", "Try EMEA\\."));

    expect((await ctx.cli("accept", l!.id)).code).toBe(0);
    expect(notesOf(l!.id)).toBe(msNotes);
    expect(
      (await ctx.cli("lost", l!.id, "--reason", "Budget cut", "--notes", "Maybe next year.", "--by", "Cy"))
        .code,
    ).toBe(0);
    expect(notesOf(l!.id).startsWith(msNotes)).toBe(true);
    expect(notesOf(l!.id)).toMatch(note("Cy", "lost", "Maybe next year\\."));

    // The CRM (Salesforce's Description, here the in-memory CRM's notes) gets both, too.
    expect((await ctx.cli("sync")).code).toBe(0);
    for (const r of [a, d, l]) {
      const opp = ctx.fake.crm.all().find((o) => o.deal.notes?.includes(msNotes));
      expect(opp, r!.id).toBeDefined();
      expect(ctx.fake.crm.all().map((o) => o.deal.notes)).toContain(notesOf(r!.id));
    }
  });

  it("--version prints the package's version and exits 0", async () => {
    const r = await ctx.cli("--version");
    expect(r.code).toBe(0);
    expect(r.out.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it("run loops until SIGINT, finishing the cycle in progress, and exits 0", async () => {
    const io = captureIo({ env: ctx.ws.env, cwd: ctx.ws.dir });
    ctx.ws.sandbox.partnerCenter.sendInboundReferral();
    const running = runCli(["run", "--interval", "5", "--json"], io);
    await new Promise((r) => setTimeout(r, 300));
    io.signal("SIGINT");
    expect(await running).toBe(0);
    expect(JSON.parse(io.out()).cycles).toBeGreaterThanOrEqual(1);
    expect(ctx.fake.crm.all()).toHaveLength(1);
  });

  it("run --max-cycles stops by itself and logs when the next cycle starts", async () => {
    const r = await ctx.cli("run", "--max-cycles", "2", "--interval", "5", "--json");
    expect(r.code).toBe(0);
    expect(r.json().cycles).toBe(1 + 1);
    // One wait between the two cycles, announced in the log.
    expect(r.err.match(/next cycle in 5 s/g)).toHaveLength(1);
  });

  it("run retries a cycle that fails as a whole after 1 s, logging its code, and the retry syncs", async () => {
    vi.spyOn(ctx.fake.crm, "changedAfter").mockImplementationOnce(() => {
      throw new Error("the CRM went away");
    });
    ctx.ws.sandbox.partnerCenter.sendInboundReferral();
    const r = await ctx.cli("run", "--max-cycles", "1", "--json");
    expect(r.code, r.err).toBe(0);
    expect(r.json()).toMatchObject({ ok: true, cycles: 1, failedCycles: 0 });
    const warning = r.err.split("\n").find((l) => l.includes("the CRM went away"));
    expect(JSON.parse(warning ?? "{}")).toMatchObject({
      level: 40,
      code: "UNEXPECTED",
      attempt: 1,
      retryInSeconds: 1,
      msg: "sync cycle failed (attempt 1 of 5); retrying in 1 s: the CRM went away",
    });
    expect(ctx.fake.crm.all()).toHaveLength(1);
  });

  it("run gives a cycle up after 5 attempts (1, 2, 4, 8 s apart); with --max-cycles that exits 1 with its error", async () => {
    const read = vi.spyOn(ctx.fake.crm, "changedAfter").mockImplementation(() => {
      throw new Error("the CRM went away");
    });
    const r = await ctx.cli("run", "--max-cycles", "1");
    expect(r.code).toBe(1);
    expect(read).toHaveBeenCalledTimes(5);
    expect(r.err.match(/retrying in (\d+) s/g)).toEqual([
      "retrying in 1 s",
      "retrying in 2 s",
      "retrying in 4 s",
      "retrying in 8 s",
    ]);
    expect(r.err).toContain("sync cycle failed 5 times");
    expect(r.err).toMatch(/^cosell: .*the CRM went away/m);
  }, 40_000);

  it("run refuses a fractional --max-cycles and an --interval outside run.intervalSeconds' bounds", async () => {
    for (const n of ["1.5", "0", "two"]) {
      const r = await ctx.cli("run", "--max-cycles", n);
      expect(r.code).toBe(1);
      expect(r.err).toContain("RUN_BAD_MAX_CYCLES");
    }
    for (const s of ["soon", "0.05", "4", "86401"]) {
      const r = await ctx.cli("run", "--interval", s);
      expect(r.code).toBe(1);
      expect(r.err).toContain("RUN_BAD_INTERVAL");
      expect(r.err).toContain("from 5 to 86400");
    }
  });

  it("backfill links existing pairs by CRM id and by customer name + postal code (--yes), then syncs", async () => {
    const crmId = ctx.fake.crm.createOpportunity(sampleDeal({ name: "Existing A" }), { optedIn: true });
    const byName = ctx.fake.crm.createOpportunity(
      sampleDeal({
        name: "Existing B",
        customer: {
          name: "Northwind Traders",
          address: { country: "US", postalCode: "98052", city: "Redmond" },
        } as never,
      }),
      { optedIn: true },
    );
    const r1 = ctx.ws.sandbox.partnerCenter.sendInboundReferral({ externalReferenceId: crmId } as never);
    const r2 = ctx.ws.sandbox.partnerCenter.sendInboundReferral({
      customerProfile: { name: "Northwind Traders Inc.", address: { postalCode: "98052", country: "US" } },
    } as never);
    const dry = await ctx.cli("backfill", "--dry-run", "--json");
    expect(dry.code).toBe(0);
    const candidates = dry.json().candidates as { crmId: string; referralId: string; basis: string }[];
    expect(candidates).toContainEqual(expect.objectContaining({ crmId, referralId: r1.id, basis: "crm id" }));
    expect(candidates).toContainEqual(
      expect.objectContaining({ crmId: byName, referralId: r2.id, basis: "customer name + postal code" }),
    );
    const res = await ctx.cli("backfill", "--yes", "--json");
    expect(res.code).toBe(0);
    expect(res.json().linked).toHaveLength(2);
    // Linked, not duplicated: no extra opportunity and no extra referral.
    expect(ctx.fake.crm.all()).toHaveLength(2);
    expect(ctx.ws.sandbox.partnerCenter.all()).toHaveLength(2);
  });

  it("backfill linking an existing opportunity follows the conflict policy (crm-wins) and shows who wins field by field", async () => {
    const crmId = ctx.fake.crm.createOpportunity(
      sampleDeal({ name: "Seller's own name", value: { amount: 88_000, currency: "USD" } }),
      { optedIn: true },
    );
    const r = ctx.ws.sandbox.partnerCenter.sendInboundReferral({ externalReferenceId: crmId } as never);
    const pcName = r.name;
    expect(pcName).not.toBe("Seller's own name");

    const dry = await ctx.cli("backfill", "--dry-run");
    expect(dry.code).toBe(0);
    expect(dry.out).toMatch(/name\s+Seller's own name\s+.*CRM wins/);
    expect(dry.out).toMatch(/value\s+88000 USD\s+.*CRM wins/);
    const dryJson = (await ctx.cli("backfill", "--dry-run", "--json")).json();
    expect(dryJson.candidates[0].fields).toContainEqual(
      expect.objectContaining({
        field: "name",
        crm: "Seller's own name",
        partnerCenter: pcName,
        winner: "crm",
      }),
    );
    // The dry run wrote nothing.
    expect(ctx.fake.crm.get(crmId)?.deal.name).toBe("Seller's own name");

    expect((await ctx.cli("backfill", "--yes")).code).toBe(0);
    const opp = ctx.fake.crm.get(crmId)!.deal;
    expect([opp.name, opp.value]).toEqual(["Seller's own name", { amount: 88_000, currency: "USD" }]);
    // The seller's values went to Partner Center (accepting it, as the opportunity is open).
    const referral = ctx.ws.sandbox.partnerCenter.get(r.id)!;
    expect(referral.name).toBe("Seller's own name");
    expect(referral.details?.dealValue).toBe(88_000);

    // Under partner-center-wins the same link takes Partner Center's values instead.
    const crm2 = ctx.fake.crm.createOpportunity(sampleDeal({ name: "Another seller name" }), {
      optedIn: true,
    });
    const r2 = ctx.ws.sandbox.partnerCenter.sendInboundReferral({ externalReferenceId: crm2 } as never);
    ctx.ws.write((c) => {
      c.sync = { conflictPolicy: "partner-center-wins" };
    });
    const dry2 = await ctx.cli("backfill", "--dry-run");
    expect(dry2.out).toMatch(/name\s+Another seller name\s+.*Partner Center wins/);
    expect((await ctx.cli("backfill", "--yes")).code).toBe(0);
    expect(ctx.fake.crm.get(crm2)!.deal.name).toBe(r2.name);
  });

  it("backfill on a terminal asks before linking by customer name + postal code", async () => {
    const a = ctx.fake.crm.createOpportunity(
      sampleDeal({
        name: "Asked A",
        customer: { name: "Litware", address: { country: "US", postalCode: "10001" } } as never,
      }),
      { optedIn: true },
    );
    ctx.ws.sandbox.partnerCenter.sendInboundReferral({
      customerProfile: { name: "Litware", address: { postalCode: "10001", country: "US" } },
    } as never);
    // Not on a terminal and no --yes: nothing is written (a sync now would create duplicates).
    const unattended = await ctx.cli("backfill");
    expect(unattended.code).toBe(1);
    expect(unattended.err).toContain("BACKFILL_APPROVAL_NEEDED");
    expect(ctx.fake.crm.all()).toHaveLength(1);
    expect(ctx.ws.sandbox.partnerCenter.all()).toHaveLength(1);
    // On a terminal, "n" means different deals: each side gets its own counterpart.
    const io = captureIo({ env: ctx.ws.env, cwd: ctx.ws.dir, answers: ["n"] });
    expect(await runCli(["backfill"], io)).toBe(0);
    expect(io.out()).toMatch(new RegExp(`no\\s+${a}`));
    expect(io.out()).toContain("1 candidate(s) declined");
    expect(ctx.fake.crm.all()).toHaveLength(2);
    expect(ctx.ws.sandbox.partnerCenter.all()).toHaveLength(2);
  });

  it("init writes a commented config for each CRM from flags, and refuses to overwrite", async () => {
    for (const crm of ["salesforce", "dynamics"]) {
      const file = `cosell-${crm}.yaml`;
      const r = await ctx.cli(
        "--config",
        file,
        "init",
        "--crm",
        crm,
        "--tenant-id",
        "t-1",
        "--client-id",
        "c-1",
      );
      expect(r.code).toBe(0);
      const text = (await import("node:fs")).readFileSync(join(ctx.ws.dir, file), "utf8");
      expect(text).toContain("# cosell config");
      const parsed = parse(text) as { crm: { kind: string }; partnerCenter: { auth: { kind: string } } };
      expect(parsed.crm.kind).toBe(crm);
      expect(parsed.partnerCenter.auth.kind).toBe("user");
      const again = await ctx.cli("--config", file, "init", "--crm", crm);
      expect(again.code).toBe(1);
      expect(again.err).toContain("CONFIG_EXISTS");
    }
  });

  it("init asks on a terminal", async () => {
    const io = captureIo({ env: ctx.ws.env, cwd: ctx.ws.dir, answers: ["dynamics", "tenant-x", "", "", ""] });
    expect(await runCli(["--config", "asked.yaml", "init"], io)).toBe(0);
    const text = (await import("node:fs")).readFileSync(join(ctx.ws.dir, "asked.yaml"), "utf8");
    expect(text).toContain("kind: dynamics");
    expect(text).toContain('"tenant-x"');
  });

  it("init takes the CRM in any case and asks again after an answer it does not know", async () => {
    const io = captureIo({
      env: ctx.ws.env,
      cwd: ctx.ws.dir,
      answers: ["hubspot", "Dynamics", "", "", "", ""],
    });
    expect(await runCli(["--config", "asked-again.yaml", "init"], io)).toBe(0);
    expect(io.err()).toContain('"hubspot" is not a CRM cosell knows: answer salesforce or dynamics.');
    const text = (await import("node:fs")).readFileSync(join(ctx.ws.dir, "asked-again.yaml"), "utf8");
    expect(text).toContain("kind: dynamics");
    const flag = await ctx.cli("--config", "upper.yaml", "init", "--crm", "SALESFORCE");
    expect(flag.code, flag.err).toBe(0);
    expect((await import("node:fs")).readFileSync(join(ctx.ws.dir, "upper.yaml"), "utf8")).toContain(
      "kind: salesforce",
    );
    const bad = await ctx.cli("--config", "bad.yaml", "init", "--crm", "hubspot");
    expect(bad.code).toBe(1);
    expect(bad.err).toContain("use salesforce or dynamics");
  });

  it("init without a terminal and without --crm says what it writes instead of choosing silently", async () => {
    const r = await ctx.cli("--config", "piped.yaml", "init");
    expect(r.code).toBe(0);
    expect(r.err).toContain("standard input is not a terminal");
    expect(r.err).toContain("--crm dynamics");
  });

  it("setup without its argument sets up the CRM the config names", async () => {
    const r = await ctx.cli("setup", "--json");
    expect(r.code, r.err).toBe(0);
    expect(r.json()).toMatchObject({ ok: true, crm: "dynamics" });
  });

  it("setup refuses a CRM that is not the config's", async () => {
    const r = await ctx.cli("setup", "salesforce");
    expect(r.code).toBe(1);
    expect(r.err).toContain("CONFIG_CRM_MISMATCH");
  });

  it("doctor names the failing credential with a one-line fix", async () => {
    ctx.ws.write((c) => {
      (c.partnerCenter as Record<string, unknown>).auth = { kind: "app", clientSecret: "env:PC_SECRET" };
    });
    ctx.ws.env.PC_SECRET = "wrong-secret-value";
    const r = await ctx.cli("doctor");
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/FAIL\s+Partner Center credential/);
    expect(r.out).toMatch(/fix Partner Center credential: /);
    expect(r.out).not.toContain("wrong-secret-value");
  });
});
