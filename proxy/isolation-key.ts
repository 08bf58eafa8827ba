// Isolation keys: streams with different keys never share a circuit. As with Tor's defaults,
// each front end is its own isolation domain (IsolateSOCKSAuth plus per-listener isolation), and
// credentials only choose a circuit: any pair is accepted.
//
// The key is a hash of the credentials, not the credentials: keys end up in the client core's
// tables and possibly its logs, and users do type real passwords into proxy settings.
import { createHash } from 'node:crypto';

export type ProxyFrontEnd = 'socks5' | 'http';

export interface Credentials {
  username: Uint8Array;
  password: Uint8Array;
}

/** The key for a front end; without credentials, every client of that front end shares one. */
export function isolationKey(frontEnd: ProxyFrontEnd, credentials?: Credentials): string {
  if (!credentials) return frontEnd;
  const length = new Uint8Array(4);
  new DataView(length.buffer).setUint32(0, credentials.username.length);
  // Length-prefixing the username keeps ("ab","c") and ("a","bc") apart.
  const digest = createHash('sha256').update(length).update(credentials.username).update(credentials.password).digest('hex');
  return `${frontEnd}:${digest}`;
}

/**
 * Credentials from a Proxy-Authorization header: Basic gives user and password (RFC 7617);
 * any other scheme is taken whole as the username so distinct values still stay apart.
 */
export function proxyAuthorizationCredentials(header: string | undefined): Credentials | undefined {
  if (header === undefined) return undefined;
  const basic = /^basic[ \t]+([A-Za-z0-9+/]+=*)[ \t]*$/i.exec(header);
  if (!basic) return { username: Buffer.from(header, 'latin1'), password: new Uint8Array(0) };
  const decoded = Buffer.from(basic[1], 'base64');
  const colon = decoded.indexOf(0x3a);
  if (colon < 0) return { username: decoded, password: new Uint8Array(0) };
  return { username: decoded.subarray(0, colon), password: decoded.subarray(colon + 1) };
}
