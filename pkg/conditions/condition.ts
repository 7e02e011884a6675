// metav1.Condition handling (https://github.com/kubernetes/apimachinery/blob/master/pkg/apis/meta/v1/types.go,
// "Condition"): lastTransitionTime changes only when status changes.

export type ConditionStatus = 'True' | 'False' | 'Unknown';

export interface Condition {
  readonly type: string;
  readonly status: ConditionStatus;
  readonly observedGeneration?: number;
  readonly lastTransitionTime: string;
  readonly reason: string;
  readonly message: string;
}

export type ConditionInput = Omit<Condition, 'lastTransitionTime'>;

/** Returns `conditions` with `input` set, keeping the old transition time when the status did not change. */
export function setCondition(
  conditions: readonly Condition[] | undefined,
  input: ConditionInput,
  now: Date,
): Condition[] {
  const list = conditions ?? [];
  const previous = list.find((c) => c.type === input.type);
  const lastTransitionTime =
    previous && previous.status === input.status ? previous.lastTransitionTime : toRfc3339(now);
  const next: Condition = { ...input, lastTransitionTime };
  return previous ? list.map((c) => (c === previous ? next : c)) : [...list, next];
}

export function findCondition(conditions: readonly Condition[] | undefined, type: string): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

export function isConditionTrue(conditions: readonly Condition[] | undefined, type: string): boolean {
  return findCondition(conditions, type)?.status === 'True';
}

/** metav1.Time serialises to whole seconds in RFC 3339. */
function toRfc3339(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
