/** A problem with one field of a user's object, named the way kubectl names fields: spec.rules[0].name. */
export interface FieldError {
  readonly field: string;
  readonly message: string;
}

/** Turns a JSON pointer (/spec/rules/0/name) into a field path (spec.rules[0].name). */
export function toFieldPath(pointer: string): string {
  if (pointer === '' || pointer === '/') return '<root>';
  let out = '';
  for (const raw of pointer.split('/').slice(1)) {
    const part = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    out += /^\d+$/.test(part) ? `[${part}]` : out === '' ? part : `.${part}`;
  }
  return out;
}

/** One line per error, as `field: message`. */
export function formatFieldErrors(errors: readonly FieldError[]): string {
  return errors.map((e) => `${e.field}: ${e.message}`).join('; ');
}
