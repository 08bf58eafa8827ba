// A peer that writes raw link messages to a relay node and sees everything the node answers:
// rawConnection (memory-network.ts) plus the node's replies and a hang-up, for fuzzing the node.
import { decodeCells, type Cell } from '../../shared/cell.ts';
import { Link } from '../../shared/link.ts';
import type { RelayNode } from '../../shared/relay-node.ts';

export interface HostileLink {
  /** Feeds one message to the node, as if it had arrived on the WebSocket. */
  send(message: Uint8Array): void;
  /** Every cell the node sent, once its batching microtask ran. */
  replies(): Cell[];
  /** How the node closed the link: "code reason", at most once if the node is correct. */
  closes: string[];
  /** The peer goes away: the node tears down whatever the link carried. */
  hangUp(): void;
}

export function hostileLink(node: RelayNode): HostileLink {
  const sent: Uint8Array[] = [];
  const closes: string[] = [];
  const link = new Link(
    { bufferedAmount: 0, send: (message) => sent.push(message.slice()), close: (code, reason) => closes.push(`${code} ${reason}`) },
    false,
    'hostile',
  );
  node.addLink(link);
  return {
    send: (message) => link.receive(message),
    replies: () => sent.flatMap((message) => decodeCells(message)),
    closes,
    hangUp: () => link.transportClosed('LINK_CLOSED', 'hostile peer left'),
  };
}
