import { strFromU8, unzipSync } from "fflate";
import type { SalesforceContext } from "../context.js";
import { exportOrgState, importOrgState } from "../state.js";
import { formatDateTime } from "../time.js";
import { IN_OBJECT_FILE, OWN_FOLDER } from "./metadata-files.js";
import { bool, type MetadataRecord, SoapFault, str } from "./metadata-types.js";
import { child, childrenNamed, parseXml, toValue, type XmlElement, XmlSyntaxError } from "./xml.js";

/**
 * Metadata API `deploy` and `checkDeployStatus` (developer.salesforce.com/docs/atlas.en-us.api_meta.meta/
 * api_meta/meta_deploy.htm, meta_checkdeploystatus.htm, meta_deployresult.htm): a zip in metadata
 * format (package.xml plus one file per component, an object's fields, list views and validation rules
 * inside its `.object` file). The components are saved in dependency order through the same checks
 * as createMetadata, so a deploy is refused where a create would be (a field naming a missing value
 * set, a view naming a missing field…). With `rollbackOnError` any failure undoes the whole deploy;
 * `checkOnly` always does (validation without saving). The work is done at once; each status check
 * moves the result one step (Pending → InProgress → done), so a client's polling loop is exercised.
 */

/** DeployMessage (componentFailures / componentSuccesses). */
interface DeployMessage {
  changed: boolean;
  componentType: string;
  created: boolean;
  deleted: boolean;
  fileName: string;
  fullName: string;
  problem?: string;
  problemType?: "Error";
  success: boolean;
}

interface Deployment {
  id: string;
  checkOnly: boolean;
  rollbackOnError: boolean;
  createdDate: string;
  failures: DeployMessage[];
  successes: DeployMessage[];
  total: number;
  /** Status checks seen so far: the result is done from the second. */
  checks: number;
}

/** Where each type's files are, in metadata format, and the order a deploy saves them in. */
const TYPE_ORDER = [
  "GlobalValueSet",
  "CustomObject",
  "CustomField",
  "ValidationRule",
  "ListView",
  "QuickAction",
  "PermissionSet",
  "Layout",
] as const;
type DeployType = (typeof TYPE_ORDER)[number];

/** Folder → its type and file suffix (`.quickAction`), from the shared table. */
const FOLDERS: Readonly<Record<string, { type: DeployType; suffix: string }>> = Object.fromEntries(
  Object.entries(OWN_FOLDER).map(([type, p]) => [
    p.folder,
    { type: type as DeployType, suffix: `.${p.suffix}` },
  ]),
);

/** Child components of an `.object` file: element name → type. */
const OBJECT_CHILDREN: Readonly<Record<string, DeployType>> = Object.fromEntries(
  Object.entries(IN_OBJECT_FILE).map(([type, element]) => [element, type as DeployType]),
);

interface ZipComponent {
  type: DeployType;
  fullName: string;
  fileName: string;
  metadata: MetadataRecord;
}

class ZipProblem extends Error {
  constructor(
    readonly fileName: string,
    message: string,
  ) {
    super(message);
  }
}

export class Deployments {
  private readonly deployments = new Map<string, Deployment>();
  private counter = 0;

  constructor(private readonly ctx: SalesforceContext) {}

  /** `deploy(ZipFile, DeployOptions)`: returns the AsyncResult's id. */
  deploy(zipBase64: string, options: XmlElement | undefined): { id: string; done: boolean; state: string } {
    const opt = options ? (toValue(options) as MetadataRecord | string) : {};
    const o = typeof opt === "object" && opt ? opt : {};
    const checkOnly = bool(o, "checkOnly") ?? false;
    // DeployOptions: "The default is false" (it must be true for production orgs).
    const rollbackOnError = bool(o, "rollbackOnError") ?? false;
    this.counter += 1;
    const id = `0Af${String(this.counter).padStart(12, "0")}AAA`;
    const deployment: Deployment = {
      id,
      checkOnly,
      rollbackOnError,
      createdDate: formatDateTime(this.ctx.clock.now()).replace("+0000", "Z"),
      failures: [],
      successes: [],
      total: 0,
      checks: 0,
    };
    this.deployments.set(id, deployment);
    let components: ZipComponent[] = [];
    try {
      components = readZip(zipBase64);
    } catch (e) {
      if (!(e instanceof ZipProblem)) throw e;
      deployment.failures.push(failure("", e.fileName, "", e.message));
      return { id, done: false, state: "Queued" };
    }
    this.apply(deployment, components);
    return { id, done: false, state: "Queued" };
  }

  private apply(d: Deployment, components: ZipComponent[]): void {
    const { org, oauth, usage, metadata } = this.ctx;
    const before = exportOrgState(org, oauth, usage);
    d.total = components.length;
    const ordered = [...components].sort((a, b) => TYPE_ORDER.indexOf(a.type) - TYPE_ORDER.indexOf(b.type));
    for (const c of ordered) {
      const [r] = metadata.upsert(c.type, [c.metadata]);
      if (r?.success)
        d.successes.push({
          changed: !r.created,
          componentType: c.type,
          created: r.created === true,
          deleted: false,
          fileName: c.fileName,
          fullName: c.fullName,
          success: true,
        });
      else {
        const problem = (r?.errors ?? []).map((e) => e.message).join("; ") || "refused";
        d.failures.push(failure(c.type, c.fileName, c.fullName, problem));
      }
    }
    if (d.checkOnly || (d.failures.length && d.rollbackOnError)) importOrgState(org, oauth, usage, before);
  }

