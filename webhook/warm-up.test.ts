import { createSilentLogger } from '../pkg/log/index.js';
import { warmUpAdmission } from './warm-up.js';

describe('the admission warm-up', () => {
  it('takes every path a real admission takes: a pass of each signature format pinned by patch, a denial, an autogen kind', async () => {
    const result = await warmUpAdmission(createSilentLogger(), 4);
    expect(result).toEqual({
      rounds: 4,
      ms: expect.any(Number) as number,
      // The Deployment is allowed by the Pod rule's autogen twin, pinned like the Pod.
      answers: { signed: 'patched', legacy: 'patched', unsigned: 'denied', deployment: 'patched' },
    });
  });
});
