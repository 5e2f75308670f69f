import type { CoSellError } from "../errors.js";
import type { NewReferral, Referral } from "../partner-center/referral.js";
import type { CallStats } from "./types.js";

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
    onInvalid?: (invalid: { id: string; error: CoSellError }) => void;
  }): AsyncIterable<Referral[]>;
  /** Throws `NotFoundError` when the referral does not exist. */
  getReferral(id: string): Promise<Referral>;
  /** Idempotent: returns the referral already carrying `crmId` as externalReferenceId if there is one. */
  createReferral(body: NewReferral, options: { crmId: string }): Promise<Referral>;
  /** PUT with If-Match; throws `ConflictError` (412) carrying the current copy. */
  updateReferral(id: string, referral: Referral, eTag: string): Promise<Referral>;
  /** Calls made so far. */
  stats(): CallStats;
}
