#!/usr/bin/env bash
# Builds scripts/go-cacheprog (the GOCACHEPROG the local sandbox executor gives `go run`, see
# docs/sandbox.md) with the host's Go into ~/.cache/integr8scode/go-cacheprog-<go version>/, where
# the worker looks for it. Keyed by the Go version and the source's hash; a no-op when current.
# Skips quietly when Go is missing or older than 1.24 (the executor then leaves Go out).
set -euo pipefail
cd "$(dirname "$0")"

GO="${GO:-}"
if [[ -z "$GO" ]]; then
  if command -v go >/dev/null 2>&1; then GO="$(command -v go)"; elif [[ -x /usr/local/go/bin/go ]]; then GO=/usr/local/go/bin/go; else exit 0; fi
fi
version="$(GOTOOLCHAIN=local "$GO" env GOVERSION)" # go1.26.8
if [[ ! $version =~ ^go([0-9]+)\.([0-9]+)(\.[0-9]+)?$ ]] || ((BASH_REMATCH[1] == 1 && BASH_REMATCH[2] < 24)); then
  echo "build-go-cacheprog: $version has no GOCACHEPROG (needs Go >= 1.24); the executor leaves Go out" >&2
  exit 0
fi
dest="$HOME/.cache/integr8scode/go-cacheprog-${version#go}"
stamp="$(sha256sum go-cacheprog/main.go | cut -d' ' -f1)"
if [[ -x $dest/go-cacheprog && "$(cat "$dest/source-sha256" 2>/dev/null)" == "$stamp" ]]; then
  exit 0
fi
echo "== go build go-cacheprog ($version)"
mkdir -p "$dest"
tmp="$(mktemp -d "$dest/build-XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
(cd go-cacheprog && CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS=-buildvcs=false GO111MODULE=off \
  "$GO" build -trimpath -ldflags=-s -o "$tmp/go-cacheprog" main.go)
mv -f "$tmp/go-cacheprog" "$dest/go-cacheprog"
echo "$stamp" >"$dest/source-sha256"
