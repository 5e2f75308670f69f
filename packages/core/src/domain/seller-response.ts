import { z } from "zod";
import type { Direction, Stage } from "./deal.js";

/**
 * A seller's answer to a referral Microsoft (or another partner) sent, picked on the CRM record from
 * a list (Salesforce picklist, Dynamics choice) instead of moving the opportunity's stage by hand.
 * Both CRMs read it the same way through {@link stageWithResponse}, and show the answer Partner Center
 * holds through {@link responseForStage}.
 */
export const SellerResponseSchema = z.enum(["accept", "decline"]);
export type SellerResponse = z.infer<typeof SellerResponseSchema>;

/** What a seller reads for each response, in every CRM (the value stays the canonical one). */
export const SELLER_RESPONSE_LABELS: Readonly<Record<SellerResponse, string>> = {
  accept: "Accept referral",
  decline: "Decline referral",
};

/**
 * Why a deal was declined or lost, as a list a seller picks from. Partner Center's `statusReason` is
 * free text (partner-center-api.md: "free text, e.g. why it was lost or declined"), so the list is
 * ours: the label is what Partner Center receives, and `other` means the seller's own words.
 */
export const CloseReasonSchema = z.enum([
  "noCapacity",
  "notAFit",
  "customerUnreachable",
  "duplicate",
  "lostToCompetitor",
  "noBudgetOrTiming",
  "other",
]);
export type CloseReason = z.infer<typeof CloseReasonSchema>;

export const CLOSE_REASON_LABELS: Readonly<Record<CloseReason, string>> = {
  noCapacity: "No capacity to take it on",
  notAFit: "Not a fit for our solutions",
  customerUnreachable: "Customer could not be reached",
  duplicate: "Duplicate of another deal",
  lostToCompetitor: "Customer chose another vendor",
  noBudgetOrTiming: "No budget or wrong timing",
  other: "Other",
};

/** What a seller is told when a decline (or loss) has no reason. */
export const CLOSE_REASON_REQUIRED =
  "Pick a reason before declining the referral (or write it in the reason details when the reason is Other).";

/**
 * The reason text sent to Partner Center for a picked reason and its details: the label alone, the
 * label and the details (`label: details`), or, for `other`, the details alone. Undefined when
 * nothing is said (no reason, or `other` without details).
 */
export function closeReasonText(
  code: CloseReason | undefined,
  details: string | undefined,
): string | undefined {
  const said = details?.trim() || undefined;
  if (!code) return said;
  if (code === "other") return said;
  const label = CLOSE_REASON_LABELS[code];
  return said && said !== label ? `${label}: ${said}` : label;
}

/**
 * The inverse of {@link closeReasonText}: splits a reason text (from Partner Center, or written by
 * an earlier version) into the listed reason and the seller's details, so that writing it to the
 * CRM and reading it back gives the same text. A text that starts with no label is `other`.
 */
export function splitCloseReason(text: string | undefined): { code?: CloseReason; details?: string } {
  const t = text?.trim();
  if (!t) return {};
  for (const code of CloseReasonSchema.options) {
    if (code === "other") continue;
    const label = CLOSE_REASON_LABELS[code];
    if (t.toLowerCase() === label.toLowerCase()) return { code };
    if (t.toLowerCase().startsWith(`${label.toLowerCase()}: `))
      return { code, details: t.slice(label.length + 2).trim() || undefined };
  }
  return { code: "other", details: t };
}

/**
 * The lifecycle stage a CRM record stands for, once the seller's response is taken into account: a
 * received referral answered `accept` is accepted, `decline` declined. A response on a deal that is
 * already past `received` changes nothing (the stage field the seller moved says more).
 */
export function stageWithResponse(stage: Stage, response: SellerResponse | undefined): Stage {
  if (stage !== "received" || !response) return stage;
  return response === "accept" ? "accepted" : "declined";
}

/**
 * The response a record shows for the deal Partner Center holds: `accept` once an inbound referral
 * was accepted (also when it was later won or lost), `decline` once declined; nothing while it
 * waits, once it expired, or for an outbound deal (there is nothing to answer).
 */
export function responseForStage(stage: Stage, direction: Direction): SellerResponse | undefined {
  if (direction !== "inbound") return undefined;
  if (stage === "declined") return "decline";
  if (stage === "accepted" || stage === "won" || stage === "lost") return "accept";
  return undefined;
}
