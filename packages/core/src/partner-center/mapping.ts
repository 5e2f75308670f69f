import { isDeepStrictEqual } from "node:util";
import {
  type CoSellDeal,
  type Direction,
  type HelpType,
  HelpTypeSchema,
  type Person,
  type Registration,
  type SalesStage,
  type Solution,
  type SolutionKind,
} from "../domain/deal.js";
import { type Member, MICROSOFT_ORGANIZATION_ID, type Referral, type SolutionTag } from "./referral.js";
import { STAGE_STATUS, stageFromStatus } from "./status.js";

/**
 * Referral ⇄ CoSellDeal. Lossless by construction: `dealToReferral(deal, base)` starts from the
 * referral it came from and rewrites only the groups of fields whose canonical value changed, so
 * unknown fields, odd spellings ("" vs absent) and Microsoft's own extras go back untouched.
 */

const SOLUTION_KIND_BY_TYPE: Record<string, SolutionKind> = { Category: "microsoft", Name: "own" };
const SOLUTION_TYPE_BY_KIND: Record<SolutionKind, string> = {
  microsoft: "Category",
  own: "Name",
  thirdParty: "None",
};

/**
 * `salesStage` as real answers spell it (Qualify/Develop/Propose/Close). Anything else, including
 * the numeric strings some answers carry ("100"), is no sales stage: the deal shows none, and the
 * referral keeps what it had unless the seller sets one.
 */
const SALES_STAGE_BY_WIRE: Readonly<Record<string, SalesStage>> = {
  qualify: "qualify",
  develop: "develop",
  propose: "propose",
  close: "close",
};
const SALES_STAGE_WIRE: Readonly<Record<SalesStage, string>> = {
  qualify: "Qualify",
  develop: "Develop",
  propose: "Propose",
  close: "Close",
};

function salesStageOf(v: unknown): SalesStage | undefined {
  return typeof v === "string" ? SALES_STAGE_BY_WIRE[v.trim().toLowerCase()] : undefined;
}

/** `inviteContext.assistanceRequestCode`, when it is one of the documented values. */
function helpTypeOf(v: unknown): HelpType | undefined {
  const r = HelpTypeSchema.safeParse(v);
  return r.success ? r.data : undefined;
}

/** `registrations[]` as sent (entries that are not objects are not registrations and are left out). */
function registrationsOf(v: unknown): Registration[] | undefined {
  if (!Array.isArray(v)) return undefined;
  return v.filter((x): x is Registration => !!x && typeof x === "object" && !Array.isArray(x));
}

const str = (v: string | null | undefined): string => v ?? "";
const opt = (v: string | null | undefined): string | undefined =>
  v === null || v === undefined || v === "" ? undefined : v;

function toPerson(m: Member): Person {
  return {
    firstName: str(m.firstName),
    lastName: str(m.lastName),
    email: str(m.email),
    phone: str(m.phoneNumber),
  };
}

function toMember(p: Person, base?: Member): Member {
  return { ...base, firstName: p.firstName, lastName: p.lastName, phoneNumber: p.phone, email: p.email };
}

/** The customer contact as a member, rewriting only the sub-fields that changed. */
function toContact(p: Person, was: Person | undefined, base: Member | undefined): Member {
  if (!was || !base) return toMember(p, base);
  const m: Member = { ...base };
  if (was.firstName !== p.firstName) m.firstName = p.firstName;
  if (was.lastName !== p.lastName) m.lastName = p.lastName;
  if (was.email !== p.email) m.email = p.email;
  if (was.phone !== p.phone) m.phoneNumber = p.phone;
  return m;
}

/** Merges people into members, keeping each matched member's extra fields (contactPreference…). */
function toMembers(people: Person[], base: readonly Member[] | null | undefined): Member[] {
  return people.map((p, i) => {
    const match = base?.find((m) => m.email && m.email.toLowerCase() === p.email.toLowerCase()) ?? base?.[i];
    return toMember(p, match);
  });
}

type Writable = Record<string, unknown>;
const obj = (v: unknown): Writable =>
  v && typeof v === "object" && !Array.isArray(v) ? { ...(v as Writable) } : {};

function isoOr(value: string | null | undefined, fallback: string): string {
  return value && !Number.isNaN(Date.parse(value)) ? value : fallback;
}

