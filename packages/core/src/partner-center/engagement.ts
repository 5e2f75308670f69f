import {
  type CoSellDeal,
  type HelpType,
  HelpTypeSchema,
  type MicrosoftAnswer,
  type MicrosoftTeamMember,
} from "../domain/deal.js";
import { type Member, MICROSOFT_ORGANIZATION_ID, type NewReferral, type Referral } from "./referral.js";

/**
 * Engagements: the referrals of one deal share an `engagementId`. Microsoft documents inviting it to
 * co-sell as a second, connected referral that the partner POSTs on the same engagement with
 * `target: [{type: "BusinessProfileLocation", id: "msft"}]`, carrying the help notes and
 * `inviteContext.assistanceRequestCode` ("Create a referral", section "Create a shared referral";
 * partner-center-api.md, Corrections). The partner's own referral stays the deal; Microsoft's answer
 * is read from the connected one (`links.relatedReferrals` = `…/referrals?$filter=engagementId eq '…'`).
 */

/** The documented target that addresses Microsoft. */
export const MICROSOFT_TARGET = { type: "BusinessProfileLocation", id: MICROSOFT_ORGANIZATION_ID } as const;

/** Whether `r` is a connected referral inviting Microsoft (not a deal of its own). */
export function isMicrosoftInvitation(r: Pick<Referral, "target">): boolean {
  return (r.target ?? []).some(
    (t) =>
      t?.type?.toLowerCase() === MICROSOFT_TARGET.type.toLowerCase() &&
      t.id?.toLowerCase() === MICROSOFT_TARGET.id,
  );
}

/**
 * Microsoft's answer read from the connected referral's status. Microsoft documents no table for this
 * referral, so the reading is the Referral status table's own meaning, and tolerant: still new or
 * pending → pending; active (accepted, engaged) or won → accepted; declined or lost → declined;
 * expired → expired. A pair that says nothing (Closed/None, Error) stays pending rather than invent
 * an answer. Listed in docs/partner-center.md under "To confirm on a real tenant".
 */
export function microsoftAnswerOf(r: Pick<Referral, "status" | "substatus">): MicrosoftAnswer {
  if (r.status === "Active") return "accepted";
  switch (r.substatus) {
    case "Accepted":
    case "Engaged":
    case "Won":
      return "accepted";
    case "Declined":
    case "Lost":
      return "declined";
    case "Expired":
      return "expired";
    default:
      return "pending";
  }
}

/** What the partner sends when inviting Microsoft: the help wanted and what kind. */
export interface InvitationRequest {
  notes: string;
  helpType?: HelpType;
}

/**
 * The body of the connected referral that invites Microsoft onto `main`'s engagement: the same deal
 * (name, customer, consent, details), `type: Shared`, Microsoft as the target, and the help asked.
 * No `externalReferenceId`: the CRM id belongs to the partner's own referral, so a look-up by it
 * keeps finding exactly one referral.
 */
export function invitationBody(main: Referral, request: InvitationRequest): NewReferral {
  const { notes, helpType } = request;
  return {
    name: main.name ?? null,
    engagementId: main.engagementId ?? null,
    type: "Shared",
    target: [{ ...MICROSOFT_TARGET }],
    customerProfile: main.customerProfile ?? null,
    consent: main.consent ?? null,
    details: main.details ?? null,
    team: main.team ?? null,
    inviteContext: { notes, ...(helpType ? { assistanceRequestCode: helpType } : {}) },
  };
}

/**
 * The partner's deal as Partner Center holds it across the engagement: `deal` read from the partner's
 * own referral, with the invitation read from the connected referral when one is at hand, else what
 * was last known of it (`known`, the deal last agreed on). The partner's referral alone never says
 * whether Microsoft was invited.
 */
export function withMicrosoftInvitation(
  deal: CoSellDeal,
  connected: Referral | undefined,
  known?: Pick<CoSellDeal, "microsoftAnswer" | "microsoftTeam">,
): CoSellDeal {
  const answer = connected ? microsoftAnswerOf(connected) : known?.microsoftAnswer;
  if (!answer) return deal;
  const invite = connected?.inviteContext ?? undefined;
  const helpType = deal.invitation.helpType ?? HelpTypeSchema.safeParse(invite?.assistanceRequestCode).data;
  const team = connected ? microsoftTeamOf(connected, deal) : known?.microsoftTeam;
  return {
    ...deal,
    invitation: {
      ...deal.invitation,
      microsoftHelpRequested: true,
      helpNotes: deal.invitation.helpNotes ?? invite?.notes ?? undefined,
      ...(helpType ? { helpType } : {}),
    },
    microsoftAnswer: answer,
    ...(team?.length ? { microsoftTeam: team } : {}),
  };
}

/**
 * Microsoft's people on the deal: the connected referral's `team` without the partner's own people
 * (the invitation is posted with the partner's team, see `invitationFor`). Microsoft documents no
 * field that names Microsoft's sellers on an engagement; this reading takes whoever Microsoft added
 * to the referral it answers, and is listed in docs/partner-center.md under "To confirm on a real
 * tenant". A member without an email cannot be told apart from the partner's people and is left out.
 */
export function microsoftTeamOf(connected: Referral, deal: Pick<CoSellDeal, "team">): MicrosoftTeamMember[] {
  const partners = new Set(deal.team.map((p) => p.email.trim().toLowerCase()));
  const out: MicrosoftTeamMember[] = [];
  for (const m of connected.team ?? []) {
    const email = m?.email?.trim() ?? "";
    if (!email || partners.has(email.toLowerCase())) continue;
    out.push(memberOf(m, email));
  }
  return out;
}

function memberOf(m: Member, email: string): MicrosoftTeamMember {
  const role = (m as Record<string, unknown>).role;
  return {
    firstName: m.firstName ?? "",
    lastName: m.lastName ?? "",
    email,
    phone: m.phoneNumber ?? "",
    ...(typeof role === "string" && role ? { role } : {}),
  };
}
