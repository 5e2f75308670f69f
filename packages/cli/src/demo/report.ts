/** What the demo did with one CRM. */
export interface CrmDemoReport {
  crm: "salesforce" | "dynamics";
  title: string;
  /** False when the adapter package is not available in this build (then nothing else is set). */
  ran: boolean;
  /** The adapter was there but the run broke (the demo exits 1). */
  failed?: boolean;
  /** Why it did not run, or what went wrong. */
  note?: string;
  /** What `setup()` created in the sandbox CRM. */
  setupCreated: number;
  cycles: number;
  /** Deals by what happened to them. */
  deals: {
    /** Opportunities created in the CRM from inbound referrals. */
    createdInCrm: number;
    /** Referrals created in Partner Center from opted-in opportunities. */
    createdInPartnerCenter: number;
    accepted: number;
    won: number;
    lost: number;
    declined: number;
    expired: number;
    /** Co-sell invitations Microsoft engaged on. */
    engaged: number;
  };
  /** Linked deals whose CRM stage matches Partner Center at the end, out of all linked deals. */
  inStep: { agree: number; total: number };
  /** HTTP calls the sandbox answered, per side. */
  calls: { partnerCenter: number; crm: number; entraId: number; graph: number };
  /** Scripted steps that did not go as planned (the demo carries on). */
  warnings: string[];
  /** Record errors left after the last cycle. */
  recordErrors: number;
}

/** The whole demo. */
export interface DemoReport {
  ok: boolean;
  seconds: number;
  crms: CrmDemoReport[];
  /** With `--keep`: where the sandboxes listen and the credentials file. */
  kept?: {
    crm: string;
    urls: Record<string, string>;
    credentialsFile: string;
    configFile: string;
    waiting?: KeptWaitingReferral;
  }[];
  /** With `--keep`: how to run `cosell` from this checkout (the bin by its absolute path). */
  cosellCommand?: string;
}

/** The referral a kept sandbox leaves waiting for a seller's answer. */
export interface KeptWaitingReferral {
  referralId: string;
  name: string;
  /** The opportunity the sync created for it, when it did. */
  crmId?: string;
  /** A seller's edit of that opportunity through the control API. */
  sellerEdit?: { method: "PUT"; path: string; body: Record<string, unknown> };
}

const pad = (s: string | number, n: number) => String(s).padStart(n);

/**
 * Commands that work as printed against a kept sandbox: a seller's answer with `cosell`, and
 * Microsoft's side and the clock through the sandbox's control API (docs/cli.md, "Drive the sandbox
 * by hand").
 */
export function tryItLines(k: NonNullable<DemoReport["kept"]>[number], cosell: string): string[] {
  const c = `${cosell} --config ${k.configFile}`;
  const control = k.urls.control;
  const call = (method: string, path: string, body: string) =>
    `curl -s -X ${method} ${control}${path} -H 'content-type: application/json' -d '${body}'`;
  const out = [`Try it on ${k.crm} (docs/cli.md, "Drive the sandbox by hand"):`];
  if (k.waiting)
    out.push(
      `  # Microsoft's referral "${k.waiting.name}" is waiting for an answer${k.waiting.crmId ? ` (opportunity ${k.waiting.crmId})` : ""}:`,
      `  ${c} deals inbound`,
      `  ${c} accept ${k.waiting.referralId} --notes "We take it"`,
    );
  if (k.waiting?.sellerEdit)
    out.push(
      "  # A seller changes the amount in the CRM; the sync carries it to Partner Center:",
      `  ${call(k.waiting.sellerEdit.method, k.waiting.sellerEdit.path, JSON.stringify(k.waiting.sellerEdit.body))}`,
      `  ${c} sync`,
      `  curl -s ${control}/partner-center/referrals/${k.waiting.referralId}`,
    );
  out.push(
    "  # Microsoft sends another referral; a sync brings it into the CRM:",
    `  ${call("POST", "/microsoft/referrals", '{"name":"Contoso expansion"}')}`,
    `  ${c} sync`,
  );
  return out;
}

/** One screen a person can read. */
export function renderDemo(r: DemoReport): string {
  const ran = r.crms.filter((c) => c.ran);
  const out: string[] = [];
  out.push("cosell demo — Partner Center co-sell ⇄ CRM, on the built-in sandbox (no accounts needed)");
  out.push("");
  if (ran.length) {
    const cols = ran.map((c) => c.title);
    const w = Math.max(14, ...cols.map((c) => c.length + 2));
    const row = (label: string, f: (c: CrmDemoReport) => string | number) =>
      `  ${label.padEnd(40)}${ran.map((c) => pad(f(c), w)).join("")}`;
    out.push(`  ${"".padEnd(40)}${cols.map((c) => pad(c, w)).join("")}`);
    out.push(row("CRM setup: fields/keys created", (c) => c.setupCreated));
    out.push(row("sync cycles", (c) => c.cycles));
    out.push(row("opportunities created from referrals", (c) => c.deals.createdInCrm));
    out.push(row("referrals created from opportunities", (c) => c.deals.createdInPartnerCenter));
    out.push(row("Microsoft engaged on invitations", (c) => c.deals.engaged));
    out.push(row("deals accepted (still open)", (c) => c.deals.accepted));
    out.push(row("deals won", (c) => c.deals.won));
    out.push(row("deals lost", (c) => c.deals.lost));
    out.push(row("deals declined by the seller", (c) => c.deals.declined));
    out.push(row("deals expired (no answer in 14 days)", (c) => c.deals.expired));
    out.push(row("CRM stage = Partner Center stage", (c) => `${c.inStep.agree}/${c.inStep.total}`));
    out.push(row("records with sync errors", (c) => c.recordErrors));
    out.push(row("API calls to Partner Center", (c) => c.calls.partnerCenter));
    out.push(row("API calls to the CRM", (c) => c.calls.crm + c.calls.graph));
    out.push(row("token requests to Entra ID", (c) => c.calls.entraId));
  }
  for (const c of r.crms.filter((x) => !x.ran))
    out.push("", `  ${c.title}: NOT RUN — ${c.note ?? "adapter not available"}`);
  for (const c of ran) for (const w of c.warnings) out.push(`  ${c.title}: warning: ${w}`);
  out.push("");
  out.push(
    "Script: Microsoft sent 5 referrals; sellers accepted 3 (then won 1, lost 1), declined 1, left 1 unanswered;",
  );
  out.push(
    "sellers opted 3 opportunities in and invited Microsoft on 2 (Microsoft engaged on 1, declined 1);",
  );
  out.push(
    "the clock moved 15 days, so the unanswered referral expired. Every change went through the sync.",
  );
  out.push("");
  out.push(`${r.ok ? "Done" : "FAILED"} in ${r.seconds.toFixed(1)} s.`);
  if (r.kept?.length) {
    out.push("", "Sandbox left running (--keep); Ctrl-C stops it.");
    for (const k of r.kept) {
      out.push(
        `  ${k.crm}: ${Object.entries(k.urls)
          .map(([n, u]) => `${n} ${u}`)
          .join(", ")}`,
      );
      out.push(`  ${k.crm} credentials: ${k.credentialsFile}`);
      out.push(`  ${k.crm} config: ${k.configFile}`);
    }
    const first = r.kept[0];
    if (first) out.push("", ...tryItLines(first, r.cosellCommand ?? "cosell"));
  }
  return out.join("\n");
}