/** Which way the referral travels, from the partner's point of view. */
export function referralDirection(r: Referral): Direction {
  if (r.direction) return r.direction === "Incoming" ? "inbound" : "outbound";
  if (r.substatus === "Received") return "inbound";
  const inviter = r.inviteContext?.invitedBy?.organizationId;
  return inviter === MICROSOFT_ORGANIZATION_ID ? "inbound" : "outbound";
}

/**
 * The DUNS number in `customerProfile.ids`. Microsoft's connector contract defines `ids` as an array
 * of `{profileType: "Duns" | "External", id}`; the API reference's table shows `{duns, external}`.
 * Both are read.
 */
function dunsOf(ids: unknown): string | undefined {
  if (Array.isArray(ids)) {
    const hit = ids.find(
      (x): x is { id: unknown } =>
        !!x && typeof x === "object" && String((x as Writable).profileType).toLowerCase() === "duns",
    );
    return typeof hit?.id === "string" && hit.id !== "" ? hit.id : undefined;
  }
  if (!ids || typeof ids !== "object") return undefined;
  const rec = ids as Record<string, unknown>;
  const v = rec.duns ?? rec.Duns;
  return typeof v === "string" && v !== "" ? v : undefined;
}

/** `ids` with the DUNS number set (or removed), in the shape `ids` already has (array by default). */
function withDuns(ids: unknown, duns: string | undefined): unknown {
  if (ids && typeof ids === "object" && !Array.isArray(ids)) {
    const rec = { ...(ids as Writable) };
    const key = "Duns" in rec && !("duns" in rec) ? "Duns" : "duns";
    if (duns) rec[key] = duns;
    else delete rec[key];
    return rec;
  }
  const others = (Array.isArray(ids) ? ids : []).filter(
    (x) => !(x && typeof x === "object" && String((x as Writable).profileType).toLowerCase() === "duns"),
  );
  return duns ? [...others, { profileType: "Duns", id: duns }] : others;
}

/**
 * Maps a Partner Center referral into the canonical deal. Partner Center's own facts (respond-by,
 * Microsoft's opportunity id, registration, who sent it) are read here and never written back.
 */
export function referralToDeal(r: Referral, opts: { now?: Date } = {}): CoSellDeal {
  const now = (opts.now ?? new Date()).toISOString();
  const direction = referralDirection(r);
  const stage = stageFromStatus(r.status, r.substatus, direction);
  const d = r.details ?? undefined;
  const cp = r.customerProfile ?? undefined;
  const contact = cp?.team?.[0];
  const closeDate =
    d?.closingDateTime && /^\d{4}-\d{2}-\d{2}/.test(d.closingDateTime)
      ? d.closingDateTime.slice(0, 10)
      : undefined;
  const invite = r.inviteContext ?? undefined;
  const consent = r.consent ?? undefined;
  // Deal kind is whether the deal is shared with Microsoft's sellers; a referral without that flag
  // (older answers, Microsoft's sparse ones) is read from its type as before.
  const sharedWithSellers = consent?.consentToShareReferralWithMicrosoftSellers;
  const deal: CoSellDeal = {
    id: r.id,
    engagementId: opt(r.engagementId),
    direction,
    kind:
      typeof sharedWithSellers === "boolean"
        ? sharedWithSellers
          ? "coSell"
          : "privatePipeline"
        : r.type === "Independent"
          ? "privatePipeline"
          : r.type === "Shared" || direction === "inbound"
            ? "coSell"
            : "privatePipeline",
    name: str(r.name),
    value:
      d?.dealValue === null || d?.dealValue === undefined
        ? undefined
        : { amount: d.dealValue, currency: str(d.currency) },
    closeDate,
    crmId: opt(r.externalReferenceId),
    campaignId: opt(r.campaignId) ?? opt(d?.campaignId),
    notes: opt(d?.notes),
    customer: {
      name: str(cp?.name),
      address: {
        street: opt(cp?.address?.addressLine1),
        street2: opt(cp?.address?.addressLine2),
        city: opt(cp?.address?.city),
        state: opt(cp?.address?.state),
        postalCode: opt(cp?.address?.postalCode),
        country: str(cp?.address?.country),
      },
      duns: dunsOf(cp?.ids),
      contact: contact ? toPerson(contact) : undefined,
    },
    // Three separate flags, never read one for another (partner-center-api.md, Corrections).
    consentToShareContact: consent?.consentToToShareInfoWithOthers ?? false,
    consentToContact: consent?.consentToContact ?? undefined,
    team: (r.team ?? []).map(toPerson),
    solutions: (d?.requirements?.solutions ?? []).map(
      (s: SolutionTag): Solution => ({
        id: s.id,
        name: s.name ?? s.id,
        kind: SOLUTION_KIND_BY_TYPE[s.type ?? ""] ?? "thirdParty",
      }),
    ),
    invitation: {
      // The partner's own referral never says whether Microsoft was invited: a co-sell deal is Shared
      // from the start. The connected referral says it (see `withMicrosoftInvitation`).
      microsoftHelpRequested: false,
      helpNotes: opt(invite?.notes),
      helpType: helpTypeOf(invite?.assistanceRequestCode),
    },
    stage,
    closeReason: stage === "declined" || stage === "lost" ? opt(r.statusReason) : undefined,
    favorite: r.favorite ?? false,
    salesStage: salesStageOf(r.salesStage),
    microsoftOpportunityId: opt(r.trackingInfo?.microsoftMsxId),
    registrationStatus: opt(r.registrationStatus),
    registrations: registrationsOf(r.registrations),
    sentBy: opt(invite?.invitedBy?.organizationName),
    createdAt: isoOr(r.createdDateTime, now),
    updatedAt: isoOr(r.updatedDateTime, now),
    expiresAt: stage === "received" ? opt(r.expirationDateTime) : undefined,
    version: opt(r.eTag),
  };
  return deal;
}

