// An in-memory network for socket-free protocol tests: relay nodes joined by Link pairs whose
// messages are delivered asynchronously (like a WebSocket) and copied (receivers decrypt in place).
import { nobleCrypto } from '../../shared/crypto/noble.ts';
import type { CryptoProvider } from '../../shared/crypto/provider.ts';
import type { RelayKeys } from '../../shared/handshake.ts';
import { Link } from '../../shared/link.ts';
import { silentLog } from '../../shared/log-sink.ts';
import { RelayNode, type RelayNodeOptions } from '../../shared/relay-node.ts';
import type { HopTarget } from '../../shared/client/circuit.ts';
import type { CircuitStream } from '../../shared/stream.ts';
import { toBase64Url } from '../../shared/bytes.ts';
import type { DirectoryRelay } from '../../shared/directory.ts';
import { ACCEPT_ALL } from '../../shared/port-policy.ts';

/** An exit that echoes every stream: what comes in goes back. */
export function echoExit(stream: CircuitStream): void {
  stream.onData = (chunk) => {
    stream.write(chunk);
    stream.consumed();
  };
  stream.onFinish = () => stream.finish();
  stream.accept();
}

export interface Tap {
  /** Sees (and may change, drop: return null, or split: return several) each message from `from` toward `to`. */
  (message: Uint8Array, from: string, to: string): Uint8Array | Uint8Array[] | null;
}

export function linkPair(a: string, b: string, tap?: Tap, keepaliveMs?: number): [Link, Link] {
  let left: Link;
  let right: Link;
  const transport = (self: () => Link, peer: () => Link, from: string, to: string) => ({
    bufferedAmount: 0,
    send(message: Uint8Array) {
      const copy = message.slice();
      queueMicrotask(() => {
        const delivered = tap ? tap(copy, from, to) : copy;
        for (const each of Array.isArray(delivered) ? delivered : delivered ? [delivered] : []) peer().receive(each);
      });
    },
    close(code: number, reason: string) {
      queueMicrotask(() => peer().transportClosed('LINK_CLOSED', `${code} ${reason}`));
    },
  });
  left = new Link(transport(() => left, () => right, a, b), true, b, keepaliveMs);
  right = new Link(transport(() => right, () => left, b, a), false, a, keepaliveMs);
  return [left, right];
}

/** A peer that writes raw bytes to a relay, seeing only how the relay closes the link. */
export function rawConnection(node: RelayNode) {
  const closes: string[] = [];
  const relaySide = new Link({ bufferedAmount: 0, send: () => {}, close: (code, reason) => closes.push(`${code} ${reason}`) }, false, 'raw');
  node.addLink(relaySide);
  return { send: (bytes: Uint8Array) => relaySide.receive(bytes), closes };
}

export interface MemoryRelay {
  name: string;
  url: string;
  keys: RelayKeys;
  node: RelayNode;
  target: HopTarget;
}

export function memoryNetwork(
  names: string[],
  options: { crypto?: CryptoProvider; tap?: Tap; exit?: RelayNodeOptions['exit']; limits?: RelayNodeOptions['limits']; keysFor?: (name: string) => RelayKeys } = {},
) {
  const crypto = options.crypto ?? nobleCrypto;
  const relays = new Map<string, MemoryRelay>();
  for (const name of names) {
    const keys = options.keysFor?.(name) ?? { identity: crypto.ed25519Keygen(), onion: crypto.x25519Keygen() };
    const url = `ws://${name}.test`;
    const node = new RelayNode({
      crypto,
      keys,
      limits: options.limits,
      log: silentLog,
      openLink: async (target) => {
        const peer = [...relays.values()].find((r) => r.url === target);
        if (!peer) throw new Error(`no relay at ${target}`);
        const [mine, theirs] = linkPair(name, peer.name, options.tap);
        peer.node.addLink(theirs);
        return mine;
      },
      checkExtend: async () => undefined,
      exit: options.exit ?? ((stream) => stream.close('EXIT_POLICY_REFUSED')),
    });
    relays.set(name, {
      name,
      url,
      keys,
      node,
      target: { id: name, url, identityKey: keys.identity.publicKey, onionKey: keys.onion.publicKey },
    });
  }
  /** The relays as a verified pool list would give them. */
  const directory = (pools = ['http://pool.test']): DirectoryRelay[] =>
    [...relays.values()].map((r) => ({
      version: 2,
      id: r.name,
      identityKey: toBase64Url(r.keys.identity.publicKey),
      onionKey: toBase64Url(r.keys.onion.publicKey),
      url: r.url,
      outbound: [],
      exit: { allowPrivate: false, policy: ACCEPT_ALL },
      bandwidth: 0,
      published: Date.now(),
      nonce: 'AAAAAAAAAAAAAAAAAAAAAA',
      pools,
    }));
  /** A client link to a relay, by name or URL. */
  const connect = (nameOrUrl: string): Link => {
    const name = [...relays.values()].find((r) => r.url === nameOrUrl)?.name ?? nameOrUrl;
    const relay = relays.get(name)!;
    const [mine, theirs] = linkPair('client', name, options.tap);
    relay.node.addLink(theirs);
    return mine;
  };
  return { crypto, relays, connect, directory };
}