  /** `checkDeployStatus(asyncProcessId, includeDetails)`: the DeployResult. */
  status(asyncProcessId: string, includeDetails: boolean): MetadataRecord {
    const d = this.deployments.get(asyncProcessId);
    if (!d)
      throw new SoapFault(
        "sf:INVALID_ID_FIELD",
        `INVALID_ID_FIELD: invalid asyncProcessId: ${asyncProcessId}`,
      );
    d.checks += 1;
    const done = d.checks >= 2;
    const failed = d.failures.length > 0;
    const status = !done
      ? "InProgress"
      : !failed
        ? "Succeeded"
        : d.rollbackOnError || d.checkOnly || d.successes.length === 0
          ? "Failed"
          : "SucceededPartial";
    const kept = done && (!failed || !d.rollbackOnError);
    const result: MetadataRecord = {
      checkOnly: d.checkOnly,
      createdDate: d.createdDate,
      ...(includeDetails && done
        ? {
            details: {
              componentFailures: d.failures,
              componentSuccesses: kept ? d.successes : [],
            },
          }
        : {}),
      done,
      id: d.id,
      ignoreWarnings: false,
      numberComponentErrors: done ? d.failures.length : 0,
      numberComponentsDeployed: done ? (kept ? d.successes.length : 0) : Math.floor(d.successes.length / 2),
      numberComponentsTotal: d.total,
      numberTestErrors: 0,
      numberTestsCompleted: 0,
      numberTestsTotal: 0,
      rollbackOnError: d.rollbackOnError,
      runTestsEnabled: false,
      ...(done ? {} : { stateDetail: "Processing Type: CustomField" }),
      status,
      success: done && !failed,
    };
    return result;
  }
}

function failure(type: string, fileName: string, fullName: string, problem: string): DeployMessage {
  return {
    changed: false,
    componentType: type,
    created: false,
    deleted: false,
    fileName,
    fullName,
    problem,
    problemType: "Error",
    success: false,
  };
}

/** The components a metadata-format zip deploys: those package.xml names, each from its file. */
function readZip(zipBase64: string): ZipComponent[] {
  let files: Record<string, Uint8Array>;
  try {
    files = unzipSync(Buffer.from(zipBase64, "base64"));
  } catch {
    throw new ZipProblem("", "The ZipFile is not a valid zip archive");
  }
  // A single-package zip may hold everything under one folder (DeployOptions.singlePackage): strip it.
  const names = Object.keys(files).filter((n) => !n.endsWith("/"));
  const manifest = names.find((n) => n === "package.xml" || /^[^/]+\/package\.xml$/.test(n));
  if (!manifest) throw new ZipProblem("package.xml", "No package.xml found");
  const root = manifest.slice(0, manifest.length - "package.xml".length);
  const text = (n: string) => strFromU8(files[n]!);
  const parse = (n: string): XmlElement => {
    try {
      return parseXml(text(n));
    } catch (e) {
      if (e instanceof XmlSyntaxError)
        throw new ZipProblem(n.slice(root.length), `Error parsing file: ${e.message}`);
      throw e;
    }
  };
  const wanted = new Map<DeployType, Set<string>>();
  for (const t of childrenNamed(parse(manifest), "types")) {
    const type = child(t, "name")?.text.trim() ?? "";
    if (!(TYPE_ORDER as readonly string[]).includes(type))
      throw new ZipProblem("package.xml", `Unknown type name '${type}' specified in package.xml`);
    wanted.set(type as DeployType, new Set(childrenNamed(t, "members").map((m) => m.text.trim())));
  }

  const found: ZipComponent[] = [];
  for (const full of names) {
    if (!full.startsWith(root) || full === manifest) continue;
    const fileName = full.slice(root.length);
    const [folder, file] = fileName.split("/");
    if (!folder || !file) continue;
    if (folder === "objects" && file.endsWith(".object")) {
      const object = file.slice(0, -".object".length);
      const el = parse(full);
      const own: MetadataRecord = {};
      for (const c of el.children) {
        const childType = OBJECT_CHILDREN[c.local];
        const value = toValue(c);
        if (childType) {
          const md = (value && typeof value === "object" ? value : {}) as MetadataRecord;
          const name = str(md, "fullName") ?? "";
          found.push({
            type: childType,
            fullName: `${object}.${name}`,
            fileName,
            metadata: { ...md, fullName: `${object}.${name}` },
          });
        } else own[c.local] = value;
      }
      if (object.endsWith("__c") && Object.keys(own).length)
        found.push({
          type: "CustomObject",
          fullName: object,
          fileName,
          metadata: { ...own, fullName: object },
        });
      continue;
    }
    const place = FOLDERS[folder];
    if (!place || !file.endsWith(place.suffix)) continue;
    const fullName = file.slice(0, -place.suffix.length);
    const value = toValue(parse(full));
    const md = (value && typeof value === "object" ? value : {}) as MetadataRecord;
    found.push({ type: place.type, fullName, fileName, metadata: { ...md, fullName } });
  }

  const listed = (c: ZipComponent) => {
    const members = wanted.get(c.type);
    return !!members && (members.has("*") || members.has(c.fullName));
  };
  for (const [type, members] of wanted)
    for (const m of members)
      if (m !== "*" && !found.some((c) => c.type === type && c.fullName === m))
        throw new ZipProblem(
          "package.xml",
          `An object '${m}' of type ${type} was named in package.xml, but was not found in zipped directory`,
        );
  return found.filter(listed);
}
