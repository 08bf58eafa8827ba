// A client's view of the network: the verified relay lists of every pool it trusts, merged.
// `fetch` is injected so the same code runs in Node, in the extension, and through a circuit
// (a client may refresh its list without the pool seeing its address).
import { fromUtf8 } from './bytes.ts';
import type { CryptoProvider } from './crypto/provider.ts';
import type { RelayDescriptor } from './descriptor.ts';
import { MAX_LIST_CHARS, verifyRelayList } from './relay-list.ts';

/** A pool and the Ed25519 key (base64url) the client pins for it. */
export type PoolRef = { url: string; key: string };
/** A relay with the URLs of the pools that list it. */
export type DirectoryRelay = RelayDescriptor & { pools: string[] };
export type DirectoryOptions = {
  fetch: typeof fetch;
  crypto: CryptoProvider;
  now?: number;
  /** Per pool request; default 10 s. */
  timeoutMs?: number;
};

const DEFAULT_TIMEOUT_MS = 10_000;

/** URL of an API path on a pool; keeps any path prefix the pool is served under. */
export function poolEndpoint(poolUrl: string, path: string): string {
  return poolUrl.replace(/\/+$/, '') + path;
}

/** Reads and parses a JSON body, refusing more than maxBytes whatever the server claims. */
export async function readJsonResponse(response: Response, maxBytes: number): Promise<unknown> {
  const declared = Number(response.headers.get('content-length') ?? 0);
  if (declared > maxBytes) {
    await response.body?.cancel();
    throw new Error(`response larger than ${maxBytes} bytes`);
  }
  const chunks: Uint8Array[] = [];
  let total = 0;
  if (response.body) {
    const reader = response.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.length;
      if (total > maxBytes) {
        await reader.cancel();
        throw new Error(`response larger than ${maxBytes} bytes`);
      }
      chunks.push(value);
    }
  }
  const body = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.length;
  }
  try {
    return JSON.parse(fromUtf8(body));
  } catch {
    throw new Error('response is not valid UTF-8 JSON');
  }
}

/** Fetches one pool's list and verifies it against the pinned key; throws Error naming the pool. */
export async function fetchRelayList(pool: PoolRef, opts: DirectoryOptions): Promise<DirectoryRelay[]> {
  try {
    const response = await opts.fetch(poolEndpoint(pool.url, '/v1/relays'), {
      headers: { accept: 'application/json' },
      signal: AbortSignal.timeout(opts.timeoutMs ?? DEFAULT_TIMEOUT_MS),
    });
    if (!response.ok) {
      await response.body?.cancel();
      throw new Error(`HTTP ${response.status}`);
    }
    const envelope = await readJsonResponse(response, MAX_LIST_CHARS);
    const { relays } = verifyRelayList(envelope, pool.key, opts.crypto, opts.now ?? Date.now());
    return relays.map((relay) => ({ ...relay, pools: [pool.url] }));
  } catch (err) {
    throw new Error(`pool ${pool.url}: ${describeFailure(err)}`);
  }
}

/**
 * Fetches every pool in parallel and merges their relays by id (the newest descriptor wins, the
 * pools lists are united). Pools that fail are reported in `errors`; throws only if none answered.
 */
export async function fetchDirectory(
  pools: PoolRef[],
  opts: DirectoryOptions,
): Promise<{ relays: DirectoryRelay[]; errors: { pool: string; error: string }[] }> {
  if (pools.length === 0) throw new Error('no pool given');
  const results = await Promise.allSettled(pools.map((pool) => fetchRelayList(pool, opts)));
  const byId = new Map<string, DirectoryRelay>();
  const errors: { pool: string; error: string }[] = [];
  results.forEach((result, index) => {
    if (result.status === 'rejected') {
      errors.push({ pool: pools[index].url, error: describeFailure(result.reason) });
      return;
    }
    for (const relay of result.value) {
      const known = byId.get(relay.id);
      if (known === undefined) {
        byId.set(relay.id, relay);
        continue;
      }
      const newest = relay.published > known.published ? relay : known;
      byId.set(relay.id, { ...newest, pools: [...new Set([...known.pools, ...relay.pools])] });
    }
  });
  if (errors.length === pools.length) {
    throw new Error(`no pool answered with a valid relay list: ${errors.map((e) => e.error).join('; ')}`);
  }
  return { relays: [...byId.values()], errors };
}

/** fetch() reports network failures as "fetch failed" with the reason in `cause`. */
function describeFailure(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = err.cause instanceof Error ? `: ${err.cause.message}` : '';
  return err.message + cause;
}
