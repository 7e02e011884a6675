import { observeReconciles } from './operator-metrics.js';

/** A clock that moves 3 ms per reading. */
function ticking(): () => number {
  let t = 0;
  return () => (t += 3);
}

describe('observeReconciles', () => {
  it('counts a reconcile that returns as a success, under the controller its key names, with its duration', async () => {
    const seen: unknown[] = [];
    const handler = observeReconciles(
      (key) => key.split('/')[0]!.toLowerCase(),
      async () => undefined,
      { observeReconcile: (...args) => void seen.push(args) },
      ticking(),
    );
    await handler('ClusterPolicy//p');
    expect(seen).toEqual([['clusterpolicy', 'success', 0.003]]);
  });

  it('counts a reconcile that throws as an error, and throws on for the queue to retry', async () => {
    const seen: unknown[] = [];
    const handler = observeReconciles(
      () => 'policy',
      () => Promise.reject(new Error('conflict')),
      { observeReconcile: (...args) => void seen.push(args) },
      ticking(),
    );
    await expect(handler('Policy/ns/p')).rejects.toThrow('conflict');
    expect(seen).toEqual([['policy', 'error', 0.003]]);
  });

  it('reconciles all the same when the metrics throw', async () => {
    let ran = false;
    const handler = observeReconciles(
      () => 'policy',
      async () => void (ran = true),
      {
        observeReconcile: () => {
          throw new Error('broken counter');
        },
      },
      ticking(),
    );
    await handler('Policy/ns/p');
    expect(ran).toBe(true);
  });
});
