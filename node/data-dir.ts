// Where long-lived state (key files) lives by default: $XDG_DATA_HOME/allium, else ~/.local/share/allium.
import { homedir } from 'node:os';
import { join } from 'node:path';

export function dataFile(name: string): string {
  const dataHome = process.env.XDG_DATA_HOME || join(homedir(), '.local', 'share');
  return join(dataHome, 'allium', name);
}
