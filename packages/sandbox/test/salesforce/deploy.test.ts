import { strToU8, zipSync } from "fflate";
import type { Connection } from "jsforce";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { clientCredentials, startOrg, type TestOrg, VERSION } from "./harness.js";

/**
 * Metadata API deploy and checkDeployStatus as jsforce drives them: a metadata-format zip, polled
 * until done; all or nothing with rollbackOnError; checkOnly validates and saves nothing.
 */

let org: TestOrg;
let conn: Connection;
beforeEach(async () => {
  org = await startOrg();
  conn = await clientCredentials(org);
});
afterEach(() => org.close());

const NS = 'xmlns="http://soap.sforce.com/2006/04/metadata"';
const xml = (root: string, inner: string) =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<${root} ${NS}>${inner}</${root}>\n`;
const manifest = (types: Record<string, string[]>) =>
  xml(
    "Package",
    `${Object.entries(types)
      .map(
        ([name, members]) =>
          `<types>${members.map((m) => `<members>${m}</members>`).join("")}<name>${name}</name></types>`,
      )
      .join("")}<version>${VERSION}</version>`,
  );

const VALUE_SET = xml(
  "GlobalValueSet",
  "<customValue><fullName>hot</fullName><default>false</default><label>Hot</label></customValue>" +
    "<customValue><fullName>cold</fullName><default>false</default><label>Cold</label></customValue>" +
    "<masterLabel>Temperature</masterLabel><sorted>false</sorted>",
);
const field = (name: string, inner: string) => `<fields><fullName>${name}</fullName>${inner}</fields>`;
const OPPORTUNITY = xml(
  "CustomObject",
  field(
    "Temperature__c",
    "<label>Temperature</label><type>Picklist</type><valueSet><restricted>true</restricted><valueSetName>Temperature</valueSetName></valueSet>",
  ) + field("Deploy_Note__c", "<label>Deploy Note</label><length>40</length><type>Text</type>"),
);

function zip(files: Record<string, string>): Buffer {
  return Buffer.from(zipSync(Object.fromEntries(Object.entries(files).map(([k, v]) => [k, strToU8(v)]))));
}

/** Deploys and polls as a client would; returns the final DeployResult and how many checks it took. */
async function deploy(files: Record<string, string>, options: Record<string, unknown> = {}) {
  const started = (await conn.metadata.deploy(zip(files), {
    rollbackOnError: true,
    ...options,
  })) as unknown as {
    id: string;
  };
  expect(started.id).toMatch(/^0Af/);
  let checks = 0;
  for (;;) {
    checks += 1;
    const r = (await conn.metadata.checkDeployStatus(started.id, true)) as unknown as Record<string, unknown>;
    if (String(r.done) === "true") return { result: r, checks };
    expect(r.status).toBe("InProgress");
    if (checks > 5) throw new Error("the deploy never finished");
  }
}

const failures = (r: Record<string, unknown>) => {
  const d = (r.details ?? {}) as { componentFailures?: unknown };
  const f = d.componentFailures;
  return (Array.isArray(f) ? f : f ? [f] : []) as {
    fullName: string;
    problem: string;
    componentType: string;
  }[];
};
const fieldNames = async () => {
  const d = await conn.sobject("Opportunity").describe();
  return d.fields.map((f) => f.name);
};

describe("Metadata API deploy on the sandbox org", () => {
  it("deploys a global value set and the fields that use it, in dependency order, polled to Succeeded", async () => {
    const { result, checks } = await deploy({
      "package.xml": manifest({
        CustomField: ["Opportunity.Temperature__c", "Opportunity.Deploy_Note__c"],
        GlobalValueSet: ["Temperature"],
      }),
      "objects/Opportunity.object": OPPORTUNITY,
      "globalValueSets/Temperature.globalValueSet": VALUE_SET,
    });
    expect(checks).toBeGreaterThan(1);
    expect(result.status).toBe("Succeeded");
    expect(String(result.success)).toBe("true");
    expect(Number(result.numberComponentsDeployed)).toBe(3);
    const read = (await conn.metadata.read("CustomField", "Opportunity.Temperature__c")) as unknown as {
      valueSet?: { valueSetName?: string };
    };
    expect(read.valueSet?.valueSetName).toBe("Temperature");
  });

  it("checkOnly validates and saves nothing", async () => {
    const { result } = await deploy(
      {
        "package.xml": manifest({ CustomField: ["Opportunity.Deploy_Note__c"] }),
        "objects/Opportunity.object": xml(
          "CustomObject",
          field("Deploy_Note__c", "<label>Deploy Note</label><length>40</length><type>Text</type>"),
        ),
      },
      { checkOnly: true },
    );
    expect(result.status).toBe("Succeeded");
    expect(String(result.checkOnly)).toBe("true");
    const read = (await conn.metadata.read("CustomField", "Opportunity.Deploy_Note__c")) as unknown as {
      fullName?: string;
    };
    expect(read.fullName ?? "").toBe("");
  });

  it("a component naming something missing fails the deploy, names it, and rolls back the others", async () => {
    const { result } = await deploy({
      "package.xml": manifest({ CustomField: ["Opportunity.Temperature__c", "Opportunity.Deploy_Note__c"] }),
      // The value set the picklist names is not in the zip nor in the org.
      "objects/Opportunity.object": OPPORTUNITY,
    });
    expect(result.status).toBe("Failed");
    expect(String(result.success)).toBe("false");
    const [f] = failures(result);
    expect(f).toMatchObject({ componentType: "CustomField", fullName: "Opportunity.Temperature__c" });
    expect(f!.problem).toMatch(/Temperature/);
    expect(await fieldNames()).not.toContain("Deploy_Note__c");
  });

  it("refuses a zip without package.xml, and a member package.xml names that the zip lacks", async () => {
    const none = await deploy({ "objects/Opportunity.object": OPPORTUNITY });
    expect(none.result.status).toBe("Failed");
    expect(failures(none.result)[0]!.problem).toBe("No package.xml found");

    const lacking = await deploy({
      "package.xml": manifest({ GlobalValueSet: ["Temperature"], QuickAction: ["Opportunity.Nowhere"] }),
      "globalValueSets/Temperature.globalValueSet": VALUE_SET,
    });
    expect(lacking.result.status).toBe("Failed");
    expect(failures(lacking.result)[0]!.problem).toMatch(
      /Opportunity\.Nowhere.*not found in zipped directory/,
    );
    const read = (await conn.metadata.read("GlobalValueSet", "Temperature")) as unknown as {
      fullName?: string;
    };
    expect(read.fullName ?? "").toBe("");
  });

  it("answers an unknown deploy id with a fault", async () => {
    await expect(conn.metadata.checkDeployStatus("0Af000000000099AAA", true)).rejects.toThrow(
      /INVALID_ID_FIELD/,
    );
  });
});
