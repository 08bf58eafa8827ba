// Follows a server's certificate and key on disk, so a renewal (certbot, a private CA) takes
// effect without a restart: new TLS handshakes get the new pair while open connections, hence
// circuits, keep the one they were made with. The directories are watched rather than the files:
// renewals replace files (certbot swaps symlinks, Kubernetes swaps a directory link), and a
// watch on the old file would see nothing more. SIGHUP asks for a reload too, as with nginx.
import { watch, type FSWatcher } from 'node:fs';
import { dirname } from 'node:path';
import { errorMessage, type Logger } from './log.ts';
import { describeCertificate, readTlsCredentials, TlsFileError, type TlsCredentials, type TlsFiles } from './tls-credentials.ts';

/** Renewals write the certificate and the key one after the other: wait for both. */
const SETTLE_MS = 300;

export interface TlsReloader {
  /** Reads the files now; keeps the current pair if they are unusable. */
  reload(): void;
  close(): void;
}

export function watchTlsFiles(files: TlsFiles, initial: TlsCredentials, apply: (credentials: TlsCredentials) => void, log: Logger): TlsReloader {
  let current = initial;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const reload = (asked: boolean) => {
    clearTimeout(timer);
    let next: TlsCredentials;
    try {
      next = readTlsCredentials(files);
    } catch (err) {
      log.error('TLS certificate reload failed; still serving the previous certificate', {
        file: err instanceof TlsFileError ? err.file : undefined,
        error: errorMessage(err),
      });
      return;
    }
    // Directory events also come from unrelated files beside ours.
    if (next.cert.equals(current.cert) && next.key.equals(current.key)) {
      if (asked) log.info('TLS certificate unchanged', describeCertificate(current.leaf));
      return;
    }
    apply(next);
    current = next;
    log.info('TLS certificate reloaded', describeCertificate(next.leaf));
  };
  const settle = () => {
    clearTimeout(timer);
    timer = setTimeout(reload, SETTLE_MS, false);
    timer.unref();
  };
  const watchers: FSWatcher[] = [];
  for (const dir of new Set([dirname(files.certFile), dirname(files.keyFile)])) {
    try {
      const watcher = watch(dir, { persistent: false }, settle);
      watcher.on('error', (err) => log.warn('cannot watch the TLS files any more; reload them with SIGHUP', { dir, error: errorMessage(err) }));
      watchers.push(watcher);
    } catch (err) {
      log.warn('cannot watch the TLS files; reload them with SIGHUP', { dir, error: errorMessage(err) });
    }
  }
  const onSignal = () => reload(true);
  process.on('SIGHUP', onSignal);
  return {
    reload: onSignal,
    close() {
      clearTimeout(timer);
      for (const watcher of watchers) watcher.close();
      process.off('SIGHUP', onSignal);
    },
  };
}
