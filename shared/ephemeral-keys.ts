// Ephemeral X25519 key pairs made ahead of the handshakes that use them. Making a pair is a third
// of a handshake's public-key work (about 40 µs with node:crypto, a millisecond with @noble); done
// in idle time it leaves the path of a circuit build, where the client and every relay would
// otherwise make one between receiving a message and answering it (docs/PERFORMANCE.md).
//
// Each pair is handed out once and dropped from the reserve, so forward secrecy is unchanged: a
// pair only waits, unused, for the next handshake.
import type { CryptoProvider, KeyPair } from './crypto/provider.ts';

/** Enough for a 3-hop build from the client, one relay's next few CREATEs. */
export const RESERVE_SIZE = 3;

const reserves = new WeakMap<CryptoProvider, { ready: KeyPair[]; refillScheduled: boolean }>();

/**
 * A fresh key pair: one made ahead if any is ready, else one made now. Either way the reserve is
 * topped up later, in a timer task, so that the answer being prepared leaves first.
 */
export function takeEphemeralKeyPair(crypto: CryptoProvider): KeyPair {
  let reserve = reserves.get(crypto);
  if (!reserve) reserves.set(crypto, (reserve = { ready: [], refillScheduled: false }));
  const pair = reserve.ready.pop() ?? crypto.x25519Keygen();
  if (!reserve.refillScheduled) {
    reserve.refillScheduled = true;
    const refill = reserve;
    const timer = setTimeout(() => {
      refill.refillScheduled = false;
      while (refill.ready.length < RESERVE_SIZE) refill.ready.push(crypto.x25519Keygen());
    }, 0);
    // Never the reason a process stays up (Node's timers have unref; browsers' do not need it).
    (timer as { unref?: () => void }).unref?.();
  }
  return pair;
}
