/** Renders the bench report as a Markdown table (one column per CRM), ready to paste into a README. */

const int = (x) => (x === null || x === undefined ? "–" : Math.round(x).toLocaleString("en-US"));
const dec = (x, d = 2) => (x === null || x === undefined ? "–" : x.toFixed(d));
const secs = (ms) => (ms === null || ms === undefined ? "–" : `${(ms / 1000).toFixed(2)} s`);
const millis = (ms) => (ms === null || ms === undefined ? "–" : `${Math.round(ms)} ms`);
/** `total (reads r / writes w)`, plus the records those writes carried when known. */
const rw = (c) =>
  c
    ? `${int(c.total)} (${int(c.reads)} r / ${int(c.writes)} w${c.recordsWritten ? `, ${int(c.recordsWritten)} rec` : ""})`
    : "–";

/** Row label → value per measured target. */
function rows(report) {
  const o = report.options;
  const n = int(o.n);
  return [
    [`**Backfill of ${n} opted-in deals**: wall time`, (m) => secs(m.backfill.wallMs)],
    ["  Partner Center calls (reads / writes)", (m) => rw(m.backfill.partnerCenter)],
    ["  CRM calls (reads / writes)", (m) => rw(m.backfill.crm)],
    ["  token requests", (m) => int(m.backfill.auth.total)],
    ["  API calls per deal (PC + CRM)", (m) => dec(m.backfill.callsPerDeal)],
    ["  deals linked / record errors", (m) => `${int(m.backfill.linked)} / ${int(m.backfill.errors)}`],
    ["**Raw replay** of the same requests (no engine): wall time", (m) => secs(m.raw.wallMs)],
    // A replay whose answers differ from the recording did other work than the engine: no ratio.
    [
      "  engine / raw (engine overhead)",
      (m) =>
        m.raw.statusMismatches
          ? `not comparable (${int(m.raw.statusMismatches)} replayed answers differ)`
          : `${dec(m.raw.overhead)}×`,
    ],
    [
      "  replayed requests / status mismatches",
      (m) => `${int(m.raw.requests)} / ${int(m.raw.statusMismatches)}`,
    ],
    [
      "  CPU time: engine process / replay client",
      (m) => `${secs(m.backfill.engineCpuMs)} / ${secs(m.raw.clientCpuMs)}`,
    ],
    ["**No-op cycle** right after backfill: wall time", (m) => secs(m.noopImmediate.wallMs)],
    ["  Partner Center calls (r / w)", (m) => rw(m.noopImmediate.partnerCenter)],
    ["  CRM calls (r / w)", (m) => rw(m.noopImmediate.crm)],
    ["**No-op cycle** again, sandbox clock 3 min later: wall time", (m) => secs(m.noopSteady.wallMs)],
    ["  Partner Center calls (r / w)", (m) => rw(m.noopSteady.partnerCenter)],
    ["  CRM calls (r / w)", (m) => rw(m.noopSteady.crm)],
    ["**1% edited on each side**, one cycle: wall time", (m) => secs(m.edits.wallMs)],
    ["  changed deals (CRM + Partner Center)", (m) => int(m.edits.changedDeals)],
    ["  Partner Center calls (r / w)", (m) => rw(m.edits.partnerCenter)],
    ["  CRM calls (r / w)", (m) => rw(m.edits.crm)],
    ["  API calls per changed deal", (m) => dec(m.edits.callsPerChangedDeal)],
    [
      "  edits arrived (CRM→PC / PC→CRM)",
      (m) =>
        `${int(m.edits.arrived.crmToPartnerCenter)} / ${int(m.edits.arrived.partnerCenterToCrm)} of ${int(m.edits.arrived.each)}`,
    ],
    [
      `**Latency** CRM edit → referral updated (run loop every ${o.intervalMs} ms): p50`,
      (m) => millis(m.latency?.p50Ms),
    ],
    ["  p95", (m) => millis(m.latency?.p95Ms)],
    [
      "  edits measured / verified on the referral / timed out",
      (m) => `${int(m.latency?.edits)} / ${int(m.latency?.verified)} / ${int(m.latency?.timedOut)}`,
    ],
  ];
}

/** @param {number | undefined} mb */
const heapCap = (mb) => (mb ? `V8 heap cap ${mb} MB` : "V8's default heap");

function rssRows(report) {
  const n = int(report.options.rssN);
  const v = (fn) => (r) => (r ? fn(r) : "skipped");
  return [
    [
      `**Peak RSS**, backfill of ${n} deals (engine process, ${heapCap(report.options.rssHeapMb)})`,
      v((r) => (r.finished ? `${int(r.peakRssMb)} MB` : `did not finish: ${r.note}`)),
    ],
    ["  wall time", v((r) => secs(r.wallMs))],
    ["  CPU time of the engine process", v((r) => (r.finished ? secs(r.cpuMs) : "–"))],
    ["  deals linked / record errors", v((r) => (r.finished ? `${int(r.linked)} / ${int(r.errors)}` : "–"))],
  ];
}

export function renderTable(report, targets) {
  const keys = Object.keys(report.results);
  const header = ["Figure (median of runs)", ...keys.map((k) => targets[k].name)];
  const body = [];
  const cell = (res, fn, ctx) => {
    if (res.status !== "measured") return res.status;
    try {
      return fn(ctx === "rss" ? res.rss : res.median);
    } catch {
      return "–";
    }
  };
  for (const [label, fn] of rows(report)) body.push([label, ...keys.map((k) => cell(report.results[k], fn))]);
  for (const [label, fn] of rssRows(report))
    body.push([label, ...keys.map((k) => cell(report.results[k], fn, "rss"))]);
  const widths = header.map((_, i) => Math.max(...[header, ...body].map((r) => r[i].length)));
  const line = (r) => `| ${r.map((c, i) => c.padEnd(widths[i])).join(" | ")} |`;
  const m = report.machine;
  const o = report.options;
  // The non-default conditions a run was made under, so a pasted table says them.
  const conditions = [
    o.concurrency === undefined ? "" : ` — Partner Center concurrency ${o.concurrency}`,
    o.latencyMs ? ` — latency ${o.latencyMs} ms per answer` : "",
  ].join("");
  return [
    `cosell bench — ${report.startedAt} — ${m.node}, ${m.cpu}, ${m.memoryGb} GB, load ${m.loadAverage.start.toFixed(1)} → ${m.loadAverage.end.toFixed(1)} — runs: ${o.runs}${conditions}`,
    "",
    line(header),
    `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`,
    ...body.map(line),
    ...keys
      .filter((k) => report.results[k].reason)
      .map((k) => `\n${targets[k].name}: ${report.results[k].status} — ${report.results[k].reason}`),
  ].join("\n");
}
