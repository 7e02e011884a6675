// With --local the webhook listens on this machine and is registered by URL, https://127.0.0.1:<port> unless
// --webhook-url says otherwise. An API server on another machine can never call 127.0.0.1 here: every admission of
// the kinds the policies match would wait for its timeout and then follow failurePolicy, which for Fail means no Pod
// can be created. So `run --local` refuses to start against such an API server, before registering anything, and
// says what to do instead.

/** Whether an address (as DNS or a URL gives it) is this machine's loopback. */
export function isLoopbackAddress(address: string): boolean {
  const a = address.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  return a === 'localhost' || a === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(a) || /^::ffff:127\./.test(a);
}

/**
 * Why the API server at `server` cannot call the local webhook, or undefined when it can: when the API server's host
 * resolves only to loopback addresses (`addresses`, what DNS gave for it), or when --webhook-url names an address the
 * operator was told the API server reaches.
 */
export function checkLocalWebhookReachable(input: {
  readonly server: string | undefined;
  readonly addresses: readonly string[];
  readonly webhookUrl?: URL;
}): string | undefined {
  if (input.webhookUrl) return undefined;
  const url = input.server === undefined ? undefined : URL.parse(input.server);
  if (!url) return '--local: the kubeconfig names no API server URL to check the webhook can be reached from';
  if (isLoopbackAddress(url.hostname)) return undefined;
  if (input.addresses.length > 0 && input.addresses.every(isLoopbackAddress)) return undefined;
  return (
    `--local: the API server at ${url.origin} is not on this machine, so it cannot call a webhook at ` +
    'https://127.0.0.1; registering one would leave it waiting on every admission the policies match. Deploy the ' +
    "operator into the cluster ('make deploy'), or give --webhook-url with an address of this machine that the API " +
    'server can reach (and --webhook-host to listen on it)'
  );
}
