import { RecordError } from "../errors.js";
import type { FieldDef } from "../schema/types.js";
import {
  bool,
  DEVELOPER_NAME,
  MetadataComponentError,
  type MetadataRecord,
  str,
} from "../soap/metadata-types.js";
import { integrityError, ObjectComponents, type OrgSchemaView } from "../soap/object-components.js";
import type { Row } from "../store/record-store.js";
import { evaluate, FormulaError, type FormulaNode, fieldsOf, parseFormula } from "./formula.js";

/**
 * A validation rule as the Metadata API describes it (ValidationRule: fullName `Object.Rule`, active,
 * description, errorConditionFormula, errorDisplayField, errorMessage;
 * developer.salesforce.com/docs/atlas.en-us.api_meta.meta/api_meta/meta_validationformulas.htm, a
 * component of CustomObject: .../customobject.htm). `active` and `errorConditionFormula` are required.
 */
export interface ValidationRuleDef {
  objectName: string;
  name: string;
  active: boolean;
  description?: string;
  errorConditionFormula: string;
  errorDisplayField?: string;
  errorMessage: string;
}

interface CompiledRule extends ValidationRuleDef {
  condition: FormulaNode;
}

/** Salesforce's limits: formula 3,900 characters, error message 255 (Validation Rule Fields help page). */
const MAX_FORMULA = 3900;
const MAX_MESSAGE = 255;

/**
 * The org's validation rules, by lower-case `Object.Rule`. Rules are checked on every insert, update
 * and upsert (REST, collections, composite and control writes alike) once the record's values after
 * the write are known, as in Salesforce's order of execution ("system validation", then "custom
 * validation rules", developer.salesforce.com/docs/atlas.en-us.apexcode.meta/apexcode/apex_triggers_order_of_execution.htm).
 */
export class ValidationRules extends ObjectComponents<CompiledRule> {
  constructor(private readonly org: OrgSchemaView) {
    super(org, "ValidationRule", "a validation rule");
  }

  protected metadataOf(c: CompiledRule): MetadataRecord {
    return metadataOf(c);
  }

  /** Validates a component like Salesforce (required members, limits, the formula) and compiles it. */
  protected compile(md: MetadataRecord, objectName: string, name: string): CompiledRule {
    if (!DEVELOPER_NAME.test(name))
      throw integrityError(
        `The rule name ${name} is invalid: it begins with a letter and uses only letters, digits and single underscores.`,
        "fullName",
      );
    const active = bool(md, "active");
    if (active === undefined)
      throw new MetadataComponentError("REQUIRED_FIELD_MISSING", "Required field is missing: active", [
        "active",
      ]);
    const formula = str(md, "errorConditionFormula");
    if (!formula)
      throw new MetadataComponentError(
        "REQUIRED_FIELD_MISSING",
        "Required field is missing: errorConditionFormula",
        ["errorConditionFormula"],
      );
    if (formula.length > MAX_FORMULA)
      throw integrityError(`The formula is longer than ${MAX_FORMULA} characters.`, "errorConditionFormula");
    const errorMessage = str(md, "errorMessage");
    if (!errorMessage)
      throw new MetadataComponentError("REQUIRED_FIELD_MISSING", "Required field is missing: errorMessage", [
        "errorMessage",
      ]);
    if (errorMessage.length > MAX_MESSAGE)
      throw integrityError(`The error message is longer than ${MAX_MESSAGE} characters.`, "errorMessage");
    const displayName = str(md, "errorDisplayField");
    const display = displayName ? this.org.schema.field(objectName, displayName) : undefined;
    if (displayName && !display)
      throw integrityError(
        `Error display field ${displayName} does not exist on ${objectName}.`,
        "errorDisplayField",
      );
    let condition: FormulaNode;
    try {
      condition = parseFormula(formula, (n) => this.org.schema.field(objectName, n));
    } catch (e) {
      if (e instanceof FormulaError) throw integrityError(`Error: ${e.message}`, "errorConditionFormula");
      throw e;
    }
    return {
      objectName,
      name,
      active,
      ...(str(md, "description") ? { description: str(md, "description") } : {}),
      errorConditionFormula: formula,
      ...(display ? { errorDisplayField: display.name } : {}),
      errorMessage,
      condition,
    };
  }

  /** Rules whose formula reads this field (Salesforce refuses to delete a field still referenced). */
  referencing(objectName: string, fieldName: string): string[] {
    const want = fieldName.toLowerCase();
    return this.all()
      .filter(
        (r) => r.objectName === objectName && fieldsOf(r.condition).some((f) => f.toLowerCase() === want),
      )
      .map((r) => r.name);
  }

  /**
   * Rules whose formula would no longer compile once `field` has this definition: Salesforce refuses
   * to change a field's type under a formula that the new type breaks (a picklist outside ISPICKVAL,
   * TEXT or CASE; a text field in ISPICKVAL).
   */
  brokenBy(objectName: string, field: FieldDef): string[] {
    const want = field.name.toLowerCase();
    const lookup = (n: string) => (n.toLowerCase() === want ? field : this.org.schema.field(objectName, n));
    return this.all()
      .filter(
        (r) => r.objectName === objectName && fieldsOf(r.condition).some((f) => f.toLowerCase() === want),
      )
      .filter((r) => {
        try {
          parseFormula(r.errorConditionFormula, lookup);
          return false;
        } catch (e) {
          if (e instanceof FormulaError) return true;
          throw e;
        }
      })
      .map((r) => r.name);
  }

  /**
   * Refuses a record whose values after the write make an active rule's condition true: the rule's
   * message as FIELD_CUSTOM_VALIDATION_EXCEPTION, on the rule's error display field. Salesforce lists
   * every failing rule; the sandbox reports the first (in creation order).
   */
  check(objectName: string, row: Row): void {
    for (const r of this.all()) {
      if (!r.active || r.objectName !== objectName) continue;
      if (evaluate(r.condition, row) === true)
        throw new RecordError(
          "FIELD_CUSTOM_VALIDATION_EXCEPTION",
          r.errorMessage,
          r.errorDisplayField ? [r.errorDisplayField] : [],
        );
    }
  }

  /** Every rule as saved (for a state export). */
  snapshot(): ValidationRuleDef[] {
    return this.all().map(({ condition: _, ...def }) => ({ ...def }));
  }

  /** Replaces the rules with saved ones (their formulas compiled again against the current schema). */
  restore(defs: readonly ValidationRuleDef[]): void {
    this.clear();
    for (const d of defs) this.create(metadataOf(d));
  }
}

/** A rule as readMetadata returns it (properties in alphabetical order). */
function metadataOf(r: ValidationRuleDef): MetadataRecord {
  return {
    fullName: `${r.objectName}.${r.name}`,
    active: r.active,
    ...(r.description ? { description: r.description } : {}),
    errorConditionFormula: r.errorConditionFormula,
    ...(r.errorDisplayField ? { errorDisplayField: r.errorDisplayField } : {}),
    errorMessage: r.errorMessage,
  };
}
