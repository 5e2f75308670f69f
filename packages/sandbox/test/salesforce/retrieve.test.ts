import { strFromU8, unzipSync } from "fflate";
import type { Connection } from "jsforce";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { clientCredentials, startOrg, type TestOrg, VERSION } from "./harness.js";

/**
 * Metadata API retrieve and checkRetrieveStatus as jsforce drives them: the named components in a
 * metadata-format zip with package.xml; a member that does not exist comes back as a message.
 */

let org: TestOrg;
let conn: Connection;
beforeAll(async () => {
  org = await startOrg();
  conn = await clientCredentials(org);
  org.server.control.upsertMetadata("CustomField", [
    { fullName: "Opportunity.Retrieved_Note__c", label: "Retrieved Note", type: "Text", length: 40 },
  ]);
  org.server.control.upsertMetadata("ListView", [
    {
      fullName: "Opportunity.Retrieved_View",
      label: "Retrieved view",
      filterScope: "Everything",
      columns: ["OPPORTUNITY.NAME", "Retrieved_Note__c"],
    },
  ]);
});
afterAll(() => org.close());

describe("Metadata API retrieve on the sandbox org", () => {
  it("returns the named components in their files, with package.xml, and a message for a missing one", async () => {
    const started = (await conn.metadata.retrieve({
      apiVersion: VERSION,
      singlePackage: true,
      unpackaged: {
        types: [
          { members: ["Opportunity.Retrieved_Note__c", "Opportunity.Nowhere__c"], name: "CustomField" },
          { members: ["*"], name: "ListView" },
        ],
        version: VERSION,
      },
    } as never)) as unknown as { id: string };
    const result = (await conn.metadata.checkRetrieveStatus(started.id)) as unknown as {
      done: unknown;
      status: string;
      zipFile: string;
      messages?: { problem: string } | { problem: string }[];
    };
    expect(String(result.done)).toBe("true");
    expect(result.status).toBe("Succeeded");
    const files = unzipSync(Buffer.from(result.zipFile, "base64"));
    expect(Object.keys(files).sort()).toEqual(["objects/Opportunity.object", "package.xml"]);
    const object = strFromU8(files["objects/Opportunity.object"]!);
    expect(object).toContain("<fields><fullName>Retrieved_Note__c</fullName>");
    expect(object).toContain("<listViews><fullName>Retrieved_View</fullName>");
    const manifest = strFromU8(files["package.xml"]!);
    expect(manifest).toContain("<members>Opportunity.Retrieved_Note__c</members><name>CustomField</name>");
    expect(manifest).toContain("<members>Opportunity.Retrieved_View</members>");
    expect(manifest).not.toContain("Nowhere__c");
    const messages = [result.messages ?? []].flat();
    expect(messages.map((m) => m.problem)).toEqual([
      "Entity of type 'CustomField' named 'Opportunity.Nowhere__c' cannot be found",
    ]);
  });

  it("answers an unknown retrieve id with a fault", async () => {
    await expect(conn.metadata.checkRetrieveStatus("09S000000000099AAA")).rejects.toThrow(/INVALID_ID_FIELD/);
  });
});
