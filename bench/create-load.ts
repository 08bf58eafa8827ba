// The CREATE load generator, a separate process so that the relay under test has its core to
// itself: it opens one link to --url and answers JSON commands on stdin:
//   {"rate":MS,"inflight":K}  keeps K CREATEs outstanding for MS ms, destroying each circuit as
//                             soon as its CREATED arrives; → {"created":N,"refused":R,"seconds":S}
//   {"hold":N}                builds circuits until N are open and leaves them idle; → {"open":N}
//   {"release":true}          destroys every held circuit; → {"open":0}
// The handshakes are real ntor requests for the relay's keys (the relay cannot tell them from a
// client's); the client half is never finished, as a load generator has no use for the keys.
import { parseArgs } from 'node:util';
import { fromBase64Url } from '../shared/bytes.ts';
import { CELL_COMMANDS, encodeCell, type Cell } from '../shared/cell.ts';
import { encodeCreate, encodeDestroy } from '../shared/control-cells.ts';
import { clientHandshakeStart } from '../shared/handshake.ts';
import { openWebSocketLink } from '../shared/websocket-link.ts';
import { nodeCrypto } from '../node/crypto.ts';
import { nodeWebSocketFactory } from '../node/websocket.ts';
import { serveCommands } from './processes.ts';

const { values } = parseArgs({ options: { url: { type: 'string' }, identity: { type: 'string' }, onion: { type: 'string' } } });
const identityKey = fromBase64Url(values.identity!);
const onionKey = fromBase64Url(values.onion!);
/** Distinct ephemeral keys, reused in turn: generating one per CREATE would load this process, not the relay. */
const CREATE_BODIES = Array.from({ length: 256 }, () => encodeCreate(clientHandshakeStart(nodeCrypto, identityKey, onionKey).message));
const DESTROY_BODY = encodeDestroy('NONE');

// A relay closes a link on which no circuit is created within its handshake timeout, so the
// link is opened only when the first command comes.
let linkPromise: ReturnType<typeof openWebSocketLink> | undefined;
const pending = new Map<number, (created: boolean) => void>();
const held = new Set<number>();
let nextId = 1;

async function link() {
  linkPromise ??= openWebSocketLink(nodeWebSocketFactory(), values.url!, 10_000).then((l) => {
    l.handlers = {
      onCell: (cell: Cell) => {
        const settle = pending.get(cell.circuitId);
        if (!settle) return;
        pending.delete(cell.circuitId);
        settle(cell.command === CELL_COMMANDS.CREATED);
      },
      onClose: (reason, detail) => {
        process.stderr.write(`create-load: link closed: ${reason}: ${detail}\n`);
        process.exit(1);
      },
    };
    return l;
  });
  return linkPromise;
}

/** Sends one CREATE; resolves with its circuit id once answered (undefined if refused). */
async function create(): Promise<number | undefined> {
  const l = await link();
  const id = nextId++;
  const created = new Promise<boolean>((resolve) => pending.set(id, resolve));
  l.send(encodeCell(id, CELL_COMMANDS.CREATE, CREATE_BODIES[id % CREATE_BODIES.length]));
  return (await created) ? id : undefined;
}

async function destroy(id: number): Promise<void> {
  (await link()).send(encodeCell(id, CELL_COMMANDS.DESTROY, DESTROY_BODY));
}

async function rate(ms: number, inflight: number) {
  let created = 0;
  let refused = 0;
  const started = performance.now();
  const deadline = started + ms;
  const worker = async () => {
    while (performance.now() < deadline) {
      const id = await create();
      if (id === undefined) refused++;
      else {
        created++;
        await destroy(id);
      }
    }
  };
  await Promise.all(Array.from({ length: inflight }, worker));
  return { created, refused, seconds: (performance.now() - started) / 1000 };
}

async function hold(count: number) {
  let toCreate = count - held.size;
  const worker = async () => {
    while (toCreate > 0) {
      toCreate--;
      const id = await create();
      if (id === undefined) throw new Error('the relay refused a circuit while filling it with idle circuits');
      held.add(id);
    }
  };
  await Promise.all(Array.from({ length: 128 }, worker));
  return { open: held.size };
}

serveCommands(async (command: { rate?: number; inflight?: number; hold?: number; release?: boolean }) => {
  if (command.rate !== undefined) return rate(command.rate, command.inflight ?? 64);
  if (command.hold !== undefined) return hold(command.hold);
  for (const id of held) await destroy(id);
  held.clear();
  return { open: 0 };
});
process.stdout.write('{}\n');
