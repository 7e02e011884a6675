import { checkLocalWebhookReachable, isLoopbackAddress } from './local-webhook.js';

describe('checkLocalWebhookReachable', () => {
  describe('when the API server is on this machine', () => {
    it.each([
      ['https://127.0.0.1:6443', []],
      ['https://localhost:6443', []],
      ['https://[::1]:6443', []],
      ['https://kubernetes.docker.internal:6443', ['127.0.0.1']],
    ])('lets %s call the webhook', (server, addresses) => {
      expect(checkLocalWebhookReachable({ server, addresses })).toBeUndefined();
    });
  });

  describe('when the API server is on another machine', () => {
    it('refuses, saying why and what to do instead', () => {
      const problem = checkLocalWebhookReachable({ server: 'https://10.0.0.5:6443', addresses: ['10.0.0.5'] });
      expect(problem).toContain('the API server at https://10.0.0.5:6443 is not on this machine');
      expect(problem).toContain("'make deploy'");
      expect(problem).toContain('--webhook-url');
    });

    it('refuses a host name that resolves to another machine, or to nothing', () => {
      const elsewhere = { server: 'https://kube.example.com', addresses: ['127.0.0.1', '192.0.2.7'] };
      expect(checkLocalWebhookReachable(elsewhere)).toContain('not on this machine');
      expect(checkLocalWebhookReachable({ server: 'https://kube.example.com', addresses: [] })).toContain(
        'not on this machine',
      );
    });

    it('accepts it when --webhook-url names an address it can reach', () => {
      const webhookUrl = new URL('https://10.0.0.9:9443');
      expect(
        checkLocalWebhookReachable({ server: 'https://10.0.0.5:6443', addresses: [], webhookUrl }),
      ).toBeUndefined();
    });
  });

  it('says so when the kubeconfig names no server', () => {
    expect(checkLocalWebhookReachable({ server: undefined, addresses: [] })).toContain('names no API server URL');
  });
});

describe('isLoopbackAddress', () => {
  it.each(['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost', '::ffff:127.0.0.1'])('%s is loopback', (a) => {
    expect(isLoopbackAddress(a)).toBe(true);
  });
  it.each(['10.0.0.1', '128.0.0.1', 'localhost.example.com', '127.0.0.1.example.com', '::2'])('%s is not', (a) => {
    expect(isLoopbackAddress(a)).toBe(false);
  });
});
