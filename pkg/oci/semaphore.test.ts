import { Semaphore } from './semaphore.js';

describe('Semaphore', () => {
  it('lets a waiter in when a slot is released, and is idle when nobody holds one', async () => {
    const s = new Semaphore(1);
    const release = await s.acquire();
    let second = false;
    const next = s.acquire().then((r) => {
      second = true;
      return r;
    });
    await Promise.resolve();
    expect(second).toBe(false);
    release();
    release(); // twice is once
    (await next)();
    expect(s.idle).toBe(true);
  });

  it('drops a waiter whose signal aborts', async () => {
    const s = new Semaphore(1);
    const release = await s.acquire();
    const controller = new AbortController();
    const waiting = s.acquire(controller.signal);
    controller.abort(new Error('gave up'));
    await expect(waiting).rejects.toThrow('gave up');
    release();
    expect(s.idle).toBe(true);
  });
});
