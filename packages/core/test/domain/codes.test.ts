import countries from "i18n-iso-countries";
import { describe, expect, it } from "vitest";
import { countryName, isCountryCode, isCurrencyCode, toCountryCode } from "../../src/index.js";

describe("isCurrencyCode (ISO 4217, upper case)", () => {
  it.each<[unknown, boolean]>([
    ["USD", true],
    ["EUR", true],
    ["JPY", true],
    ["usd", false],
    ["XYZ", false],
    ["US", false],
    ["USDX", false],
    ["", false],
    [840, false],
    [undefined, false],
  ])("%j → %s", (code, ok) => {
    expect(isCurrencyCode(code)).toBe(ok);
  });
});

describe("isCountryCode (ISO 3166-1 alpha-2, upper case)", () => {
  it.each<[unknown, boolean]>([
    ["US", true],
    ["DE", true],
    ["GB", true],
    ["USA", false],
    ["us", false],
    ["XX", false],
    ["UK", false],
    ["", false],
    [null, false],
  ])("%j → %s", (code, ok) => {
    expect(isCountryCode(code)).toBe(ok);
  });
});

describe("toCountryCode (what CRMs store → alpha-2)", () => {
  it.each<[string | null | undefined, string | undefined]>([
    ["US", "US"],
    ["United States", "US"],
    ["United States of America", "US"],
    ["us", "US"],
    ["USA", "US"],
    ["usa", "US"],
    ["  de  ", "DE"],
    ["deu", "DE"],
    ["Germany", "DE"],
    ["United Kingdom", "GB"],
    ["UK", "GB"], // not an ISO code, but a name the English list knows
    ["Côte d'Ivoire", "CI"],
    ["Cote d'Ivoire", "CI"],
    // Only English names are registered, so names in other languages are not recognised.
    ["Deutschland", undefined],
    ["Atlantis", undefined],
    ["XX", undefined],
    ["", undefined],
    ["   ", undefined],
    [null, undefined],
    [undefined, undefined],
  ])("%j → %j", (value, code) => {
    expect(toCountryCode(value)).toBe(code);
  });

  it("every assigned code survives code → English name → code", () => {
    const lost = Object.keys(countries.getAlpha2Codes()).filter((c) => toCountryCode(countryName(c)) !== c);
    expect(lost).toEqual([]);
  });
});

describe("countryName", () => {
  it.each<[string, string | undefined]>([
    ["US", "United States of America"],
    ["DE", "Germany"],
    ["GB", "United Kingdom"],
    ["us", "United States of America"],
    ["XX", undefined],
  ])("%s → %j", (code, name) => {
    expect(countryName(code)).toBe(name);
  });
});
