import type { CoSellError } from "../errors.js";
import type { InvitationRequest } from "../partner-center/engagement.js";
import type { NewReferral, Referral } from "../partner-center/referral.js";
import type { CallStats } from "./types.js";

/** How {@link PartnerCenterPort.createReferral} is called. */
export interface CreateReferralOptions {
  /** The CRM record the referral is for; stored as its externalReferenceId. */
  crmId: string;
  /**
   * The caller recorded this create's intent (a pending link) just now, and no earlier attempt for
   * this CRM record can exist: the look-up by externalReferenceId before the POST is skipped. Leave it
   * unset for an intent found unfinished (a crash may have lost the answer of a create that landed).
   * After a failure that may have landed (5xx, reset, timeout) or a 409 the look-up happens anyway.
   */
  firstAttempt?: boolean;
}

/**
 * What the engine needs from Partner Center. `createPartnerCenterClient` implements it; tests may
 * pass any object with the same shape.
 */
export interface PartnerCenterPort {
  /**
   * Referrals updated since `updatedSince` (all when omitted), oldest first, as pages. A listed
   * referral that fails validation but has a readable id is reported through `onInvalid` and left
   * out, so one bad referral does not stop the others.
   */
  listReferrals(filter: {
    updatedSince?: Date;
    /** Leave out this many of the first matching referrals (`$skip`; the first page only). */
    skip?: number;
    onInvalid?: (invalid: { id: string; error: CoSellError }) => void;
  }): AsyncIterable<Referral[]>;
  /** Throws `NotFoundError` when the referral does not exist. */
  getReferral(id: string): Promise<Referral>;
  /**
   * Idempotent: returns the referral already carrying `crmId` as externalReferenceId if there is one.
   * See {@link CreateReferralOptions.firstAttempt} for the one call it saves.
   */
  createReferral(body: NewReferral, options: CreateReferralOptions): Promise<Referral>;
  /**
   * Writes the paths where `referral` differs from `base` (the copy it was built from; read first when
   * omitted) with If-Match; throws `ConflictError` (412) carrying the current copy.
   */
  updateReferral(id: string, referral: Referral, eTag: string, base?: Referral): Promise<Referral>;
  /** Every referral of one engagement (`$filter=engagementId eq …`, the documented related-referrals link). */
  listRelatedReferrals(engagementId: string): Promise<Referral[]>;
  /**
   * Invites Microsoft onto `main`'s engagement: POSTs the connected referral targeting Microsoft
   * (see `engagement.ts`), or returns the one already there.
   */
  createInvitation(main: Referral, request: InvitationRequest): Promise<Referral>;
  /** Calls made so far. */
  stats(): CallStats;
}
