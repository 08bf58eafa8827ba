// A server's certificate and key as files on disk (certbot's fullchain.pem and privkey.pem, or a
// self-signed pair), read and checked together so a bad pair is refused with the file at fault
// rather than failing later, handshake by handshake.
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { createSecureContext } from 'node:tls';
import { readBoundedFile } from './bounded-file.ts';

export interface TlsFiles {
  /** PEM certificate chain, leaf first. */
  certFile: string;
  /** PEM private key of the leaf certificate (unencrypted). */
  keyFile: string;
}

export interface TlsCredentials {
  cert: Buffer;
  key: Buffer;
  /** The leaf certificate, for logs (subject, expiry, fingerprint; never the key). */
  leaf: X509Certificate;
}

/** Which of the two files is at fault, so the CLI can name its option. */
export class TlsFileError extends Error {
  readonly which: 'cert' | 'key';
  readonly file: string;
  constructor(which: 'cert' | 'key', file: string, message: string) {
    super(`${file}: ${message}`);
    this.which = which;
    this.file = file;
  }
}

/** Far above any certificate chain or key; a bigger file is a mistake. */
const MAX_PEM_BYTES = 256 * 1024;

function readPem(which: 'cert' | 'key', file: string): Buffer {
  try {
    return readBoundedFile(file, MAX_PEM_BYTES);
  } catch (err) {
    throw new TlsFileError(which, file, `cannot read it (${(err as Error).message})`);
  }
}

export function readTlsCredentials(files: TlsFiles): TlsCredentials {
  const cert = readPem('cert', files.certFile);
  const key = readPem('key', files.keyFile);
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(cert);
  } catch (err) {
    throw new TlsFileError('cert', files.certFile, `not a PEM certificate (${(err as Error).message})`);
  }
  let privateKey;
  try {
    privateKey = createPrivateKey(key);
  } catch (err) {
    throw new TlsFileError('key', files.keyFile, `not an unencrypted PEM private key (${(err as Error).message})`);
  }
  if (!leaf.checkPrivateKey(privateKey)) throw new TlsFileError('key', files.keyFile, `does not match the certificate in ${files.certFile}`);
  try {
    createSecureContext({ cert, key });
  } catch (err) {
    throw new TlsFileError('cert', files.certFile, `unusable with its key (${(err as Error).message})`);
  }
  return { cert, key, leaf };
}

/** What the logs say about a certificate. */
export function describeCertificate(leaf: X509Certificate): Record<string, string> {
  return { subject: leaf.subject.replaceAll('\n', ', '), validTo: leaf.validToDate.toISOString(), sha256: leaf.fingerprint256 };
}
