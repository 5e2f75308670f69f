import type { SandboxClock } from "../../kit/index.js";
import { ValidationRules } from "../formula/validation-rules.js";
import { IdGenerator, keyPrefixOf } from "../ids.js";
import type { SchemaRegistry } from "../schema/registry.js";
import type { SObjectDef } from "../schema/types.js";
import { fieldsBoundTo, GlobalValueSets } from "../soap/global-value-sets.js";
import { Layouts } from "../soap/layouts.js";
import { ListViews } from "../soap/list-views.js";
import { QuickActions } from "../soap/quick-actions.js";
import { formatDateTime } from "../time.js";
import { RecordStore } from "./record-store.js";
import { type Actor, FieldSecurity, type PermissionSetDetails } from "./security.js";

/** A scripted per-record failure (`control.failNext`), consumed by the first write it matches. */
export interface RecordFault {
  /** Only writes to this object. */
  type?: string;
  /** Only the write of this record id (update / delete / upsert that matches it). */
  id?: string;
  /** Only the upsert of this external-id value. */
  externalId?: string;
  statusCode: string;
  message: string;
  fields?: string[];
}

/**
 * The org's state: schema, rows, permission-set details, id counters, scripted record faults.
 * Reads and writes go through {@link Dml} and the SOQL executor; this class only holds things.
 */
export class Org {
  readonly store = new RecordStore();
  /** Field permissions etc. by PermissionSet record id. */
  readonly permissionSetDetails = new Map<string, PermissionSetDetails>();
  readonly security: FieldSecurity;
  ids = new IdGenerator();
  recordFaults: RecordFault[] = [];
  /** The user the connected app's tokens act as (set when the org is set up). */
  integrationUserId = "";
  /** Stage API names (in order) of each Opportunity sales process, by BusinessProcess id. */
  readonly salesProcessStages = new Map<string, string[]>();
  /** The default record type of new records, by object (the users' default record type). */
  readonly defaultRecordType = new Map<string, string>();
  /** Validation rules (Metadata API ValidationRule), checked on every write. */
  readonly validationRules: ValidationRules = new ValidationRules(this);
  /** List views (Metadata API ListView), served by the REST list view resources. */
  readonly listViews: ListViews = new ListViews(this);
  /** Quick actions (Metadata API QuickAction), invoked by the REST quick action resource. */
  readonly quickActions: QuickActions = new QuickActions(this);
  /** Page layouts (Metadata API Layout), served by the REST describeLayout resource. */
  readonly layouts: Layouts = new Layouts(this);
  /** Global value sets (Metadata API GlobalValueSet); the picklists bound to one follow its updates. */
  readonly globalValueSets: GlobalValueSets = new GlobalValueSets(
    (name) => fieldsBoundTo(this.schema.customFields(), name).map((b) => `${b.objectName}.${b.field.name}`),
    (set) => {
      for (const b of fieldsBoundTo(this.schema.customFields(), set.name))
        this.schema.replaceField(b.objectName, { ...b.field, picklist: set.values });
    },
  );

  constructor(
    readonly orgId: string,
    readonly schema: SchemaRegistry,
    readonly clock: SandboxClock,
  ) {
    this.security = new FieldSecurity(this.store, this.permissionSetDetails);
    for (const def of schema.all()) this.indexObject(def);
    this.layouts.seed();
  }

  /** The current sandbox time in Salesforce's datetime format. */
  now(): string {
    return formatDateTime(this.clock.now());
  }

  systemActor(): Actor {
    return { userId: this.integrationUserId, system: true };
  }

  object(type: string): SObjectDef | undefined {
    return this.schema.object(type);
  }

  /** Whether a quick action with this full name (`Opportunity.Action`) exists (layouts name them). */
  hasQuickAction(fullName: string): boolean {
    return this.quickActions.exists(fullName);
  }

  /** The object an id belongs to, by its key prefix. */
  typeOfId(id: string): string | undefined {
    return this.schema.objectByPrefix(keyPrefixOf(id))?.name;
  }

  /** Indexes lookups (child queries, cascades) and external-id / unique fields (upserts, duplicates). */
  indexObject(def: SObjectDef): void {
    for (const f of def.fields) {
      if (f.type === "reference" || f.externalId || f.unique)
        this.store.addIndex(def.name, f.name, f.caseSensitive === true);
    }
  }

  /** Takes the first scripted fault matching a write, if any. */
  takeFault(type: string, id?: string, externalId?: string): RecordFault | undefined {
    const i = this.recordFaults.findIndex(
      (f) =>
        (!f.type || f.type.toLowerCase() === type.toLowerCase()) &&
        (!f.id || f.id.slice(0, 15) === id?.slice(0, 15)) &&
        (!f.externalId || f.externalId === externalId),
    );
    if (i < 0) return undefined;
    return this.recordFaults.splice(i, 1)[0];
  }
}
