#!/usr/bin/env bash
# CI entry: set up the host, then run the same pipeline as `make dist` with
# plain, CI-friendly output. Honours SKIP_TOOLS_CACHE=1 (force a tools
# rebuild) and TOOLS_CACHE_HIT=true (CI restored tools-cache/; it is used
# only if it validates), as PerfSpect's builder/build.sh does.
set -euo pipefail
cd "$(dirname "$0")/.."
builder/setup-host.sh
if [ "${SKIP_TOOLS_CACHE:-}" = "1" ]; then
  echo "build.sh: SKIP_TOOLS_CACHE=1: the tools image will be compiled from source"
elif [ "${TOOLS_CACHE_HIT:-}" = "true" ]; then
  echo "build.sh: TOOLS_CACHE_HIT=true: validating the restored tools-cache/"
fi
export CI="${CI:-true}"
exec node_modules/.bin/tsx pipeline/cli.ts dist --plain "$@"
