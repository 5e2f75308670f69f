import type { Registration } from "@cosell/core";
import { describe, expect, it } from "vitest";
import { parseRegistrations, registrationsText } from "../src/registrations.js";

const back = (text: string | null) => {
  const bad: string[] = [];
  return { regs: parseRegistrations(text ?? undefined, (l) => bad.push(l)), bad };
};

describe("registrations column text", () => {
  it("one readable line per registration, in Microsoft's member order", () => {
    expect(
      registrationsText(
        [
          { registrationId: "r-1", status: "Approved" },
          { registrationId: "r-2", status: "ReviewPending" },
        ],
        10000,
      ),
    ).toBe("registrationId: r-1 · status: Approved\nregistrationId: r-2 · status: ReviewPending");
    expect(registrationsText([], 10000)).toBeNull();
    expect(registrationsText(undefined, 10000)).toBeNull();
  });

  it("reads back exactly what was written, whatever the values hold", () => {
    const awkward: Registration[] = [
      {
        id: "100",
        number: 100,
        flag: false,
        none: null,
        empty: "",
        spaced: " padded ",
        quoted: '"already quoted"',
        dots: "a · b",
        colon: "key: value",
        lines: "one\ntwo",
        nested: { program: "IP co-sell · Azure", tiers: [1, 2] },
        word: "true",
      },
      { "not a plain key": 1, other: "x" },
      {},
      { status: "{looks like json" },
    ];
    const text = registrationsText(awkward, 10000)!;
    expect(text.split("\n")).toHaveLength(awkward.length);
    const { regs, bad } = back(text);
    expect(bad).toEqual([]);
    expect(regs).toEqual(awkward);
  });

  it("too many for the column: whole lines are kept and the rest counted; the count line is not a registration", () => {
    const many = Array.from({ length: 50 }, (_, i) => ({ registrationId: `reg-${i}`, status: "Approved" }));
    const text = registrationsText(many, 300)!;
    expect(text.length).toBeLessThanOrEqual(300);
    const lines = text.split("\n");
    expect(lines.at(-1)).toMatch(/^… \d+ more in Partner Center$/);
    const kept = lines.length - 1;
    expect(Number(/\d+/.exec(lines.at(-1)!)![0])).toBe(50 - kept);
    const { regs, bad } = back(text);
    expect(bad).toEqual([]);
    expect(regs).toEqual(many.slice(0, kept));
  });

  it("a line edited into something else is reported and left out; the others still read", () => {
    const { regs, bad } = back("registrationId: r-1 · status: Approved\nno separator here\n{broken json");
    expect(regs).toEqual([{ registrationId: "r-1", status: "Approved" }]);
    expect(bad).toEqual(["no separator here", "{broken json"]);
    expect(back("").regs).toBeUndefined();
  });
});
