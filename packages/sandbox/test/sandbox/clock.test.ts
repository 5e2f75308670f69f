import { afterEach, describe, expect, it, vi } from "vitest";
import { SandboxClock } from "../../src/kit/clock.js";

afterEach(() => {
  vi.restoreAllMocks();
});

/** A wall clock that moves 1 ms every time it is read: the tick a slow machine puts between two calls. */
function tickingWall(from: number): void {
  let t = from;
  vi.spyOn(Date, "now").mockImplementation(() => t++);
}

describe("SandboxClock", () => {
  const start = new Date("2025-03-10T09:00:00.000Z");

  it("constructed frozen, stays exactly at its start while the wall clock ticks", () => {
    tickingWall(1_700_000_000_000);
    const clock = new SandboxClock(start, { frozen: true });
    expect(clock.now().toISOString()).toBe(start.toISOString());
    expect(clock.now().toISOString()).toBe(start.toISOString());
    expect(clock.advance(5000).toISOString()).toBe("2025-03-10T09:00:05.000Z");
  });

  it("unfrozen, moves with the wall clock from its start", () => {
    tickingWall(1_700_000_000_000);
    const clock = new SandboxClock(start);
    const a = clock.now().getTime();
    const b = clock.now().getTime();
    expect(b).toBeGreaterThan(a);
    expect(a - start.getTime()).toBeLessThan(5);
  });

  it("unfreeze resumes from the frozen instant, not from where the wall clock went meanwhile", () => {
    let t = 1_700_000_000_000;
    vi.spyOn(Date, "now").mockImplementation(() => t);
    const clock = new SandboxClock(start, { frozen: true });
    t += 60_000;
    clock.unfreeze();
    expect(clock.now().toISOString()).toBe(start.toISOString());
    t += 1000;
    expect(clock.now().toISOString()).toBe("2025-03-10T09:00:01.000Z");
  });
});
