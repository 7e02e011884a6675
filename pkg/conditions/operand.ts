// One side of a condition, with the readings Kyverno's operators try on a string (Go duration, Kubernetes
// quantity, float, semantic version) worked out once. A literal in the policy becomes an Operand when the policy
// compiles, so its readings are parsed once per policy rather than once per admission; values that variables
// produce become Operands as they are evaluated.
import { parseGoDuration } from './go-duration.js';
import { parseGoFloat } from './go-float.js';
import type { JsonValue } from './json-value.js';
import { parseQuantity, type Quantity } from './quantity.js';
import { parseSemver, type Semver } from './semver.js';

const UNSET = Symbol('unset');

export class Operand {
  readonly value: JsonValue;
  #duration: bigint | undefined | typeof UNSET = UNSET;
  #quantity: Quantity | undefined | typeof UNSET = UNSET;
  #float: number | undefined | typeof UNSET = UNSET;
  #semver: Semver | undefined | typeof UNSET = UNSET;

  constructor(value: JsonValue) {
    this.value = value;
  }

  /** The string read as a Go duration (time.ParseDuration), or undefined. */
  get duration(): bigint | undefined {
    if (this.#duration === UNSET) {
      const parsed = typeof this.value === 'string' ? parseGoDuration(this.value) : undefined;
      this.#duration = parsed?.ok === true ? parsed.nanos : undefined;
    }
    return this.#duration;
  }

  /** The string read as a Kubernetes quantity, or undefined. */
  get quantity(): Quantity | undefined {
    if (this.#quantity === UNSET) {
      this.#quantity = typeof this.value === 'string' ? parseQuantity(this.value) : undefined;
    }
    return this.#quantity;
  }

  /** The string read by strconv.ParseFloat, or undefined. */
  get float(): number | undefined {
    if (this.#float === UNSET) this.#float = typeof this.value === 'string' ? parseGoFloat(this.value) : undefined;
    return this.#float;
  }

  /** The string read as a semantic version, or undefined. */
  get semver(): Semver | undefined {
    if (this.#semver === UNSET) this.#semver = typeof this.value === 'string' ? parseSemver(this.value) : undefined;
    return this.#semver;
  }

  /** Works out every reading now, so that a compiled policy's literals are never parsed during admission. */
  prepare(): this {
    void this.duration;
    void this.quantity;
    void this.float;
    void this.semver;
    return this;
  }
}
