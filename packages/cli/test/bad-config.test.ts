import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../src/program.js";
import { useFakeDynamics } from "./helpers/fake-crm.js";
import { captureIo } from "./helpers/io.js";
import { type Workspace, workspace } from "./helpers/workspace.js";

type Config = Record<string, Record<string, unknown>>;

/** Each bad config: what to break, the error code, and text the message must hold (key and fix). */
const CASES: { name: string; patch?: (c: Config) => void; raw?: string; code: string; says: RegExp[] }[] = [
  { name: "not YAML", raw: "partnerCenter: [unclosed", code: "CONFIG_UNREADABLE", says: [/not valid YAML/] },
  { name: "not a mapping", raw: "just a string", code: "CONFIG_INVALID", says: [/\(root\)/, /cosell init/] },
  {
    name: "partnerCenter missing",
    patch: (c) => {
      delete c.partnerCenter;
    },
    code: "CONFIG_INVALID",
    says: [/CONFIG_INVALID: partnerCenter: missing/, /required/],
  },
  {
    name: "crm missing",
    patch: (c) => {
      delete c.crm;
    },
    code: "CONFIG_INVALID",
    says: [/crm: missing/, /required/],
  },
  {
    name: "unknown CRM kind",
    patch: (c) => {
      c.crm!.kind = "hubspot";
    },
    code: "CONFIG_INVALID",
    says: [/crm\.kind: "hubspot"/, /use one of: salesforce, dynamics/],
  },
  {
    name: "secret written inline",
    patch: (c) => {
      c.partnerCenter!.clientSecret = "abc8Q~literal-secret-value";
    },
    code: "CONFIG_SECRET_INLINE",
    says: [/partnerCenter\.clientSecret/, /env:NAME/],
  },
  {
    name: "env reference unset",
    patch: (c) => {
      c.partnerCenter!.clientSecret = "env:NOT_SET_ANYWHERE";
    },
    code: "CONFIG_SECRET_MISSING",
    says: [/partnerCenter\.clientSecret/, /NOT_SET_ANYWHERE is not set/],
  },
  {
    name: "file reference missing",
    patch: (c) => {
      c.partnerCenter!.clientSecret = "file:./nope.secret";
    },
    code: "CONFIG_SECRET_MISSING",
    says: [/partnerCenter\.clientSecret/, /cannot read .*nope\.secret/],
  },
  {
    name: "plain http off loopback",
    patch: (c) => {
      c.partnerCenter!.apiBaseUrl = "http://api.partner.microsoft.com/v1.0";
    },
    code: "CONFIG_TLS_REQUIRED",
    says: [/partnerCenter\.apiBaseUrl/, /Use https:\/\//],
  },
  {
    name: "unknown top-level key",
    patch: (c) => {
      c.sycn = {};
    },
    code: "CONFIG_INVALID",
    says: [/sycn: not a cosell setting/, /did you mean sync\?/],
  },
  {
    name: "misspelt Partner Center key",
    patch: (c) => {
      c.partnerCenter!.tenantID = "x";
    },
    code: "CONFIG_INVALID",
    says: [/partnerCenter\.tenantID: not a cosell setting/, /did you mean tenantId\?/],
  },
  {
    name: "a setting written in the wrong section",
    patch: (c) => {
      c.sync = { intervalSecs: 60 };
    },
    code: "CONFIG_INVALID",
    says: [/sync\.intervalSecs: not a cosell setting — did you mean run\.intervalSeconds\?/],
  },
  {
    name: "unknown key nothing like a setting",
    patch: (c) => {
      c.partnerCenter!.colour = "blue";
    },
    code: "CONFIG_INVALID",
    says: [/partnerCenter\.colour: not a cosell setting — remove it or check the spelling\./],
  },
  {
    name: "misspelt key inside the CRM section (checked by the adapter's schema)",
    patch: (c) => {
      const crm = c.crm as Record<string, unknown>;
      const [k] = Object.keys(crm).filter((x) => x !== "kind" && typeof crm[x] === "string");
      crm[k!.toUpperCase()] = crm[k!];
      delete crm[k!];
    },
    code: "CONFIG_INVALID",
    // Salesforce's section is strict (the unknown key is named); Dynamics' names the missing one.
    says: [
      /crm\.[A-Za-z]+: (not a cosell setting — did you mean [a-zA-Z]+\?|missing — this setting is required; did you mean [a-zA-Z]+ instead of [A-Z]+\?)/,
    ],
  },
  {
    name: "bad conflict policy",
    patch: (c) => {
      c.sync = { conflictPolicy: "mine-wins" };
    },
    code: "CONFIG_INVALID",
    says: [/sync\.conflictPolicy: "mine-wins"/, /crm-wins/],
  },
  {
    name: "bad field direction",
    patch: (c) => {
      c.sync = { directions: { notes: "sideways" } };
    },
    code: "CONFIG_INVALID",
    says: [/sync\.directions\.notes: "sideways"/, /toCrm/],
  },
  {
    name: "interval too short",
    patch: (c) => {
      c.run = { intervalSeconds: 1 };
    },
    code: "CONFIG_INVALID",
    says: [/run\.intervalSeconds: 1/],
  },
  {
    name: "unknown log level",
    patch: (c) => {
      c.log = { level: "loud" };
    },
    code: "CONFIG_INVALID",
    says: [/log\.level: "loud"/, /use one of/],
  },
  {
    name: "empty state path",
    patch: (c) => {
      c.state = { path: "" };
    },
    code: "CONFIG_INVALID",
    says: [/state\.path: ""/],
  },
  {
    name: "page size over Partner Center's cap",
    patch: (c) => {
      c.partnerCenter!.pageSize = 500;
    },
    code: "CONFIG_INVALID",
    says: [/partnerCenter\.pageSize: 500/],
  },
  {
    name: "secret and certificate both given (the secret is not echoed)",
    patch: (c) => {
      c.partnerCenter!.auth = {
        kind: "app",
        clientSecret: "env:PC_SECRET",
        certificate: { privateKeyPem: "env:PC_SECRET", thumbprintSha256: "ab".repeat(32) },
      };
    },
    code: "CONFIG_INVALID",
    says: [/partnerCenter\.auth\.certificate: \(hidden\)/, /not both/],
  },
  {
    name: "CRM setting missing (checked by the adapter's schema)",
    patch: (c) => {
      delete c.crm!.environmentUrl;
    },
    code: "CONFIG_INVALID",
    says: [/crm\.environmentUrl: missing/],
  },
];

describe("bad configs: each names the key and the fix, exits 1 and writes nothing", () => {
  let ws: Workspace;
  let restore: () => void;
  beforeAll(async () => {
    ws = await workspace();
    restore = useFakeDynamics().restore;
  });
  afterAll(async () => {
    restore();
    await ws.sandbox.stop();
  });

  it("has at least 15 cases", () => {
    expect(CASES.length).toBeGreaterThanOrEqual(15);
  });

  it.each(CASES)("$name → $code", async ({ patch, raw, code, says }) => {
    if (raw !== undefined) writeFileSync(ws.file, raw);
    else ws.write(patch as never);
    for (const command of [["sync"], ["status", "--json"]]) {
      const io = captureIo({ env: ws.env, cwd: ws.dir });
      expect(await runCli(command, io)).toBe(1);
      expect(io.err()).toContain(code);
      for (const s of says) expect(io.err()).toMatch(s);
      if (command.includes("--json")) expect(JSON.parse(io.out()).error.code).toBe(code);
      expect(existsSync(join(ws.dir, "state.sqlite"))).toBe(false);
      expect(io.err() + io.out()).not.toContain(ws.env.PC_SECRET);
    }
    expect(ws.sandbox.log.count({ server: "partner-center" })).toBe(0);
  });

  it("a missing config file says how to create one", async () => {
    const io = captureIo({ env: ws.env, cwd: ws.dir });
    expect(await runCli(["--config", "absent.yaml", "status"], io)).toBe(1);
    expect(io.err()).toMatch(/CONFIG_NOT_FOUND.*cosell init/);
  });
});

describe("every command has --help (exit 0); usage errors exit 1", () => {
  const commands = [
    [],
    ["init"],
    ["setup"],
    ["doctor"],
    ["plan"],
    ["sync"],
    ["run"],
    ["backfill"],
    ["status"],
    ["deals"],
    ["accept"],
    ["decline"],
    ["won"],
    ["lost"],
    ["demo"],
  ];
  it.each(commands.map((c) => [c.join(" ") || "(root)", c] as const))("%s --help", async (_n, c) => {
    const io = captureIo();
    expect(await runCli([...c, "--help"], io)).toBe(0);
    expect(io.out()).toContain("Usage: cosell");
  });

  it("unknown command, unknown option, bad choice", async () => {
    for (const argv of [["frobnicate"], ["sync", "--nope"], ["deals", "sideways"], ["setup", "hubspot"]]) {
      const io = captureIo();
      expect(await runCli(argv, io)).toBe(1);
      expect(io.err()).toMatch(/error/);
    }
  });
});
