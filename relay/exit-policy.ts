// The exit policy (docs/TPDP.md §7): by default an exit refuses private, loopback, link-local,
// multicast and reserved destinations. It is checked on the addresses DNS returned, and the exit
// then connects to exactly the address it checked, so no spelling (decimal, octal, hex, IPv6,
// IPv4-mapped) and no DNS answer that changes between check and connect gets through.
import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import { TpdpError } from '../shared/errors.ts';

const FORBIDDEN = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
  ['192.0.0.0', 24], ['192.0.2.0', 24], ['192.88.99.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15],
  ['198.51.100.0', 24], ['203.0.113.0', 24], ['224.0.0.0', 4], ['240.0.0.0', 4],
] as const) FORBIDDEN.addSubnet(net, prefix, 'ipv4');
for (const [net, prefix] of [
  ['::', 128], ['::1', 128], ['fe80::', 10], ['fc00::', 7], ['ff00::', 8], ['100::', 64], ['2001:db8::', 32], ['fec0::', 10],
  // Local-use NAT64 (RFC 8215): translates to whatever the site's gateway chooses.
  ['64:ff9b:1::', 48],
] as const) FORBIDDEN.addSubnet(net, prefix, 'ipv6');

/** The eight 16-bit groups of an IPv6 address, whatever its spelling (via the URL parser). */
function ipv6Groups(address: string): number[] | undefined {
  let canonical: string;
  try {
    // The WHATWG URL parser validates, lowercases and writes an embedded dotted quad in hex.
    canonical = new URL(`http://[${address}]/`).hostname.slice(1, -1);
  } catch {
    return undefined;
  }
  const [head, tail] = canonical.includes('::') ? canonical.split('::') : [canonical, undefined];
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const zeros = tail === undefined ? [] : Array(8 - left.length - right.length).fill('0');
  return [...left, ...zeros, ...right].map((group) => parseInt(group, 16));
}

/**
 * The IPv4 address an IPv6 address stands for, if any: IPv4-mapped (::ffff:0:0/96), SIIT
 * (::ffff:0:0:0/96), IPv4-compatible (::/96) and NAT64 (64:ff9b::/96), in any spelling.
 */
function embeddedIPv4(groups: number[]): string | undefined {
  const zero = (from: number, to: number) => groups.slice(from, to).every((g) => g === 0);
  const mapped = zero(0, 5) && groups[5] === 0xffff;
  const siit = zero(0, 4) && groups[4] === 0xffff && groups[5] === 0;
  const compatible = zero(0, 6) && groups[6] !== 0;
  const nat64 = groups[0] === 0x64 && groups[1] === 0xff9b && zero(2, 6);
  if (!mapped && !siit && !compatible && !nat64) return undefined;
  return `${groups[6] >> 8}.${groups[6] & 255}.${groups[7] >> 8}.${groups[7] & 255}`;
}

export function isForbiddenAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return FORBIDDEN.check(address, 'ipv4');
  if (family !== 6) return true;
  const groups = ipv6Groups(address);
  if (!groups) return true;
  const v4 = embeddedIPv4(groups);
  if (v4 !== undefined) return FORBIDDEN.check(v4, 'ipv4');
  return FORBIDDEN.check(groups.map((g) => g.toString(16)).join(':'), 'ipv6');
}

export interface ExitPolicy {
  allowPrivate: boolean;
  /** Resolves a destination to the one address the exit may connect to, or throws a TpdpError. */
  resolve(host: string): Promise<{ address: string; family: 4 | 6 }>;
}

export function createExitPolicy(allowPrivate: boolean, resolver: typeof lookup = lookup): ExitPolicy {
  return {
    allowPrivate,
    async resolve(host) {
      const bare = host.replace(/^\[(.*)\]$/, '$1');
      let answers: { address: string; family: number }[];
      try {
        answers = await resolver(bare, { all: true, verbatim: true });
      } catch (err) {
        throw new TpdpError('DESTINATION_RESOLVE_ERROR', `cannot resolve ${host}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      }
      if (answers.length === 0) throw new TpdpError('DESTINATION_RESOLVE_ERROR', `no address for ${host}`);
      // One forbidden answer refuses the name: a mixed answer is how rebinding attacks start.
      if (!allowPrivate && answers.some((a) => isForbiddenAddress(a.address))) {
        throw new TpdpError('EXIT_POLICY_REFUSED', `${host} resolves to a private, loopback or reserved address`);
      }
      const chosen = answers[0];
      return { address: chosen.address, family: chosen.family === 6 ? 6 : 4 };
    },
  };
}