/**
 * Maps a canonical deal onto a referral. With `base` (the referral last read from Partner Center) the
 * result is `base` with only the changed groups rewritten; without it, a fresh referral body for a create.
 */
export function dealToReferral(deal: CoSellDeal, base?: Referral): Referral {
  const before = base ? referralToDeal(base) : undefined;
  const changed = <K extends keyof CoSellDeal>(...keys: K[]) =>
    !before || keys.some((k) => !isDeepStrictEqual(before[k], deal[k]));
  const r: Writable = base ? structuredClone(base) : {};
  const details = obj(r.details);
  const customerProfile = obj(r.customerProfile);
  const consent = obj(r.consent);
  const inviteContext = obj(r.inviteContext);

  if (deal.id) r.id = deal.id;
  if (deal.engagementId) r.engagementId = deal.engagementId;
  if (deal.version) r.eTag = deal.version;
  if (changed("name")) r.name = deal.name;
  if (changed("crmId")) r.externalReferenceId = deal.crmId ?? null;
  if (changed("kind")) {
    r.type = deal.kind === "coSell" ? "Shared" : "Independent";
    consent.consentToShareReferralWithMicrosoftSellers = deal.kind === "coSell";
    // A co-sell deal is a Shared referral whose targets are its solutions' profiles ("Create a shared
    // referral"); targets Partner Center already holds are left as they are.
    if (deal.kind === "coSell" && !base?.target?.length && deal.solutions.length)
      r.target = deal.solutions.map((s) => ({ type: "SolutionProfile", id: s.id }));
  }
  if (changed("value")) {
    details.dealValue = deal.value?.amount ?? null;
    details.currency = deal.value?.currency ?? null;
  }
  if (changed("closeDate")) details.closingDateTime = deal.closeDate ? `${deal.closeDate}T00:00:00Z` : null;
  if (changed("campaignId")) {
    // Top-level `campaignId` per Microsoft's connector contract; a base that carries it in `details`
    // keeps it there.
    if (base?.details && "campaignId" in base.details && !(base && "campaignId" in base))
      details.campaignId = deal.campaignId ?? null;
    else r.campaignId = deal.campaignId ?? null;
  }
  if (changed("notes")) details.notes = deal.notes ?? null;
  if (changed("solutions")) {
    const requirements = obj(details.requirements);
    const baseTags = (base?.details?.requirements?.solutions ?? []) as SolutionTag[];
    requirements.solutions = deal.solutions.map((s) => {
      const match = baseTags.find((t) => t.id === s.id);
      const sameKind = match && (SOLUTION_KIND_BY_TYPE[match.type ?? ""] ?? "thirdParty") === s.kind;
      return {
        ...match,
        id: s.id,
        name: s.name,
        type: sameKind ? match.type : SOLUTION_TYPE_BY_KIND[s.kind],
      };
    });
    details.requirements = requirements;
  }
  if (changed("customer")) {
    // Sub-field by sub-field, so an untouched neighbour keeps its exact spelling ("" vs null vs absent).
    const c = deal.customer;
    const was = before?.customer;
    if (!was || was.name !== c.name) customerProfile.name = c.name;
    const address = obj(customerProfile.address);
    const wire: [keyof typeof c.address, string, string | null][] = [
      ["street", "addressLine1", c.address.street ?? null],
      ["street2", "addressLine2", c.address.street2 ?? null],
      ["city", "city", c.address.city ?? null],
      ["state", "state", c.address.state ?? null],
      ["postalCode", "postalCode", c.address.postalCode ?? null],
      ["country", "country", c.address.country],
    ];
    let addressChanged = false;
    for (const [key, wireKey, value] of wire) {
      if (was && was.address[key] === c.address[key]) continue;
      address[wireKey] = value;
      addressChanged = true;
    }
    if (addressChanged) customerProfile.address = address;
    if (was?.duns !== c.duns) customerProfile.ids = withDuns(customerProfile.ids, c.duns);
    if (!isDeepStrictEqual(was?.contact, c.contact)) {
      const baseTeam = (base?.customerProfile?.team ?? []) as Member[];
      const others = baseTeam.slice(1);
      customerProfile.team = c.contact
        ? [toContact(c.contact, was?.contact, baseTeam[0]), ...others]
        : others;
    }
  }
  if (changed("consentToShareContact")) consent.consentToToShareInfoWithOthers = deal.consentToShareContact;
  // Absent reads as "no consent": a new referral only carries the flag when the deal says something.
  if (
    base
      ? (before?.consentToContact ?? false) !== (deal.consentToContact ?? false)
      : deal.consentToContact !== undefined
  )
    consent.consentToContact = deal.consentToContact ?? false;
  if (base ? before?.favorite !== deal.favorite : deal.favorite) r.favorite = deal.favorite;
  // An unknown spelling ("100") reads as no sales stage: it is only replaced when the seller sets one
  // (or clears a stage Partner Center had).
  if (base ? before?.salesStage !== deal.salesStage : deal.salesStage !== undefined)
    r.salesStage = deal.salesStage ? SALES_STAGE_WIRE[deal.salesStage] : null;
  if (changed("team")) r.team = toMembers(deal.team, base?.team);
  if (changed("invitation")) {
    const was = before?.invitation;
    const now = deal.invitation;
    // Microsoft is invited on a Shared referral: a deal whose type was not Shared yet gets it with the
    // request (the invitation itself is the connected referral, see `engagement.ts`).
    if (now.microsoftHelpRequested && !was?.microsoftHelpRequested) r.type = "Shared";
    if (!was || was.helpNotes !== now.helpNotes) inviteContext.notes = now.helpNotes ?? null;
    if (was ? was.helpType !== now.helpType : now.helpType !== undefined)
      inviteContext.assistanceRequestCode = now.helpType ?? null;
  }
  if (changed("stage", "closeReason")) {
    const wire = STAGE_STATUS[deal.stage];
    const sameStage = before?.stage === deal.stage;
    // A stage the base already spells differently (Pending, Engaged) stays spelled its way.
    if (!sameStage) {
      r.status = wire.status;
      r.substatus = wire.substatus;
    }
    if (deal.closeReason !== undefined || before?.closeReason !== undefined)
      r.statusReason = deal.closeReason ?? null;
  }

  // A group Partner Center sent as null (or left out) stays so unless something was written into it:
  // turning null into {} would be a change nobody made.
  const had = (v: unknown) => v !== undefined && v !== null;
  if (Object.keys(details).length || had(r.details)) r.details = details;
  if (Object.keys(customerProfile).length || had(r.customerProfile)) r.customerProfile = customerProfile;
  if (Object.keys(consent).length || had(r.consent)) r.consent = consent;
  if (Object.keys(inviteContext).length || had(r.inviteContext)) r.inviteContext = inviteContext;
  return r as Referral;
}
