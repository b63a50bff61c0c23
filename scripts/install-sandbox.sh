#!/usr/bin/env bash
# Installs what the local sandbox executor needs on the host: bubblewrap (namespaces, read-only
# binds, tmpfs work dir), util-linux's prlimit/setpriv and Debian's ruby (python3, node and bash are
# already there; Go comes from /usr/local/go), then builds the Go cache program for the host's Go
# (scripts/build-go-cacheprog.sh). Idempotent and quick when present; on a brand-new machine it
# refreshes the apt lists first. Skips the apt part quietly when not root without sudo.
set -euo pipefail
cd "$(dirname "$0")"

install_packages() {
  missing=()
  command -v bwrap >/dev/null || missing+=(bubblewrap)
  command -v prlimit >/dev/null || missing+=(util-linux)
  command -v setpriv >/dev/null || missing+=(util-linux)
  # /usr/bin/ruby: the executor never uses an interpreter under /root (rbenv), the sandbox cannot see it.
  [[ -x /usr/bin/ruby ]] || missing+=(ruby)
  if [[ ${#missing[@]} -eq 0 ]]; then
    return 0
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
      echo "install-sandbox: need root to install ${missing[*]}; the local executor (or those runtimes) stays unavailable" >&2
      return 0
    fi
  fi

  export DEBIAN_FRONTEND=noninteractive
  echo "== apt-get install ${missing[*]}"
  # Install from the current lists first; refresh them only when that fails (fresh images have none).
  if ! "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null 2>&1; then
    "${sudo[@]}" apt-get update -q
    "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
  fi
}

install_packages
bash build-go-cacheprog.sh
