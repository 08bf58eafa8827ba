// The exit policy (docs/TPDP.md §7): by default an exit refuses private, loopback, link-local,
// multicast and reserved destinations. It is checked on the addresses DNS returned, and the exit
// then connects to exactly the address it checked, so no spelling (decimal, octal, hex, IPv6,
// IPv4-mapped) and no DNS answer that changes between check and connect gets through. The
// operator's port policy (the summary its descriptor publishes) is checked first, before any DNS.
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { isForbiddenIp, parseHost } from '../shared/address-ranges.ts';
import { TpdpError } from '../shared/errors.ts';
import { ACCEPT_ALL, parsePortPolicy, policyAccepts } from '../shared/port-policy.ts';

/** A resolved address the exit must not reach without --allow-private (anything unparsable too). */
export function isForbiddenAddress(address: string): boolean {
  const parsed = isIP(address) === 0 ? undefined : parseHost(address);
  return parsed === undefined || isForbiddenIp(parsed);
}

export interface ExitPolicy {
  allowPrivate: boolean;
  /** Throws EXIT_POLICY_REFUSED unless the port policy accepts the destination port. */
  checkPort(port: number): void;
  /** Resolves a destination to the one address the exit may connect to, or throws a TpdpError. */
  resolve(host: string): Promise<{ address: string; family: 4 | 6 }>;
}

/** `portPolicy` is a canonical summary (shared/port-policy.ts), the one the descriptor publishes. */
export function createExitPolicy(allowPrivate: boolean, resolver: typeof lookup = lookup, portPolicy = ACCEPT_ALL): ExitPolicy {
  const ports = parsePortPolicy(portPolicy);
  return {
    allowPrivate,
    checkPort(port) {
      if (!policyAccepts(ports, port)) throw new TpdpError('EXIT_POLICY_REFUSED', `port ${port} is refused by this exit's policy (${portPolicy})`);
    },
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
