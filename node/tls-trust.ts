// Which TLS certificates the Node side trusts when it reaches https:// pools and wss:// relays:
// the system's, plus any an operator pins with --ca (a self-signed certificate, a private CA).
// Also turns Node's terse "self-signed certificate" failures into errors that say what to do.
import { X509Certificate } from 'node:crypto';
import tls from 'node:tls';
import { readBoundedFile } from './bounded-file.ts';

/** A CA bundle larger than this is not a certificate file (Mozilla's whole bundle is ~220 KB). */
const MAX_CA_FILE_BYTES = 1024 * 1024;
const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[A-Za-z0-9+/=\s]+?-----END CERTIFICATE-----/g;

/** Reads PEM certificates (one or more per file); throws an Error starting with the file at fault. */
export function readCaFiles(files: readonly string[]): string[] {
  const certificates: string[] = [];
  for (const file of files) {
    let text: string;
    try {
      text = readBoundedFile(file, MAX_CA_FILE_BYTES).toString('utf8');
    } catch (err) {
      throw new Error(`${file}: cannot read it (${(err as Error).message})`);
    }
    const blocks = text.match(PEM_CERTIFICATE) ?? [];
    if (blocks.length === 0) throw new Error(`${file}: no PEM certificate ("-----BEGIN CERTIFICATE-----") in it`);
    for (const block of blocks) {
      try {
        new X509Certificate(block);
      } catch (err) {
        throw new Error(`${file}: a certificate in it does not parse (${(err as Error).message})`);
      }
    }
    certificates.push(...blocks);
  }
  return certificates;
}

/**
 * The `ca` option for TLS connections: Node's default roots (with NODE_EXTRA_CA_CERTS and, under
 * --use-system-ca, the system store) plus `extra`, since an explicit `ca` replaces the defaults.
 */
export function trustedCertificates(extra: readonly string[]): string[] {
  // getCACertificates arrived in Node 22.15; the bundled roots are the same defaults before it.
  const defaults = typeof tls.getCACertificates === 'function' ? tls.getCACertificates('default') : tls.rootCertificates;
  return [...defaults, ...extra];
}

/** OpenSSL verification failures that mean "no trusted CA vouches for this certificate". */
const UNTRUSTED = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_UNTRUSTED',
]);

/** For a certificate nobody trusts, the message that says how to trust it; otherwise undefined. */
export function untrustedCertificateMessage(err: unknown, host: string): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string' || !UNTRUSTED.has(code)) return undefined;
  // Node appends advice about --use-system-ca after a semicolon; ours replaces it.
  const reason = (err as Error).message.split(';')[0];
  return `certificate of ${host} not trusted (${reason}); pass --ca FILE with that certificate or its CA's`;
}
