#!/usr/bin/env bash
# Installs what the local sandbox executor needs on the host: bubblewrap (namespaces, read-only
# binds, tmpfs work dir) and util-linux's prlimit/setpriv. Idempotent and quick when present;
# on a brand-new machine it refreshes the apt lists first. Skips quietly when not root without sudo.
set -euo pipefail

missing=()
command -v bwrap >/dev/null || missing+=(bubblewrap)
command -v prlimit >/dev/null || missing+=(util-linux)
command -v setpriv >/dev/null || missing+=(util-linux)
if [[ ${#missing[@]} -eq 0 ]]; then
  exit 0
fi
mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)

if ! command -v apt-get >/dev/null; then
  echo "install-sandbox: please install ${missing[*]} (no apt-get on this machine)" >&2
  exit 1
fi
sudo=()
if [[ $(id -u) -ne 0 ]]; then
  if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    sudo=(sudo -n)
  else
    echo "install-sandbox: need root to install ${missing[*]}; the local executor stays unavailable" >&2
    exit 0
  fi
fi

export DEBIAN_FRONTEND=noninteractive
echo "== apt-get install ${missing[*]}"
# Install from the current lists first; refresh them only when that fails (fresh images have none).
if ! "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null 2>&1; then
  "${sudo[@]}" apt-get update -q
  "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
