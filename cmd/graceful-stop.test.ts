import { EventEmitter } from 'node:events';
import {
  awaitStopSignal,
  describeTimeout,
  runStopSteps,
  toExitCode,
  type SignalSource,
  type StopStep,
} from './graceful-stop.js';

const step = (name: string, run: () => Promise<unknown>, order?: string[]): StopStep => ({
  name,
  run: () => {
    order?.push(name);
    return run();
  },
});
const never = () => new Promise<never>(() => undefined);
const after = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

describe('runStopSteps', () => {
  it('runs every step in order, each after the one before has finished', async () => {
    const order: string[] = [];
    let firstDone = false;
    const outcome = await runStopSteps(
      [
        step('operator', () => after(20).then(() => (firstDone = true)), order),
        step('webhook server', async () => expect(firstDone).toBe(true), order),
        step('probes', async () => undefined, order),
      ],
      { timeoutMs: 5_000 },
    );
    expect(outcome).toEqual({ $case: 'stopped', failed: [] });
    expect(order).toEqual(['operator', 'webhook server', 'probes']);
    expect(toExitCode(outcome)).toBe(0);
  });

  it('waits for a step still working (an admission in flight) as long as the bound allows', async () => {
    let answered = false;
    const outcome = await runStopSteps(
      [step('webhook server (admissions in flight)', () => after(150).then(() => (answered = true)))],
      { timeoutMs: 2_000 },
    );
    expect(outcome.$case).toBe('stopped');
    expect(answered).toBe(true);
  });

  it('gives up on a stuck step at the bound, naming it and the steps never begun', async () => {
    const started = performance.now();
    const outcome = await runStopSteps(
      [
        step('operator', async () => undefined),
        step('webhook configurations', never),
        step('webhook server', async () => undefined),
        step('probes', async () => undefined),
      ],
      { timeoutMs: 100 },
    );
    const took = performance.now() - started;
    expect(outcome).toEqual({
      $case: 'timed-out',
      running: 'webhook configurations',
      notBegun: ['webhook server', 'probes'],
      failed: [],
    });
    expect(took).toBeGreaterThanOrEqual(95);
    expect(took).toBeLessThan(1_000);
    expect(toExitCode(outcome)).toBe(1);
    if (outcome.$case !== 'timed-out') throw new Error('expected a time-out');
    expect(describeTimeout(outcome, 100)).toBe(
      'stop did not finish within --graceful-shutdown-timeout (100 ms), exiting: still waiting for webhook ' +
        'configurations; not begun: webhook server, probes',
    );
  });

  it('goes on past a step that fails, and reports it', async () => {
    const order: string[] = [];
    const boom = new Error('API server gone');
    const outcome = await runStopSteps(
      [step('webhook configurations', () => Promise.reject(boom), order), step('webhook server', async () => 1, order)],
      { timeoutMs: 1_000 },
    );
    expect(outcome).toEqual({ $case: 'stopped', failed: [{ step: 'webhook configurations', error: boom }] });
    expect(order).toEqual(['webhook configurations', 'webhook server']);
    expect(toExitCode(outcome)).toBe(1);
  });

  it('tells of each step as it begins', async () => {
    const begun: string[] = [];
    await runStopSteps([step('a', async () => 1), step('b', async () => 2)], {
      timeoutMs: 1_000,
      onStep: (name) => begun.push(name),
    });
    expect(begun).toEqual(['a', 'b']);
  });

  it('leaves no timer behind to keep the process alive', async () => {
    const before = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    await runStopSteps([step('quick', async () => undefined)], { timeoutMs: 60_000 });
    expect(process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length).toBe(before);
  });
});

describe('awaitStopSignal', () => {
  const source = () => new EventEmitter() as EventEmitter & SignalSource;

  it('resolves with the first signal', async () => {
    const signals = source();
    const stop = awaitStopSignal(signals, ['SIGTERM', 'SIGINT'], () => undefined);
    signals.emit('SIGINT', 'SIGINT');
    await expect(stop).resolves.toBe('SIGINT');
  });

  it('calls onAgain for a second signal, of either kind, once', async () => {
    const signals = source();
    const again: string[] = [];
    const stop = awaitStopSignal(signals, ['SIGTERM', 'SIGINT'], (s) => again.push(s));
    signals.emit('SIGTERM', 'SIGTERM');
    await stop;
    expect(again).toEqual([]);
    signals.emit('SIGINT', 'SIGINT');
    expect(again).toEqual(['SIGINT']);
    signals.emit('SIGTERM', 'SIGTERM');
    expect(again).toEqual(['SIGINT']);
    expect(signals.listenerCount('SIGTERM') + signals.listenerCount('SIGINT')).toBe(0);
  });
});
