// The baseline: source → 3 forwarding hops → sink, each its own process, as bare as a WebSocket
// relay path can be. Its throughput is what the transport alone allows on this machine; Allium's
// figures are reported as a ratio to it.
import { BIN_NODE_FLAGS } from '../test/support/processes.ts';
import { startScript } from './processes.ts';

export const CHAIN_HOPS = 3;

export interface Chain {
  pids: number[];
  /** Moves `bytes` from source to sink; resolves with the elapsed seconds. */
  transfer(bytes: number): Promise<number>;
}

export async function startChain(aes: boolean): Promise<Chain> {
  const sink = await startScript<{ url: string }>('chain-sink');
  const hops = [];
  let next = sink.ready.url;
  for (let i = 0; i < CHAIN_HOPS; i++) {
    // With the relays' Node flags: the hops must run under the garbage collector settings of
    // the relays they are compared with (docs/PERFORMANCE.md, change 14). The source and the
    // sink, like the bench client and bench/sink.ts at the ends of Allium's path, run without.
    const hop = await startScript<{ url: string }>('chain-hop', ['--next', next, ...(aes ? ['--aes'] : [])], BIN_NODE_FLAGS);
    hops.unshift(hop);
    next = hop.ready.url;
  }
  const source = await startScript<object>('chain-source', ['--next', next]);
  let delivered = 0;
  return {
    pids: [source, ...hops, sink].map((s) => s.process.pid!),
    async transfer(bytes) {
      delivered += bytes;
      const started = performance.now();
      const arrived = sink.request({ until: delivered });
      await source.request({ send: bytes });
      await arrived;
      return (performance.now() - started) / 1000;
    },
  };
}
