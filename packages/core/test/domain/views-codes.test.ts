import { describe, expect, it } from "vitest";
import {
  countryName,
  dealsInView,
  isCountryCode,
  isCurrencyCode,
  toCountryCode,
  toggleFavorite,
} from "../../src/index.js";
import { validDeal } from "./factory.js";

describe("views", () => {
  const a = validDeal({ id: "a", direction: "inbound", updatedAt: "2026-03-02T00:00:00.000Z" });
  const b = validDeal({
    id: "b",
    direction: "outbound",
    favorite: true,
    updatedAt: "2026-03-03T00:00:00.000Z",
  });
  const c = validDeal({
    id: "c",
    direction: "inbound",
    favorite: true,
    stage: "won",
    updatedAt: "2026-03-04T00:00:00.000Z",
  });

  it("inbound, outbound and favorites, newest first", () => {
    expect(dealsInView([a, b, c], "inbound").map((d) => d.id)).toEqual(["c", "a"]);
    expect(dealsInView([a, b, c], "outbound").map((d) => d.id)).toEqual(["b"]);
    expect(dealsInView([a, b, c], "favorites").map((d) => d.id)).toEqual(["c", "b"]);
  });

  it("toggles a favorite on and off, also on an archived deal", () => {
    expect(toggleFavorite(a).favorite).toBe(true);
    expect(toggleFavorite(toggleFavorite(a)).favorite).toBe(false);
    expect(toggleFavorite(c).favorite).toBe(false);
  });
});

describe("ISO codes", () => {
  it.each([
    ["USD", true],
    ["EUR", true],
    ["usd", false],
    ["XYZ", false],
    ["US", false],
  ])("currency %s → %s", (c, ok) => {
    expect(isCurrencyCode(c)).toBe(ok);
  });
  it.each([
    ["US", true],
    ["DE", true],
    ["us", false],
    ["USA", false],
    ["XX", false],
  ])("country %s → %s", (c, ok) => {
    expect(isCountryCode(c)).toBe(ok);
  });
  it.each([
    ["United States", "US"],
    ["United States of America", "US"],
    ["us", "US"],
    ["USA", "US"],
    ["Germany", "DE"],
    ["", undefined],
    ["Atlantis", undefined],
  ])("toCountryCode(%j) = %j", (input, code) => {
    expect(toCountryCode(input)).toBe(code);
  });
  it("names a code", () => {
    expect(countryName("GB")).toBe("United Kingdom");
  });
});
