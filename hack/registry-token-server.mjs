// A token server for the test registry (distribution) with token auth, after the Docker token spec
// (https://distribution.github.io/distribution/spec/auth/token/). Test infrastructure only: started by
// hack/cluster-up.sh on loopback. Grants what is asked to the one configured user; anonymous callers get no access.
//
// Usage: node registry-token-server.mjs PORT KEY_PEM CERT_PEM ISSUER USER:PASSWORD
import { createServer } from 'node:http';
import { createPrivateKey, randomUUID, sign, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Buffer } from 'node:buffer';
import process from 'node:process';
import { URL } from 'node:url';

const [port, keyFile, certFile, issuer, userPass] = process.argv.slice(2);
if (!userPass) {
  process.stderr.write('usage: registry-token-server.mjs PORT KEY_PEM CERT_PEM ISSUER USER:PASSWORD\n');
  process.exit(2);
}
const key = createPrivateKey(readFileSync(keyFile));
const certDer = new X509Certificate(readFileSync(certFile)).raw.toString('base64');
const b64url = (data) => Buffer.from(data).toString('base64url');

createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://localhost');
  if (url.pathname !== '/token') return void res.writeHead(404).end();
  const auth = req.headers.authorization ?? '';
  let subject = '';
  if (auth.startsWith('Basic ')) {
    if (Buffer.from(auth.slice(6), 'base64').toString() !== userPass) return void res.writeHead(401).end();
    subject = userPass.split(':')[0];
  }
  const access = url.searchParams.getAll('scope').flatMap((scope) => {
    const [type, name, actions] = scope.split(':');
    return subject && type === 'repository' && name ? [{ type, name, actions: actions.split(',') }] : [];
  });
  const now = Math.floor(Date.now() / 1000);
  const header = { alg: 'ES256', typ: 'JWT', x5c: [certDer] };
  const claims = {
    iss: issuer,
    sub: subject,
    aud: url.searchParams.get('service') ?? '',
    exp: now + 300,
    nbf: now - 10,
    iat: now,
    jti: randomUUID(),
    access,
  };
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
  const signature = sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' });
  const token = `${input}.${b64url(signature)}`;
  const body = JSON.stringify({
    token,
    access_token: token,
    expires_in: 300,
    issued_at: new Date(now * 1000).toISOString(),
  });
  res.writeHead(200, { 'content-type': 'application/json' }).end(body);
}).listen(Number(port), '127.0.0.1');
