/**
 * Certificates for TLS tests, made with the `openssl` command line (Debian's `openssl`; no npm
 * dependency): a self-signed CA, a server certificate it signs for 127.0.0.1 and localhost, and
 * an unrelated CA (what a client configured with the wrong CA file trusts). P-256 keys: made in
 * milliseconds. Valid for two days from now.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Skip reason when `openssl` is not installed; false when it is. */
export const SKIP_NO_OPENSSL: string | false = spawnSync('openssl', ['version'], { stdio: 'ignore' }).status === 0 ? false : 'openssl is not installed (apt-get install openssl): TLS tests skipped';

/** Files and PEM texts of {@link makeTestCertificates}. */
export interface TestCertificates {
  /** The CA that signed the server certificate (PEM file). */
  caFile: string;
  /** Another self-signed CA, which did not sign it (PEM file). */
  otherCaFile: string;
  /** The server's private key and certificate (PEM text). */
  key: string;
  cert: string;
}

function openssl(args: string[], cwd: string): void {
  const r = spawnSync('openssl', args, { cwd, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`test: openssl ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
}

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

function makeCa(dir: string, name: string, cn: string): void {
  openssl(['req', '-x509', ...EC, '-keyout', `${name}.key`, '-out', `${name}.pem`, '-days', '2', '-subj', `/CN=${cn}`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], dir);
}

/** Makes the certificates in `dir` (an empty temporary directory). */
export function makeTestCertificates(dir: string): TestCertificates {
  makeCa(dir, 'ca', 'floe test CA');
  makeCa(dir, 'other-ca', 'floe other CA');
  openssl(['req', ...EC, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1'], dir);
  writeFileSync(join(dir, 'server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n');
  openssl(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-set_serial', '2', '-days', '2', '-extfile', 'server.ext', '-out', 'server.pem'], dir);
  return {
    caFile: join(dir, 'ca.pem'),
    otherCaFile: join(dir, 'other-ca.pem'),
    key: readFileSync(join(dir, 'server.key'), 'utf8'),
    cert: readFileSync(join(dir, 'server.pem'), 'utf8'),
  };
}
