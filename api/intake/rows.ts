import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import { fieldErrorsFromAjv, type FieldError } from '../errors';
import { checkOpenCase } from '../rules';
import { IntakeRowSchema, type IntakeRow } from '../schemas/intake';

// Typed as the request bodies are (no coercion): CSV cells are already typed by their column.
const ajv = new Ajv({ allErrors: true, useDefaults: true, removeAdditional: false, strict: false, coerceTypes: false });
addFormats(ajv);
const validateRow = ajv.compile(IntakeRowSchema);

/** Judges one row of the list on its own: the schema, then what a schema cannot express. */
export function checkRow(value: unknown, today: string): { row: IntakeRow } | { errors: FieldError[] } {
  if (!validateRow(value)) return { errors: fieldErrorsFromAjv(validateRow.errors ?? [], 'row') };
  const row = value as IntakeRow;
  // The row's total is the opening's `overdue`: a reason that names it names `overdueAmount` here.
  const errors = checkOpenCase({ ...row, overdue: row.overdueAmount }, today).map((e) => ({
    field: e.field === 'overdue' ? 'overdueAmount' : e.field,
    reason: e.reason.replace(/\boverdue\b/g, 'overdueAmount'),
  }));
  return errors.length > 0 ? { errors } : { row };
}
