import { createRequire } from "node:module";
import countries from "i18n-iso-countries";

// The English names are needed to read country names that CRMs store instead of codes.
countries.registerLocale(createRequire(import.meta.url)("i18n-iso-countries/langs/en.json"));

/**
 * ISO 4217 currency codes. Node's ICU data is the source, so the list moves with the runtime
 * instead of a table we would have to maintain.
 */
const CURRENCIES = new Set<string>(Intl.supportedValuesOf("currency"));

/** True for a current ISO 4217 alphabetic code such as `USD` (upper case only). */
export function isCurrencyCode(code: unknown): code is string {
  return typeof code === "string" && /^[A-Z]{3}$/.test(code) && CURRENCIES.has(code);
}

/** True for an assigned ISO 3166-1 alpha-2 code such as `US` (upper case only). */
export function isCountryCode(code: unknown): code is string {
  return typeof code === "string" && /^[A-Z]{2}$/.test(code) && countries.isValid(code);
}

/**
 * Turns what CRMs typically hold in a country field ("United States", "us", "USA", "US") into an
 * ISO 3166-1 alpha-2 code, or `undefined` when it cannot tell.
 */
export function toCountryCode(value: string | null | undefined): string | undefined {
  if (!value) return undefined;
  const v = value.trim();
  if (v.length === 2 && isCountryCode(v.toUpperCase())) return v.toUpperCase();
  if (v.length === 3) {
    const a2 = countries.alpha3ToAlpha2(v.toUpperCase());
    if (a2) return a2;
  }
  return countries.getAlpha2Code(v, "en") ?? undefined;
}

/** English name of an ISO 3166-1 alpha-2 code, for CRMs that store country names. */
export function countryName(code: string): string | undefined {
  return countries.getName(code, "en") ?? undefined;
}
