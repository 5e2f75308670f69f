import { describe, expect, it } from "vitest";
import { RecordMemo } from "../../src/index.js";

describe("RecordMemo", () => {
  it("forgets the oldest entry past its bound; setting again makes an entry the newest", () => {
    const m = new RecordMemo<number>(3);
    m.set("a", 1).set("b", 2).set("c", 3);
    m.set("a", 10); // a is now the newest: b is the oldest
    m.set("d", 4);
    expect([...m.keys()]).toEqual(["c", "a", "d"]);
    expect(m.get("a")).toBe(10);
    expect(m.has("b")).toBe(false);
    expect(m.size).toBe(3);
  });

  it("stays a Map (what the adapters' writers take) and refuses a bound that is not a positive whole number", () => {
    expect(new RecordMemo(1)).toBeInstanceOf(Map);
    expect(() => new RecordMemo(0)).toThrow(RangeError);
    expect(() => new RecordMemo(1.5)).toThrow(RangeError);
  });
});
