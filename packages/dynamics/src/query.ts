/** Small OData query helpers shared by the adapter's reads and writes. */

/** Account columns the customer mapping reads. */
export const ACCOUNT_SELECT =
  "accountid,name,address1_line1,address1_line2,address1_city,address1_stateorprovince,address1_postalcode,address1_country";
/** Contact columns the customer contact mapping reads. */
export const CONTACT_SELECT = "contactid,firstname,lastname,emailaddress1,telephone1,mobilephone";
/** User columns a team member is built from (and what tells application users apart). */
export const USER_SELECT =
  "systemuserid,firstname,lastname,internalemailaddress,address1_telephone1,mobilephone,azureactivedirectoryobjectid,applicationid,accessmode";
/** Ids per `$filter=… eq … or …` (keeps URLs short enough for any proxy). */
export const IDS_PER_QUERY = 40;

/** An OData string literal (single quotes doubled). */
export const quote = (s: string) => `'${s.replace(/'/g, "''")}'`;
/** `col eq a or col eq b …` (Dataverse has no `in` for every column type). */
export const orEq = (column: string, values: readonly string[], literal = (v: string) => v) =>
  values.map((v) => `${column} eq ${literal(v)}`).join(" or ");
/** Splits a list into slices of at most `size`. */
export const chunks = <T>(list: readonly T[], size: number): T[][] => {
  const out: T[][] = [];
  for (let i = 0; i < list.length; i += size) out.push(list.slice(i, i + size));
  return out;
};
/** Encodes a query option value for the URL. */
export const q = (s: string) => encodeURIComponent(s);
