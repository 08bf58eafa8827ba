// `npm run bench` (docs/PERFORMANCE.md): compiles lib/, starts a pool and three relays from it
// (as deployed) and a sink as separate processes on loopback, plus the baseline WebSocket chains
// and, last, Chromium with the extension, measures every figure of the performance issue in one
// run and prints a table (or, with --json, one JSON object). Progress goes to stderr. Every child
// process (the browser included) is stopped at the end, on failure and on Ctrl-C.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createNodeClient } from '../node/client.ts';
import { nodeCrypto } from '../node/crypto.ts';
import type { AlliumClient } from '../shared/client/client.ts';
import { fetchDirectory } from '../shared/directory.ts';
import { startChain, type Chain } from './chain.ts';
import { extensionFigures } from './extension.ts';
import { circuitBuildTimes, firstByteTimes } from './latency.ts';
import { compileLib, startNetwork, type Network } from './network.ts';
import { stopChildren } from './processes.ts';
import { monotonicUs, profileSelf, readProfile, summarizeProfiles, type CpuProfile, type Window } from './profile.ts';
import { relayHandshakes, relayMemory, startCreateLoad } from './relay-load.ts';
import { evaluateTargets, renderTable, summarizeLatency, type BenchResult } from './report.ts';
import { MIB, round } from './stats.ts';
import { elapsedSeconds, status, statusDone } from './status.ts';
import { parallelDownloads, prepareCircuits, summarizeRounds, timed, type RoundSample } from './throughput.ts';

const HELP = `Usage: npm run bench [-- --json] [-- --profile] [-- --rounds N]

Measures Allium on loopback with real processes (a pool and 3 relays running the allium bin,
compiled first from the current sources into lib/, and a sink) against a bare WebSocket chain
of the same shape, then the Chrome extension in Chromium (page loads in an anonymous vs a
normal tab, and in two tabs whose requests the bench answers itself, directly and through the
client core; circuit builds), and checks the targets of docs/PERFORMANCE.md.

  --json       print one JSON object on stdout instead of the table
  --profile    run the relays under node --cpu-prof and profile this process (the client);
               reports the top self-time functions of the single-stream runs and keeps the
               .cpuprofile files (open them in Chrome DevTools)
  --rounds N   throughput rounds, each: chain plain, chain AES, one stream, 16 circuits (default 3)
`;

const TRANSFER_BYTES = 64 * MIB;
const WARMUP_BYTES = 8 * MIB;
const PARALLEL_CIRCUITS = 16;
// As many warm-up builds and fetches as measured ones: five freshly started processes build their
// first hundred circuits 30–40 % slower than later ones (V8 still compiling, heaps still growing),
// and the figures are those of a network that has been running (docs/PERFORMANCE.md, Method).
const BUILDS = { warmup: 150, samples: 150 };
const FETCHES = { warmup: 200, samples: 200 };
const HANDSHAKE_WINDOW_MS = 5000;
const HANDSHAKES_IN_FLIGHT = 64;
const IDLE_CIRCUITS = [1000, 10_000];
/** Page loads per tab and builds in the extension; the timeout keeps a stuck browser from stalling the run. */
const EXTENSION = { loads: { warmup: 1, samples: 20 }, builds: { warmup: 2, samples: 20 }, timeoutMs: 120_000 };

const { values: args } = parseArgs({
  options: { json: { type: 'boolean' }, profile: { type: 'boolean' }, rounds: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
});
if (args.help) {
  process.stdout.write(HELP);
  process.exit(0);
}
const rounds = Number(args.rounds ?? 3);
if (!Number.isInteger(rounds) || rounds < 1) {
  process.stderr.write(`bench: --rounds must be a positive integer, got "${args.rounds}"\n`);
  process.exit(2);
}

/** Relays stop first, so that they exit cleanly (and write their profiles) while the pool is up. */
const relayPids: number[] = [];
const networkDir = mkdtempSync(join(os.tmpdir(), 'allium-bench-'));
const profileDir = args.profile ? mkdtempSync(join(os.tmpdir(), 'allium-bench-profiles-')) : undefined;
let interrupted = false;

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    interrupted = true;
    status(`${signal}: stopping every process`);
    void stopChildren(relayPids).finally(() => {
      removeTemporaryFiles(true);
      statusDone();
      process.exit(130);
    });
  });
}

function removeTemporaryFiles(withProfiles: boolean): void {
  rmSync(networkDir, { recursive: true, force: true });
  if (profileDir && withProfiles) rmSync(profileDir, { recursive: true, force: true });
}

