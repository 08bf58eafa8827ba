#!/usr/bin/env bash
# Installs the browsers the end-to-end tests drive (Debian's Chromium, and Firefox ESR for the
# Firefox extension) with apt-get when they are missing. The tests never skip for want of a
# browser, and npm never downloads one, so a machine without them must get them here or fail loudly.
set -euo pipefail
chromium=/usr/lib/chromium/chromium
firefox=/usr/lib/firefox-esr/firefox-esr
missing=()
[ -x "$chromium" ] || missing+=(chromium)
[ -x "$firefox" ] || missing+=(firefox-esr)
command -v openssl >/dev/null || missing+=(openssl) # test/tls.test.ts makes its certificates with it
[ ${#missing[@]} -eq 0 ] && exit 0

echo "allium: installing ${missing[*]} for the browser tests (apt-get)…" >&2
sudo=()
[ "$(id -u)" -eq 0 ] || sudo=(sudo -n)
if ! command -v apt-get >/dev/null; then
  echo "allium: apt-get not found; install ${missing[*]} (Debian packages) by hand" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
if ! "${sudo[@]}" apt-get update -q >&2 || ! "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" >&2; then
  echo "allium: could not install ${missing[*]} with apt-get; the browser tests cannot run" >&2
  exit 1
fi
for binary in "$chromium" "$firefox"; do
  if [ ! -x "$binary" ]; then
    echo "allium: $binary is still missing after apt-get install" >&2
    exit 1
  fi
done
