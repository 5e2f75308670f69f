/** Display names of the sandbox's servers, in the order they are printed. */
const LABELS: Record<string, string> = {
  entra: "Entra ID",
  partnerCenter: "Partner Center",
  salesforce: "Salesforce",
  dataverse: "Dataverse",
  graph: "Microsoft Graph",
  control: "Control API",
};

/** What {@link describeSandbox} reads of a running sandbox. */
export interface DescribableSandbox {
  urls: Record<string, string>;
  credentials: Record<string, unknown>;
  clock: { now(): Date };
}

/**
 * A human-readable summary of a running sandbox: every server's URL and every system's test
 * credentials. Private keys are never printed (they can be long and belong in the snapshot file);
 * their presence is noted instead.
 */
export function describeSandbox(
  sandbox: DescribableSandbox,
  options: { snapshotFile?: string } = {},
): string {
  const names = Object.keys(sandbox.urls).sort((a, b) => order(a) - order(b) || a.localeCompare(b));
  const width = Math.max(...names.map((n) => label(n).length)) + 2;
  const lines = [`cosell sandbox running (sandbox time ${sandbox.clock.now().toISOString()})`, ""];
  for (const name of names) {
    const hint = name === "control" ? "   (GET / lists the routes)" : "";
    lines.push(`  ${label(name).padEnd(width)}${sandbox.urls[name]}${hint}`);
  }
  for (const [system, creds] of Object.entries(sandbox.credentials)) {
    lines.push("", `${label(system)} test credentials (sandbox only, not real secrets):`);
    lines.push(...credentialLines(creds, "", options.snapshotFile));
  }
  if (options.snapshotFile) lines.push("", `State is saved to ${options.snapshotFile} on exit.`);
  return lines.join("\n");
}

function credentialLines(value: unknown, prefix: string, snapshotFile: string | undefined): string[] {
  if (!value || typeof value !== "object") return [];
  const out: string[] = [];
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    const name = prefix ? `${prefix}.${key}` : key;
    if (typeof v === "string" && v.includes("PRIVATE KEY"))
      out.push(`  ${name.padEnd(29)} (a PEM private key${snapshotFile ? `, kept in ${snapshotFile}` : ""})`);
    else if (typeof v === "string" || typeof v === "number" || typeof v === "boolean")
      out.push(`  ${name.padEnd(29)} ${String(v)}`);
    else if (v && typeof v === "object" && !Array.isArray(v))
      out.push(...credentialLines(v, name, snapshotFile));
  }
  return out;
}

function label(name: string): string {
  return LABELS[name] ?? name;
}

function order(name: string): number {
  const i = Object.keys(LABELS).indexOf(name);
  return i === -1 ? Object.keys(LABELS).length - 1 : i;
}
