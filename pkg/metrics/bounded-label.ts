// A label whose values come from outside (an image reference's registry host, an AdmissionReview's kind): each new
// value is a new time series, held in memory for the life of the process and stored by Prometheus, so whoever
// chooses the values must not be able to choose how many there are. The first `max` distinct values are kept as
// they are; every later one, and any too long to be a name, is counted under OTHER.

/** The value that stands for every value past the bound. */
export const OTHER = 'other';

export interface BoundedLabelOptions {
  /** Distinct values kept; the rest are OTHER. */
  readonly max: number;
  /** Longest value kept; a longer one is OTHER. */
  readonly maxLength: number;
}

export class BoundedLabel {
  readonly #options: BoundedLabelOptions;
  readonly #seen = new Set<string>();

  constructor(options: BoundedLabelOptions) {
    this.#options = options;
  }

  /** The value to label with: `value` itself while there is room for it (or it was seen before), else OTHER. */
  of(value: string): string {
    if (this.#seen.has(value)) return value;
    if (value.length > this.#options.maxLength || value === '' || this.#seen.size >= this.#options.max) return OTHER;
    this.#seen.add(value);
    return value;
  }
}
