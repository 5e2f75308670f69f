import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { validateConfig } from "../src/config.js";
import { CRM_MODULES } from "../src/crm-modules.js";
import { runCli } from "../src/program.js";
import { captureIo } from "./helpers/io.js";

describe("cosell init templates validate with the real adapter schemas once their secrets exist", () => {
  for (const crm of ["salesforce", "dynamics"] as const) {
    it.runIf(CRM_MODULES[crm].available)(crm, async () => {
      const dir = mkdtempSync(join(tmpdir(), "cosell-init-"));
      const io = captureIo({ cwd: dir });
      expect(
        await runCli(
          [
            "init",
            "--crm",
            crm,
            "--tenant-id",
            "tenant-1",
            "--client-id",
            "client-1",
            "--crm-url",
            crm === "salesforce" ? "https://acme.my.salesforce.com" : "https://acme.crm.dynamics.com",
            "--crm-client-id",
            "crm-client-1",
          ],
          io,
        ),
      ).toBe(0);
      const text = readFileSync(join(dir, "cosell.yaml"), "utf8");
      const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
      writeFileSync(join(dir, "salesforce-jwt.key"), privateKey.export({ type: "pkcs8", format: "pem" }));
      const env = {
        COSELL_PARTNER_CENTER_SECRET: "pc-secret-value",
        COSELL_DYNAMICS_SECRET: "dv-secret-value",
      };
      const { config, secrets } = validateConfig(parse(text), { env, baseDir: dir });
      expect(config.crm.kind).toBe(crm);
      // Partner Center signs a user in (`cosell login`): no Partner Center secret, only the CRM's.
      expect(config.partnerCenter.auth).toMatchObject({ kind: "user" });
      expect(secrets).not.toContain("pc-secret-value");
      expect(secrets.length).toBe(1);
    });
  }
});
