/**
 * Dataverse's `address1_country` is free text: users type "United States" as often as "US". Partner
 * Center needs ISO 3166-1 alpha-2 (the Microsoft connector requires it too, dynamics.md §8), so names
 * are mapped here; two-letter values pass through. Admins add names with `crm.countryNames` in config.
 */
const NAMES: Record<string, string> = {
  "united states": "US",
  "united states of america": "US",
  usa: "US",
  "united kingdom": "GB",
  uk: "GB",
  "great britain": "GB",
  germany: "DE",
  deutschland: "DE",
  france: "FR",
  canada: "CA",
  mexico: "MX",
  brazil: "BR",
  spain: "ES",
  italy: "IT",
  netherlands: "NL",
  belgium: "BE",
  switzerland: "CH",
  austria: "AT",
  sweden: "SE",
  norway: "NO",
  denmark: "DK",
  finland: "FI",
  ireland: "IE",
  poland: "PL",
  portugal: "PT",
  japan: "JP",
  china: "CN",
  india: "IN",
  singapore: "SG",
  australia: "AU",
  "new zealand": "NZ",
  "south africa": "ZA",
  "united arab emirates": "AE",
  "south korea": "KR",
  korea: "KR",
};

/** ISO alpha-2 code of a country as typed in Dataverse, or undefined when unknown. */
export function countryCode(
  value: string | null | undefined,
  extra: Record<string, string> = {},
): string | undefined {
  if (!value) return undefined;
  const v = value.trim();
  if (/^[A-Za-z]{2}$/.test(v)) return v.toUpperCase();
  const key = v.toLowerCase();
  return extra[key] ?? extra[v] ?? NAMES[key];
}