const chainProcesses = (chain: Chain) => Object.fromEntries(chain.pids.map((pid, i) => [i === 0 ? 'source' : i === chain.pids.length - 1 ? 'sink' : `hop ${i}`, pid]));

/** Processes of the single-stream circuit by role, so the report says which relay did what. */
function circuitProcesses(client: AlliumClient, network: Network, isolationKey: string): Record<string, number> {
  const path = client.circuitFor(isolationKey)!.relays;
  const pidOf = (id: string) => network.relays.find((r) => r.ready.id === id)!.process.pid!;
  return { client: process.pid, guard: pidOf(path[0].id), middle: pidOf(path[1].id), exit: pidOf(path[2].id), sink: network.sink.process.pid! };
}

interface Measured {
  result: Omit<BenchResult, 'targets' | 'durationSeconds'>;
  /** For --profile: where the single-stream runs happened, and the client's own profiles. */
  singleStream: { windows: Window[]; clientProfiles: CpuProfile[]; roles: Record<string, number> };
}

async function measure(): Promise<Measured> {
  const loadAverageAtStart = os.loadavg().map((x) => round(x, 2));
  status('compiling lib/ for the pool and relays (tsc -p tsconfig.lib.json)');
  await compileLib();
  status('starting a pool, 3 relays and the sink');
  const network = await startNetwork(networkDir, profileDir);
  relayPids.push(...network.relays.map((r) => r.process.pid!));
  const { relays: listed } = await fetchDirectory([network.poolRef], { fetch, crypto: nodeCrypto });
  const loaded = network.relays[0];
  const loadedRelay = listed.find((r) => r.id === loaded.ready.id)!;

  status('relay memory: idle');
  const load = await startCreateLoad(loadedRelay);
  const memory = await relayMemory(load, loaded.process.pid!, IDLE_CIRCUITS, status);
  status(`relay handshakes: ${HANDSHAKE_WINDOW_MS / 1000} s of CREATE load from a separate process`);
  const handshakes = await relayHandshakes(load, loaded.process.pid!, HANDSHAKE_WINDOW_MS, HANDSHAKES_IN_FLIGHT);
  load.process.kill('SIGTERM');

  const client = createNodeClient({ pools: [network.poolRef] });
  try {
    const builds = await circuitBuildTimes(client, { ...BUILDS, onProgress: (n) => status(`circuit builds: ${n}/${BUILDS.warmup + BUILDS.samples}`) });
    const firstBytes = await firstByteTimes(client, `${network.sink.ready.httpUrl}/bytes/1024`, {
      ...FETCHES,
      onProgress: (n) => status(`first byte of 1 KiB fetches: ${n}/${FETCHES.warmup + FETCHES.samples}`),
    });

    status('starting the baseline chains (plain and AES), 5 processes each');
    const plain = await startChain(false);
    const aes = await startChain(true);
    const bulkKey = 'bulk';
    const parallelKeys = Array.from({ length: PARALLEL_CIRCUITS }, (_, i) => `parallel-${i}`);
    status('building the throughput circuits');
    await prepareCircuits(client, [bulkKey, ...parallelKeys]);
    const port = network.sink.ready.tcpPort;
    status('warm-up transfers');
    await plain.transfer(WARMUP_BYTES);
    await aes.transfer(WARMUP_BYTES);
    await parallelDownloads(client, port, WARMUP_BYTES, [bulkKey]);
    await parallelDownloads(client, port, WARMUP_BYTES / PARALLEL_CIRCUITS, parallelKeys);

    const roles = circuitProcesses(client, network, bulkKey);
    const relayNames = Object.fromEntries(network.relays.map((r, i) => [`relay ${i}`, r.process.pid!]));
    const parallelProcesses = { client: process.pid, ...relayNames, sink: network.sink.process.pid! };
    const samples = { plain: [] as RoundSample[], aes: [] as RoundSample[], one: [] as RoundSample[], sixteen: [] as RoundSample[] };
    const windows: Window[] = [];
    const clientProfiles: CpuProfile[] = [];
    const mib = TRANSFER_BYTES / MIB;
    for (let i = 1; i <= rounds; i++) {
      status(`round ${i}/${rounds}: bare chain, plain, ${mib} MiB`);
      samples.plain.push(await timed(TRANSFER_BYTES, chainProcesses(plain), () => plain.transfer(TRANSFER_BYTES)));
      status(`round ${i}/${rounds}: bare chain, AES-256-CTR, ${mib} MiB`);
      samples.aes.push(await timed(TRANSFER_BYTES, chainProcesses(aes), () => aes.transfer(TRANSFER_BYTES)));
      status(`round ${i}/${rounds}: Allium, one stream, ${mib} MiB`);
      samples.one.push(
        await timed(TRANSFER_BYTES, roles, async () => {
          const window = { startUs: monotonicUs(), endUs: 0 };
          const download = () => parallelDownloads(client, port, TRANSFER_BYTES, [bulkKey]);
          if (profileDir) clientProfiles.push((await profileSelf(download)).profile);
          else await download();
          window.endUs = monotonicUs();
          windows.push(window);
        }),
      );
      status(`round ${i}/${rounds}: Allium, ${PARALLEL_CIRCUITS} streams on ${PARALLEL_CIRCUITS} circuits, ${mib} MiB`);
      samples.sixteen.push(await timed(TRANSFER_BYTES, parallelProcesses, () => parallelDownloads(client, port, TRANSFER_BYTES / PARALLEL_CIRCUITS, parallelKeys)));
    }

    // Last, so that the extension's circuits are not in the relay memory figures and the browser
    // does not compete with the throughput rounds for the two cores.
    const extension = await extensionFigures({
      ...EXTENSION,
      pool: network.poolRef,
      client,
      pageUrl: `${network.sink.ready.httpUrl}/page`,
      page: 'bench/sink.ts /page: HTML, CSS, script and 4 images, 118 KiB',
      onStatus: status,
    });

    const idleBytes = memory.idleBytes;
    const most = memory.withCircuits[memory.withCircuits.length - 1];
    return {
      singleStream: { windows, clientProfiles, roles },
      result: {
        machine: { cores: os.availableParallelism(), cpuModel: os.cpus()[0]?.model ?? 'unknown', node: process.version, loadAverageAtStart },
        rounds,
        circuitBuild: summarizeLatency(builds),
        firstByte: summarizeLatency(firstBytes),
        oneStream: summarizeRounds(TRANSFER_BYTES, samples.one, samples.aes),
        sixteenCircuits: summarizeRounds(TRANSFER_BYTES, samples.sixteen, samples.aes),
        baseline: { plain: summarizeRounds(TRANSFER_BYTES, samples.plain), aes: summarizeRounds(TRANSFER_BYTES, samples.aes) },
        handshakes: {
          perSecond: round(handshakes.perSecond),
          perRelayCpuSecond: round(handshakes.perRelayCpuSecond),
          created: handshakes.created,
          refused: handshakes.refused,
          cpuPercent: Object.fromEntries(Object.entries(handshakes.cpuPercent).map(([name, p]) => [name, Math.round(p)])),
        },
        memory: {
          idleMiB: round(idleBytes / MIB),
          withCircuits: memory.withCircuits.map((m) => ({ circuits: m.circuits, mib: round(m.bytes / MIB) })),
          bytesPerCircuit: Math.round((most.bytes - idleBytes) / most.circuits),
        },
        extension,
      },
    };
  } finally {
    client.close();
  }
}

