import type { CycleSummary, Plan, PlanStep } from "@cosell/core";
import type { PairLabel } from "./pairs.js";
import { table } from "./table.js";

/** Steps that write something (a plan with any of these makes `cosell plan` exit 2). */
export function writesOf(plan: Plan): PlanStep[] {
  return plan.steps.filter((s) => s.kind === "create" || s.kind === "update" || s.kind === "transition");
}

function what(step: PlanStep): string {
  switch (step.kind) {
    case "create":
      return step.deal.name || "(unnamed deal)";
    case "update":
      return step.fields.join(", ");
    case "transition":
      return step.action;
    case "defer":
      return step.action ?? step.fields.join(", ");
    case "conflict":
      return step.fields.join(", ");
    case "invalid":
      return step.issues.map((i) => i.code).join(", ");
    case "skip":
      return "";
  }
}

const sideName = (s: PlanStep) => ("side" in s ? (s.side === "crm" ? "CRM" : "Partner Center") : "");

export function renderPlan(plan: Plan): string {
  if (plan.steps.length === 0) return "Nothing to do: both sides agree.";
  const rows = plan.steps.map((s) => [s.kind, sideName(s), s.pairKey, what(s), s.reason]);
  const n = writesOf(plan).length;
  return `${table(["step", "side", "pair", "what", "reason"], rows)}\n\n${n} write${n === 1 ? "" : "s"} planned.`;
}

/** A pair key as a person reads it: referral id, CRM id and name when known, else the key itself. */
function pairText(key: string, label?: (key: string) => PairLabel): string {
  if (!label) return key;
  const l = label(key);
  const ids = [l.referralId && `referral ${l.referralId}`, l.crmId && `crm ${l.crmId}`].filter(Boolean);
  return ids.length ? `${ids.join(", ")}${l.name ? ` (${l.name})` : ""}` : l.name || key;
}

export function renderSummary(s: CycleSummary, label?: (key: string) => PairLabel): string {
  const steps = Object.entries(s.steps)
    .map(([k, v]) => `${k} ${v}`)
    .join(", ");
  const calls = (c: { total: number; reads: number; writes: number }) =>
    `${c.total} (${c.reads} reads, ${c.writes} writes)`;
  const lines = [
    `Cycle ${s.cycleId.slice(0, 8)} (${s.mode}${s.dryRun ? ", dry run" : ""}) ${s.startedAt} → ${s.finishedAt}`,
    `  steps: ${steps || "none"}`,
    `  API calls: CRM ${calls(s.apiCalls.crm)}; Partner Center ${calls(s.apiCalls.partnerCenter)}`,
    `  echoes recognised: ${s.suppressedEchoes}`,
  ];
  if (s.errors.length)
    lines.push(
      `  errors (${s.errors.length}):`,
      ...s.errors.slice(0, 20).map((e) => `    ${pairText(e.key, label)}  ${e.code}  ${e.message}`),
    );
  return lines.join("\n");
}
