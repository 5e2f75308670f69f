import type { Dml } from "../store/dml.js";
import type { Org } from "../store/org.js";
import { formatDateTime } from "../time.js";
import { CustomFields } from "./custom-fields.js";
import { CustomObjects } from "./custom-objects.js";
import { fileNameOf } from "./metadata-files.js";
import {
  MetadataComponentError,
  type MetadataRecord,
  type MetadataSaveResult,
  SoapFault,
  str,
} from "./metadata-types.js";
import { PermissionSets } from "./permission-sets.js";

/** What each supported metadata type can do. */
interface ComponentHandler {
  exists(fullName: string): boolean;
  create(md: MetadataRecord): void;
  update(md: MetadataRecord): void;
  delete(fullName: string): void;
  read(fullName: string): MetadataRecord | null;
  names(): string[];
}

/** Metadata API limit: components per create/update/upsert/delete/read call. */
export const MAX_COMPONENTS = 10;

/**
 * The Metadata API calls the connector uses (create/read/update/upsert/delete/list) for
 * CustomField, PermissionSet, ValidationRule, ListView, QuickAction, Layout and GlobalValueSet. Component failures come back in SaveResults; unsupported types
 * and oversize calls are faults, as in Salesforce.
 */
export class MetadataService {
  private readonly handlers: Record<string, ComponentHandler>;

  constructor(
    private readonly org: Org,
    dml: Dml,
  ) {
    this.handlers = {
      CustomObject: new CustomObjects(org),
      CustomField: new CustomFields(org),
      PermissionSet: new PermissionSets(org, dml),
      ValidationRule: org.validationRules,
      ListView: org.listViews,
      QuickAction: org.quickActions,
      Layout: org.layouts,
      GlobalValueSet: org.globalValueSets,
    };
  }

  private handler(type: string): ComponentHandler {
    const h = this.handlers[type];
    if (!h)
      throw new SoapFault(
        "sf:INVALID_TYPE",
        `INVALID_TYPE: The sandbox org supports the metadata types ${Object.keys(this.handlers).join(", ")}, not ${type}`,
      );
    return h;
  }

  private checkSize(n: number): void {
    if (n > MAX_COMPONENTS)
      throw new SoapFault(
        "sf:LIMIT_EXCEEDED",
        `LIMIT_EXCEEDED: Exceeded max size limit of ${MAX_COMPONENTS}`,
      );
  }

  private save(fullName: string, fn: () => boolean | undefined): MetadataSaveResult {
    // Each component is atomic: a failure leaves no half-made field or permission set behind.
    this.org.store.begin();
    try {
      const created = fn();
      this.org.store.commit();
      return created === undefined ? { fullName, success: true } : { created, fullName, success: true };
    } catch (e) {
      this.org.store.rollback();
      if (!(e instanceof MetadataComponentError)) throw e;
      const errors = [
        { fields: e.fields.length ? e.fields : undefined, message: e.message, statusCode: e.statusCode },
      ];
      return { errors, fullName, success: false };
    }
  }

  create(type: string, records: MetadataRecord[]): MetadataSaveResult[] {
    const h = this.handler(type);
    this.checkSize(records.length);
    return records.map((md) => this.save(str(md, "fullName") ?? "", () => void h.create(md)));
  }

  update(type: string, records: MetadataRecord[]): MetadataSaveResult[] {
    const h = this.handler(type);
    this.checkSize(records.length);
    return records.map((md) => this.save(str(md, "fullName") ?? "", () => void h.update(md)));
  }

  upsert(type: string, records: MetadataRecord[]): MetadataSaveResult[] {
    const h = this.handler(type);
    this.checkSize(records.length);
    return records.map((md) => {
      const fullName = str(md, "fullName") ?? "";
      const result = this.save(fullName, () => {
        const existed = h.exists(fullName);
        if (existed) h.update(md);
        else h.create(md);
        return !existed;
      });
      return { ...result, created: result.created ?? false };
    });
  }

  delete(type: string, fullNames: string[]): MetadataSaveResult[] {
    const h = this.handler(type);
    this.checkSize(fullNames.length);
    return fullNames.map((n) => this.save(n, () => void h.delete(n)));
  }

  read(type: string, fullNames: string[]): (MetadataRecord | null)[] {
    const h = this.handler(type);
    this.checkSize(fullNames.length);
    return fullNames.map((n) => h.read(n));
  }

  /** listMetadata FileProperties for one type. */
  list(type: string): MetadataRecord[] {
    const h = this.handler(type);
    const now = formatDateTime(this.org.clock.now()).replace("+0000", "Z");
    return h.names().map((fullName) => ({
      createdById: this.org.integrationUserId,
      createdByName: "Integration User",
      createdDate: now,
      fileName: fileNameOf(type, fullName),
      fullName,
      id: "",
      lastModifiedById: this.org.integrationUserId,
      lastModifiedByName: "Integration User",
      lastModifiedDate: now,
      manageableState: "unmanaged",
      type,
    }));
  }
}
