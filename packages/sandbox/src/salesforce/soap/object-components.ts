import type { SchemaRegistry } from "../schema/registry.js";
import type { SObjectDef } from "../schema/types.js";
import { MetadataComponentError, type MetadataRecord, str } from "./metadata-types.js";

/**
 * What a component store needs of the org, not the org itself: the org owns the stores, and an
 * import of the org from one would close an import circle.
 */
export interface OrgSchemaView {
  readonly schema: SchemaRegistry;
  object(type: string): SObjectDef | undefined;
}

/** Salesforce's refusal of a component member (a field that does not exist, a bad value). */
export const integrityError = (message: string, field: string): MetadataComponentError =>
  new MetadataComponentError("FIELD_INTEGRITY_EXCEPTION", message, [field]);

/** A metadata component that belongs to one object (`Object.Name`, or `Object-Name` for a layout). */
export interface ObjectComponent {
  objectName: string;
  name: string;
}

/**
 * The org's components of one Metadata API type that hang off an object (validation rules, list
 * views, quick actions, layouts): the CRUD calls answer alike for all of them — a duplicate name is
 * `DUPLICATE_DEVELOPER_NAME`, an unknown one `INVALID_CROSS_REFERENCE_KEY`, names match whatever their
 * case, and an update replaces the whole component. What each type validates is its own `compile`.
 */
export abstract class ObjectComponents<T extends ObjectComponent> {
  private readonly components = new Map<string, T>();

  /**
   * @param org the org's objects: a full name names one that must exist.
   * @param type the Metadata API type, as Salesforce names it in errors (`ValidationRule`).
   * @param noun what a duplicate's message calls one ("a validation rule").
   * @param naming the separator between the object and the name (`-` for layouts), what the
   *   unknown-object message adds, and whether a blank name is refused there too.
   */
  constructor(
    private readonly objects: Pick<OrgSchemaView, "object">,
    private readonly type: string,
    private readonly noun: string,
    private readonly naming: { separator?: "." | "-"; hint?: string; nameRequired?: boolean } = {},
  ) {}

  /** The object and the name of a full name; throws when the object does not exist. */
  protected split(fullName: string): { objectName: string; name: string } {
    const at = fullName.indexOf(this.separator);
    const def = at > 0 ? this.objects.object(fullName.slice(0, at)) : undefined;
    if (!def || (this.naming.nameRequired && !fullName.slice(at + 1).trim()))
      throw new MetadataComponentError(
        "INVALID_CROSS_REFERENCE_KEY",
        `In field: fullName - no CustomObject named ${at > 0 ? fullName.slice(0, at) : fullName} found${this.naming.hint ? ` (${this.naming.hint})` : ""}`,
        ["fullName"],
      );
    return { objectName: def.name, name: fullName.slice(at + 1) };
  }

  private get separator(): "." | "-" {
    return this.naming.separator ?? ".";
  }

  /**
   * Validates a component as Salesforce would and builds it; `existing` is the one an update
   * replaces (absent on create). Throws {@link MetadataComponentError} to refuse it.
   */
  protected abstract compile(md: MetadataRecord, objectName: string, name: string, existing?: T): T;

  /** The component as `readMetadata` returns it. */
  protected abstract metadataOf(component: T): MetadataRecord;

  /** Called once a new component is stored (a list view takes its record id then). */
  protected created(_component: T): void {}

  fullNameOf(c: ObjectComponent): string {
    return `${c.objectName}${this.separator}${c.name}`;
  }

  exists(fullName: string): boolean {
    return this.components.has(fullName.toLowerCase());
  }

  create(md: MetadataRecord): void {
    const { objectName, name } = this.split(str(md, "fullName") ?? "");
    const fullName = this.fullNameOf({ objectName, name });
    if (this.exists(fullName))
      throw new MetadataComponentError(
        "DUPLICATE_DEVELOPER_NAME",
        `There is already ${this.noun} named ${name} on ${objectName}.`,
        ["fullName"],
      );
    const component = this.compile(md, objectName, name);
    this.components.set(fullName.toLowerCase(), component);
    this.created(component);
  }

  update(md: MetadataRecord): void {
    const fullName = str(md, "fullName") ?? "";
    const { objectName } = this.split(fullName);
    const existing = this.components.get(fullName.toLowerCase());
    if (!existing) throw this.notFound(fullName);
    this.components.set(fullName.toLowerCase(), this.compile(md, objectName, existing.name, existing));
  }

  delete(fullName: string): void {
    if (!this.components.delete(fullName.toLowerCase())) throw this.notFound(fullName);
  }

  read(fullName: string): MetadataRecord | null {
    const c = this.components.get(fullName.toLowerCase());
    return c ? this.metadataOf(c) : null;
  }

  names(): string[] {
    return this.all().map((c) => this.fullNameOf(c));
  }

  /** Every component, in creation order. */
  protected all(): T[] {
    return [...this.components.values()];
  }

  /** The component of that full name, if any. */
  protected find(fullName: string): T | undefined {
    return this.components.get(fullName.toLowerCase());
  }

  /** Stores a component as it is (restoring saved state), replacing one of the same name. */
  protected put(component: T): void {
    this.components.set(this.fullNameOf(component).toLowerCase(), component);
  }

  /** Forgets every component (before restoring saved state). */
  protected clear(): void {
    this.components.clear();
  }

  private notFound(fullName: string): MetadataComponentError {
    return new MetadataComponentError(
      "INVALID_CROSS_REFERENCE_KEY",
      `In field: fullName - no ${this.type} named ${fullName} found`,
      ["fullName"],
    );
  }
}
