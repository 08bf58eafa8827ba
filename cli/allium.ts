#!/usr/bin/env -S node --max-semi-space-size=1
// Entry point of the `allium` command: dispatches to one module per sub-command, loaded lazily so
// `allium fetch` does not pay for the relay's imports.
//
// The first line's flag caps V8's young generation at 1 MiB. A relay's bulk data lives in off-heap
// buffers (socket reads, cipher output) that die young; with the default 16 MiB, scavenges were so
// rare that those buffers piled up until V8 ran full collections, 7 to 17 a second under load.
// With 1 MiB, scavenges free them: about 10 % less CPU per byte on one stream and 60 % less
// memory per circuit (docs/PERFORMANCE.md, change 14). V8 reads it only at start-up, hence the
// command line.
import { runCommand, type Command } from './command.ts';

const COMMANDS: Record<string, { summary: string; load: () => Promise<{ default: Command }> }> = {
  pool: { summary: 'run a pool index that lists live relays', load: () => import('./commands/pool.ts') },
  relay: { summary: 'run a relay and register it with one or more pools', load: () => import('./commands/relay.ts') },
  proxy: { summary: 'run a local SOCKS5 and HTTP proxy that carries traffic over circuits', load: () => import('./commands/proxy.ts') },
  fetch: { summary: 'fetch a URL through a circuit and write the body to stdout', load: () => import('./commands/fetch.ts') },
  site: { summary: 'run the authentication server and demo site, or add a user to it', load: () => import('./commands/site.ts') },
  login: { summary: 'log in to a site with SCRAM-SHA-256 through a circuit and print its secret', load: () => import('./commands/login.ts') },
  demo: { summary: 'run a whole local network: a pool, relays and the demo site', load: () => import('./commands/demo.ts') },
};

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((n) => n.length));
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return `Usage: allium <command> [options]\n\nAllium: onion routing for the web.\n\nCommands:\n${lines.join('\n')}\n\nRun 'allium <command> --help' for the options of a command.\n`;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage());
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === '-v') {
    const { default: pkg } = await import('../package.json', { with: { type: 'json' } });
    process.stdout.write(`allium ${pkg.version}\n`);
    return 0;
  }
  const entry = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!entry) {
    process.stderr.write(`allium: unknown command "${name}"\n\n${usage()}`);
    return 2;
  }
  const { default: command } = await entry.load();
  return runCommand(command, rest);
}

const code = await main(process.argv.slice(2));
// Exit once stdout has taken everything: a pipe that is full queues writes, and exiting at once
// would cut a body short. Exiting explicitly (not by draining the event loop) stops services
// promptly even if a peer is slow to close its side.
process.stdout.write('', () => process.exit(code));
