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

interface Reserve {
  ready: KeyPair[];
  refilling: boolean;
  /** The provider's x25519KeygenAsync failed once (a browser without X25519 in WebCrypto). */
  asyncFailed: boolean;
}

const reserves = new WeakMap<CryptoProvider, Reserve>();

/**
 * A fresh key pair: one made ahead if any is ready, else one made now. Either way the reserve is
 * topped up later, so that the answer being prepared leaves first: off the thread by the
 * provider's x25519KeygenAsync if it has one, else in a timer task.
 */
export function takeEphemeralKeyPair(crypto: CryptoProvider): KeyPair {
  let reserve = reserves.get(crypto);
  if (!reserve) reserves.set(crypto, (reserve = { ready: [], refilling: false, asyncFailed: false }));
  const pair = reserve.ready.pop() ?? crypto.x25519Keygen();
  if (!reserve.refilling) refill(crypto, reserve);
  return pair;
}

function refill(crypto: CryptoProvider, reserve: Reserve): void {
  reserve.refilling = true;
  const makeAsync = reserve.asyncFailed ? undefined : crypto.x25519KeygenAsync?.bind(crypto);
  if (makeAsync) {
    const missing = RESERVE_SIZE - reserve.ready.length;
    Promise.all(Array.from({ length: missing }, () => makeAsync())).then(
      (pairs) => {
        reserve.ready.push(...pairs.slice(0, RESERVE_SIZE - reserve.ready.length));
        reserve.refilling = false;
      },
      () => {
        reserve.asyncFailed = true;
        refill(crypto, reserve);
      },
    );
    return;
  }
  const timer = setTimeout(() => {
    reserve.refilling = false;
    while (reserve.ready.length < RESERVE_SIZE) reserve.ready.push(crypto.x25519Keygen());
  }, 0);
  // Never the reason a process stays up (Node's timers have unref; browsers' do not need it).
  (timer as { unref?: () => void }).unref?.();
}
