/**
 * Salesforce record ids: 15 case-sensitive alphanumeric characters, or 18 with the case-insensitive
 * checksum suffix; the first three are the object's key prefix, `006` for Opportunity (Salesforce's
 * "Standard Field Records" key prefixes). Anything else can never name an opportunity, and sent to
 * Salesforce in a query it fails the whole query ("invalid ID field").
 */
const RECORD_ID = /^[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?$/;

/** The key prefix of Opportunity ids. */
export const OPPORTUNITY_KEY_PREFIX = "006";

/** Why `id` cannot be an Opportunity id, or `undefined` when it can. */
export function opportunityIdProblem(id: string): string | undefined {
  if (!RECORD_ID.test(id))
    return "a Salesforce record id has 15 or 18 letters and digits (e.g. 0065g00000AbCdEAAV).";
  if (!id.startsWith(OPPORTUNITY_KEY_PREFIX))
    return `an Opportunity id starts with ${OPPORTUNITY_KEY_PREFIX}; ${id.slice(0, 3)} is another object's prefix.`;
  return undefined;
}

/** True when `id` is shaped like an Opportunity id. */
export const isOpportunityId = (id: string): boolean => opportunityIdProblem(id) === undefined;

/** True when `id` is shaped like any Salesforce record id (15 or 18 alphanumeric characters). */
export const isRecordId = (id: string): boolean => RECORD_ID.test(id);
