// The assertion every validation test makes: the call throws a ValidationError naming the field.
import { expect } from 'vitest';

import { ValidationError } from '../../lib/core/errors.js';

export function expectValidationError(call: () => unknown, field: string): void {
  let error: unknown;
  try {
    call();
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(ValidationError);
  expect((error as ValidationError).field).toBe(field);
}