/** The top self-time functions of each process of the single-stream circuit, during its runs. */
function profileSummaries(singleStream: Measured['singleStream']): BenchResult['profile'] {
  const dir = profileDir!;
  const summaries: NonNullable<BenchResult['profile']> = { client: summarizeProfiles(singleStream.clientProfiles, [{ startUs: 0, endUs: Infinity }]) };
  singleStream.clientProfiles.forEach((profile, i) => writeFileSync(join(dir, `client-round-${i + 1}.cpuprofile`), JSON.stringify(profile)));
  for (const role of ['guard', 'middle', 'exit']) summaries[role] = summarizeProfiles([readProfile(dir, singleStream.roles[role])], singleStream.windows);
  return summaries;
}

let exitCode = 0;
try {
  let measured: Measured;
  try {
    measured = await measure();
  } finally {
    status('stopping every process');
    await stopChildren(relayPids);
  }
  const result: BenchResult = { ...measured.result, targets: evaluateTargets(measured.result), durationSeconds: Math.round(elapsedSeconds()) };
  if (profileDir) result.profile = profileSummaries(measured.singleStream);
  statusDone();
  process.stdout.write(args.json ? JSON.stringify(result) + '\n' : renderTable(result) + '\n');
  if (profileDir) process.stderr.write(`bench: CPU profiles kept in ${profileDir}\n`);
} catch (err) {
  if (!interrupted) {
    statusDone();
    process.stderr.write(`bench: failed: ${(err as Error).stack ?? err}\n`);
    exitCode = 1;
  }
} finally {
  removeTemporaryFiles(exitCode !== 0);
}
if (!interrupted) process.exit(exitCode);
