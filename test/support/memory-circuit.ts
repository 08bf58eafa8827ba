// A client circuit over the in-memory network (memory-network.ts), and the check that a circuit
// still carries data end to end: what the fuzz and DoS tests use as their "good client".
import { ClientCircuit } from '../../shared/client/circuit.ts';
import type { TpdpError } from '../../shared/errors.ts';
import type { memoryNetwork } from './memory-network.ts';

type MemoryNetwork = ReturnType<typeof memoryNetwork>;

export async function memoryCircuit(net: MemoryNetwork, path: string[], circuitId = 1) {
  const link = net.connect(path[0]);
  const closed: TpdpError[] = [];
  const circuit = new ClientCircuit({ crypto: net.crypto, link, circuitId, handshakeTimeoutMs: 5000, maxStreams: 1024, onClose: (_c, error) => closed.push(error) });
  const linkCloses: string[] = [];
  link.handlers = {
    onCells: (cells) => circuit.handleCells(cells),
    onClose: (reason, detail) => {
      linkCloses.push(reason);
      circuit.linkClosed(reason, detail);
    },
  };
  await circuit.build(path.map((name) => net.relays.get(name)!.target));
  return { link, circuit, closed, linkCloses };
}

/** Sends `size` bytes on a new stream to an echo exit and checks every byte comes back in order. */
export async function echoesIntact(circuit: ClientCircuit, size = 2000): Promise<boolean> {
  const stream = await circuit.openStream({ kind: 'connect', host: 'echo.test', port: 7 });
  const payload = Uint8Array.from({ length: size }, (_, i) => (i * 31 + size) & 0xff);
  const received: number[] = [];
  const done = new Promise<void>((resolve, reject) => {
    stream.onData = (chunk) => {
      received.push(...chunk);
      stream.consumed();
      if (received.length >= size) resolve();
    };
    stream.onClose = (error) => reject(error ?? new Error('stream closed before the echo came back'));
  });
  stream.write(payload);
  await done;
  stream.close('DONE');
  return received.length === size && received.every((byte, i) => byte === payload[i]);
}
