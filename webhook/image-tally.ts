// What the admission's log line says of its images: one entry per image with how many rules passed, skipped or
// failed it, how many answers came from the cache, and the reasons of its failures. Counted as the outcomes are
// made, rather than kept one per image and rule and summed afterwards: 20 policies × 3 images made that list the
// log line's largest cost.

export interface ImageSummary {
  readonly image: string;
  readonly pass: number;
  readonly skip: number;
  readonly fail: number;
  readonly cached: number;
  /** `<policy>/<rule>: <reason>` for each failure, without repeats. */
  readonly reasons?: readonly string[];
}

interface Counts {
  image: string;
  pass: number;
  skip: number;
  fail: number;
  cached: number;
  reasons?: Set<string>;
}

export class ImageTally {
  readonly #byImage = new Map<string, Counts>();

  /** One rule's outcome for an image; `reason` (a failure's) is recorded with the policy and rule that gave it. */
  count(
    image: string,
    status: 'pass' | 'skip' | 'fail',
    cached: boolean,
    failure?: { readonly policy: string; readonly rule: string; readonly reason: string },
  ): void {
    let counts = this.#byImage.get(image);
    if (!counts) this.#byImage.set(image, (counts = { image, pass: 0, skip: 0, fail: 0, cached: 0 }));
    counts[status]++;
    if (cached) counts.cached++;
    if (failure) (counts.reasons ??= new Set()).add(`${failure.policy}/${failure.rule}: ${failure.reason}`);
  }

  summaries(): ImageSummary[] {
    return [...this.#byImage.values()].map(({ reasons, ...counts }) =>
      reasons ? { ...counts, reasons: [...reasons] } : counts,
    );
  }
}
