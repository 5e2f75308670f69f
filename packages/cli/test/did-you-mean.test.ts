import { describe, expect, it } from "vitest";
import { z } from "zod";
import { closest, keysAt } from "../src/did-you-mean.js";
import { runCli } from "../src/program.js";
import { captureIo } from "./helpers/io.js";

describe("closest", () => {
  it("names the setting a slip meant: case, a swapped pair, a missing letter", () => {
    expect(closest("loginURL", ["loginUrl", "clientId", "username"])).toBe("loginUrl");
    expect(closest("sycn", ["sync", "crm", "partnerCenter"])).toBe("sync");
    expect(closest("intervl", ["interval", "intervalSeconds"])).toBe("interval");
  });

  it("suggests nothing for a word unlike every candidate", () => {
    expect(closest("colour", ["tenantId", "clientId", "auth"])).toBeUndefined();
    expect(closest("foo", ["doctor", "setup"])).toBeUndefined();
  });
});

describe("keysAt", () => {
  const schema = z
    .object({
      crm: z
        .object({ auth: z.object({ loginUrl: z.string(), username: z.string() }).optional() })
        .default({}),
      sync: z.object({ interval: z.number() }).or(z.object({ cron: z.string() })),
    })
    .strict();

  it("reads the keys an object may hold through optional, default and union wrappers", () => {
    expect(keysAt(schema, [])).toEqual(["crm", "sync"]);
    expect(keysAt(schema, ["crm", "auth"])).toEqual(["loginUrl", "username"]);
    expect(keysAt(schema, ["sync"]).sort()).toEqual(["cron", "interval"]);
    expect(keysAt(schema, ["nowhere"])).toEqual([]);
  });
});

describe("commands", () => {
  it("an unknown command gets the command people meant: `verify` is `doctor`", async () => {
    const io = captureIo();
    expect(await runCli(["verify"], io)).toBe(1);
    expect(io.err()).toContain("unknown command 'verify' (did you mean doctor?)");
  });

  it("a misspelled command gets the nearest one; nonsense gets no guess", async () => {
    const io = captureIo();
    expect(await runCli(["stauts"], io)).toBe(1);
    expect(io.err()).toContain("(did you mean status?)");
    const other = captureIo();
    expect(await runCli(["xyzzy"], other)).toBe(1);
    expect(other.err()).toContain("unknown command 'xyzzy'");
    expect(other.err()).not.toContain("did you mean");
  });
});
