// TLS options: the certificate a relay or pool serves (--tls-cert, --tls-key), the reverse proxies
// it believes (--trusted-proxy), and the certificates the Node side trusts besides the system's
// (--ca). Bad files are refused at start-up, naming the option. docs/TLS.md is the guide.
import { isIP } from 'node:net';
import { readTlsCredentials, TlsFileError, type TlsFiles } from '../node/tls-credentials.ts';
import { readCaFiles } from '../node/tls-trust.ts';
import { CliError } from './command.ts';

export const TLS_SERVER_OPTIONS = {
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
  'trusted-proxy': { type: 'string', multiple: true },
} as const;

export function tlsServerHelp(scheme: string): string {
  return `  --tls-cert FILE           serve ${scheme} with this PEM certificate chain (e.g. certbot's
                            fullchain.pem); reloaded when it changes on disk or on SIGHUP
  --tls-key FILE            the PEM private key of --tls-cert (e.g. privkey.pem)
  --trusted-proxy IP        a reverse proxy in front of this server (repeatable): for its
                            connections only, per-source limits take the client address from
                            the right-most X-Forwarded-For entry (docs/TLS.md)`;
}

export const CA_OPTIONS = {
  ca: { type: 'string', multiple: true },
} as const;

export const CA_HELP = `  --ca FILE                 also trust the PEM certificate(s) in FILE (self-signed, or a private
                            CA) for https:// pools and wss:// relays (repeatable)`;

/** The certificate and key files to serve, checked now; undefined without --tls-cert/--tls-key. */
export function tlsFilesOption(values: Record<string, unknown>): TlsFiles | undefined {
  const certFile = values['tls-cert'] as string | undefined;
  const keyFile = values['tls-key'] as string | undefined;
  if (certFile === undefined && keyFile === undefined) return undefined;
  if (certFile === undefined) throw new CliError('--tls-key needs --tls-cert (the certificate it belongs to)', 2);
  if (keyFile === undefined) throw new CliError('--tls-cert needs --tls-key (the private key of the certificate)', 2);
  try {
    readTlsCredentials({ certFile, keyFile });
  } catch (err) {
    if (err instanceof TlsFileError) throw new CliError(`--tls-${err.which} ${err.message}`, 2);
    throw err;
  }
  return { certFile, keyFile };
}

/** The --ca certificates (PEM), read and checked now; undefined when none is given. */
export function caOption(values: Record<string, unknown>): string[] | undefined {
  const files = values.ca as string[] | undefined;
  if (files === undefined || files.length === 0) return undefined;
  try {
    return readCaFiles(files);
  } catch (err) {
    throw new CliError(`--ca ${(err as Error).message}`, 2);
  }
}

export function trustedProxiesOption(values: Record<string, unknown>): string[] {
  const addresses = (values['trusted-proxy'] as string[] | undefined) ?? [];
  for (const address of addresses) {
    if (isIP(address) === 0) throw new CliError(`--trusted-proxy must be an IP address, got "${address}"`, 2);
  }
  return addresses;
}
