// The CREATE load generator, a separate process so that the relay under test has its core to
// itself: it opens one link to --url and answers JSON commands on stdin:
//   {"rate":MS,"inflight":K}  keeps K circuits in the making for MS ms: each is a CREATE and,
//                             once CREATED arrives, one RELAY cell that the relay decrypts, fails
//                             to recognise and answers with DESTROY (INTEGRITY_ERROR), so that
//                             each circuit costs the relay its first cipher context as well;
//                             → {"created":N,"refused":R,"seconds":S}
//   {"hold":N}                builds circuits until N are open and leaves them idle (no cell
//                             after CREATED); → {"open":N}
//   {"release":true}          destroys every held circuit; → {"open":0}
// The handshakes are real ntor requests for the relay's keys (the relay cannot tell them from a
// client's); the client half is never finished (two X25519 per circuit would load this process
// about as much as the relay), so the RELAY cell is random bytes rather than a sealed message.
import { parseArgs } from 'node:util';
import { fromBase64Url } from '../shared/bytes.ts';
import { CELL_BODY_SIZE, CELL_COMMANDS, type Cell, type CellCommand } from '../shared/cell.ts';
import { decodeDestroy, encodeCreate, encodeDestroy } from '../shared/control-cells.ts';
import type { ReasonName } from '../shared/errors.ts';
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
/** Decrypts to noise under every circuit's keys: the relay's tag check fails. */
const RELAY_BODY = nodeCrypto.randomBytes(CELL_BODY_SIZE);

// A relay closes a link on which no circuit is created within its handshake timeout, so the
// link is opened only when the first command comes.
let linkPromise: ReturnType<typeof openWebSocketLink> | undefined;
/** The relay's answer on a circuit: its command and, for DESTROY, the reason. */
interface Answer {
  command: number;
  reason?: ReasonName;
}
/** The circuits waiting for the relay's answer, by id. */
const pending = new Map<number, (answer: Answer) => void>();
const held = new Set<number>();
let nextId = 1;

async function link() {
  linkPromise ??= openWebSocketLink(nodeWebSocketFactory(), values.url!, 10_000).then((l) => {
    l.handlers = {
      onCells: (cells: Cell[]) => {
        for (const cell of cells) {
          const settle = pending.get(cell.circuitId);
          if (!settle) continue;
          pending.delete(cell.circuitId);
          settle({ command: cell.command, reason: cell.command === CELL_COMMANDS.DESTROY ? decodeDestroy(cell.body) : undefined });
        }
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

/** Sends one cell on circuit `id` and resolves with the relay's next cell on it. */
async function exchange(id: number, command: CellCommand, body: Uint8Array): Promise<Answer> {
  const l = await link();
  const answer = new Promise<Answer>((resolve) => pending.set(id, resolve));
  l.send(id, command, body);
  return answer;
}

/** Sends one CREATE; resolves with its circuit id once answered (undefined if refused). */
async function create(): Promise<number | undefined> {
  const id = nextId++;
  const answer = await exchange(id, CELL_COMMANDS.CREATE, CREATE_BODIES[id % CREATE_BODIES.length]);
  return answer.command === CELL_COMMANDS.CREATED ? id : undefined;
}

/** One RELAY cell on a fresh circuit; the relay must decrypt it, then destroy the circuit. */
async function relayCellThenDestroyed(id: number): Promise<void> {
  const answer = await exchange(id, CELL_COMMANDS.RELAY, RELAY_BODY);
  if (answer.reason !== 'INTEGRITY_ERROR') {
    throw new Error(`create-load: the relay answered a noise RELAY cell with command ${answer.command} (${answer.reason ?? 'no reason'}), not DESTROY (INTEGRITY_ERROR)`);
  }
}

async function destroy(id: number): Promise<void> {
  (await link()).send(id, CELL_COMMANDS.DESTROY, DESTROY_BODY);
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
        await relayCellThenDestroyed(id);
        created++;
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
