// TEMPORARY experiment (not committed): relay RSS idle / 1,000 / 10,000 circuits under RELAY_NODE_OPTIONS.
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fetchDirectory } from '../shared/directory.ts';
import { nodeCrypto } from '../node/crypto.ts';
import { startNetwork, compileLib } from './network.ts';
import { relayMemory, startCreateLoad, relayHandshakes } from './relay-load.ts';
import { stopChildren } from './processes.ts';

await compileLib();
const inherited = process.env.NODE_OPTIONS;
process.env.NODE_OPTIONS = process.env.RELAY_NODE_OPTIONS ?? '';
const network = await startNetwork(mkdtempSync(join(os.tmpdir(), 'memx-')));
if (inherited === undefined) delete process.env.NODE_OPTIONS; else process.env.NODE_OPTIONS = inherited;
const { relays: listed } = await fetchDirectory([network.poolRef], { fetch, crypto: nodeCrypto });
const loaded = network.relays[0];
const load = await startCreateLoad(listed.find((r) => r.id === loaded.ready.id)!);
const m = await relayMemory(load, loaded.process.pid!, [1000, 10000], () => {});
const h = await relayHandshakes(load, loaded.process.pid!, 5000, 64);
console.log(JSON.stringify({ opts: process.env.RELAY_NODE_OPTIONS, idle: m.idleBytes / 2 ** 20, with: m.withCircuits.map((w) => w.bytes / 2 ** 20), perCircuit: (m.withCircuits[1].bytes - m.idleBytes) / 10000, hs: Math.round(h.perRelayCpuSecond) }));
load.process.kill('SIGTERM');
await stopChildren();
process.exit(0);
