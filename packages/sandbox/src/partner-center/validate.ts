import { type Referral, ReferralSchema } from "@cosell/core";
import { invalidRequest } from "./errors.js";

const isObject = (v: unknown): v is Record<string, unknown> =>
  !!v && typeof v === "object" && !Array.isArray(v);

/** The request body as an object, or a 400 saying what was expected. */
export function requireObject(body: unknown, what: string): Record<string, unknown> {
  if (!isObject(body))
    throw invalidRequest(
      `The request body must be a JSON object (${what}), not ${Array.isArray(body) ? "an array" : typeof body}.`,
    );
  return body;
}

/**
 * Checks a referral about to be stored: core's `ReferralSchema` (types and enums), then the few
 * values Partner Center insists on. Every refusal is a 400 that names the field.
 */
export function validateReferral(candidate: Record<string, unknown>): Referral {
  const parsed = ReferralSchema.safeParse(candidate);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue?.path.map(String).join(".") || "(body)";
    throw invalidRequest(`Field "${field}" is invalid: ${issue?.message ?? "unexpected value"}.`, {
      fields: [field],
    });
  }
  const r = parsed.data;
  if (!r.customerProfile?.name?.trim())
    throw invalidRequest('Field "customerProfile.name" is required: name the customer.', {
      fields: ["customerProfile.name"],
    });
  const value = r.details?.dealValue;
  if (value !== null && value !== undefined && (!Number.isFinite(value) || value < 0))
    throw invalidRequest(`Field "details.dealValue" must be a number ≥ 0 (got ${value}).`, {
      fields: ["details.dealValue"],
    });
  const currency = r.details?.currency;
  if (currency && !/^[A-Z]{3}$/.test(currency))
    throw invalidRequest(
      `Field "details.currency" must be an ISO 4217 code such as USD (got "${currency}").`,
      {
        fields: ["details.currency"],
      },
    );
  const closing = r.details?.closingDateTime;
  if (closing && Number.isNaN(Date.parse(closing)))
    throw invalidRequest(
      `Field "details.closingDateTime" must be an ISO 8601 date-time (got "${closing}").`,
      {
        fields: ["details.closingDateTime"],
      },
    );
  return r;
}
