// A clean stop within a bound, as controller-runtime's manager does it with GracefulShutdownTimeout: the first
// SIGTERM or SIGINT starts the stop steps, one after another in the given order; if they have not all finished when
// the bound is reached, the stop ends there, naming the step still running and those never begun, and the process
// exits with status 1 (a pod's terminationGracePeriodSeconds would otherwise end it with SIGKILL, saying nothing).
// A second signal exits at once, as a user who presses Ctrl-C twice expects.

/** One step of the stop. A step that fails is reported and the next one still runs: each frees something else. */
export interface StopStep {
  /** What it waits for, in the words of the log line that names it when it does not finish. */
  readonly name: string;
  run(): Promise<unknown>;
}

export type StopOutcome =
  /** Every step finished; `failed` names those that threw, with their errors. */
  | { readonly $case: 'stopped'; readonly failed: readonly { readonly step: string; readonly error: unknown }[] }
  /** The bound was reached while `running` ran; `notBegun` never started. */
  | {
      readonly $case: 'timed-out';
      readonly running: string;
      readonly notBegun: readonly string[];
      readonly failed: readonly { readonly step: string; readonly error: unknown }[];
    };

export interface StopDeps {
  readonly timeoutMs: number;
  /** Told when a step begins; the log, in main. */
  readonly onStep?: (name: string) => void;
}

/** Runs `steps` in order until all have finished or `timeoutMs` has passed, whichever comes first. */
export async function runStopSteps(steps: readonly StopStep[], deps: StopDeps): Promise<StopOutcome> {
  const failed: { step: string; error: unknown }[] = [];
  let current = 0;
  const sequence = (async () => {
    for (; current < steps.length; current++) {
      const step = steps[current]!;
      deps.onStep?.(step.name);
      try {
        await step.run();
      } catch (error) {
        failed.push({ step: step.name, error });
      }
    }
  })();
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<'timed-out'>((resolve) => {
    timer = setTimeout(() => resolve('timed-out'), deps.timeoutMs);
  });
  try {
    const first = await Promise.race([sequence.then(() => 'done' as const), bound]);
    if (first === 'done') return { $case: 'stopped', failed };
    return {
      $case: 'timed-out',
      running: steps[current]!.name,
      notBegun: steps.slice(current + 1).map((s) => s.name),
      failed: [...failed],
    };
  } finally {
    // Nothing of ours may keep the process alive once the stop is over.
    clearTimeout(timer);
  }
}

/** The exit code for `outcome`: 0 only when every step finished without failing. */
export function toExitCode(outcome: StopOutcome): number {
  return outcome.$case === 'stopped' && outcome.failed.length === 0 ? 0 : 1;
}

/** The log line of a stop that reached its bound: the step that had not finished, and those never begun. */
export function describeTimeout(outcome: Extract<StopOutcome, { $case: 'timed-out' }>, timeoutMs: number): string {
  const notBegun = outcome.notBegun.length > 0 ? `; not begun: ${outcome.notBegun.join(', ')}` : '';
  return `stop did not finish within --graceful-shutdown-timeout (${timeoutMs} ms), exiting: still waiting for ${outcome.running}${notBegun}`;
}

/** The part of `process` that signals come through. */
export interface SignalSource {
  once(signal: NodeJS.Signals, listener: (signal: NodeJS.Signals) => void): unknown;
  off(signal: NodeJS.Signals, listener: (signal: NodeJS.Signals) => void): unknown;
}

/**
 * Resolves with the first of `signals` to arrive; any one that arrives after it calls `onAgain` (in main, exit at
 * once). Once a listener is installed, Node no longer ends the process on these signals by itself.
 */
export function awaitStopSignal(
  source: SignalSource,
  signals: readonly NodeJS.Signals[],
  onAgain: (signal: NodeJS.Signals) => void,
): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const first = (signal: NodeJS.Signals) => {
      for (const s of signals) source.off(s, first);
      for (const s of signals) source.once(s, again);
      resolve(signal);
    };
    const again = (signal: NodeJS.Signals) => {
      for (const s of signals) source.off(s, again);
      onAgain(signal);
    };
    for (const s of signals) source.once(s, first);
  });
}
