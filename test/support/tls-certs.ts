// Self-signed certificates for 127.0.0.1, made by the `openssl` binary as an operator would make
// them for a private network (docs/TLS.md), so the tests exercise real PEM files.
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface TestCertificate {
  certFile: string;
  keyFile: string;
  /** SHA-256 fingerprint as node:tls reports it (`AB:CD:…`). */
  fingerprint: string;
}

/** Writes NAME-cert.pem and NAME-key.pem (P-256, valid two days) into dir. */
export function makeCertificate(dir: string, name: string): TestCertificate {
  const certFile = join(dir, `${name}-cert.pem`);
  const keyFile = join(dir, `${name}-key.pem`);
  // prettier-ignore
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2',
    '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
    '-keyout', keyFile, '-out', certFile,
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  return { certFile, keyFile, fingerprint: new X509Certificate(readFileSync(certFile)).fingerprint256 };
}
