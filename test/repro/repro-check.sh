#!/usr/bin/env bash
# make repro-check: two cold builds of HEAD, in different directories, at
# different times, with different umask, TZ, LANG and hostname, sharing no
# cache (own state dir and tools-cache/, osforge images removed before each).
# Every file in dist/ must be identical, signatures aside; on a difference
# diffoscope's report is printed and the check fails.
# REPRO_SEED_KINDS="kernel grub" (CI's reduced form): each cold build starts
# with the stage entries of those kinds from this machine's state, so it
# does not spend its time recompiling them; `make repro-check` without it
# rebuilds everything.
set -euo pipefail
root=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
cd "$root"
commit=$(git rev-parse HEAD)
if [ -n "$(git status --porcelain --untracked-files=no)" ]; then
  echo "repro-check: note: uncommitted changes are ignored; building commit $commit"
fi
work=$(mktemp -d /tmp/osforge-repro.XXXXXX)
trap 'rm -rf "$work"' EXIT

remove_osforge_images() {
  docker images --format '{{.Repository}}:{{.Tag}}' | grep '^osforge/' | xargs -r docker rmi -f >/dev/null 2>&1 || true
  docker image prune -f >/dev/null 2>&1 || true
}

build() { # build <dir> <umask> <TZ> <LANG> <hostname>
  local dir=$1 mask=$2 tz=$3 lang=$4 host=$5
  git clone -q "$root" "$dir"
  git -C "$dir" checkout -q "$commit"
  ln -s "$root/node_modules" "$dir/node_modules"
  remove_osforge_images
  if [ -n "${REPRO_SEED_KINDS:-}" ]; then
    # shellcheck disable=SC2086 # the kinds are words
    n=$("$root/node_modules/.bin/tsx" "$root/test/support/seed-stages.ts" "${OSFORGE_STATE_DIR:-$HOME/.cache/osforge}" "$dir/.state" $REPRO_SEED_KINDS)
    echo "== repro-check: seeded $n stage entries of kinds: $REPRO_SEED_KINDS (reduced form)"
  fi
  echo "== repro-check: cold build in $dir (umask $mask, TZ=$tz, LANG=$lang, hostname $host)"
  local start=$SECONDS
  unshare --uts bash -c '
    set -euo pipefail
    hostname "$1"; umask "$2"; cd "$3"
    export TZ="$4" LANG="$5" LC_ALL="$5" CI=true OSFORGE_STATE_DIR="$3/.state"
    unset SOURCE_DATE_EPOCH
    node_modules/.bin/tsx pipeline/cli.ts dist --plain > "$3/.build.log" 2>&1 || { tail -60 "$3/.build.log"; exit 1; }
  ' _ "$host" "$mask" "$dir" "$tz" "$lang"
  echo "   done in $((SECONDS - start)) s"
}

# REPRO_REFERENCE=<dist dir>: one side is an existing cold build of this very
# commit (CI's own), so only one more cold build is needed.
if [ -n "${REPRO_REFERENCE:-}" ]; then
  a=$(cd "$REPRO_REFERENCE" && pwd) || { echo "repro-check: REPRO_REFERENCE=$REPRO_REFERENCE is not a directory"; exit 1; }
  ref_commit=$(node -e 'const m=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8")); console.log(m.dirty ? "dirty" : m.commit)' "$a/manifest.json") \
    || { echo "repro-check: $a/manifest.json is missing or unreadable; build it with make dist first"; exit 1; }
  [ "$ref_commit" = "$commit" ] || { echo "repro-check: $a was built from $ref_commit, not $commit; rebuild it or unset REPRO_REFERENCE"; exit 1; }
  echo "== repro-check: side A is the existing build in $a"
else
  build "$work/a" 022 UTC C.UTF-8 builder-alpha
  a="$work/a/dist"
  sleep 2
fi
build "$work/elsewhere/deeper/b" 077 Pacific/Auckland fr_FR.UTF-8 another-host
b="$work/elsewhere/deeper/b/dist"
is_signature() { case "$1" in *.sig|*.sigstore.json) return 0 ;; esac; return 1; }
list() { (cd "$1" && find . -type f | sed 's|^\./||' | LC_ALL=C sort); }
diff <(list "$a") <(list "$b") > "$work/names.diff" || { echo "repro-check: the two dist/ trees hold different files:"; cat "$work/names.diff"; exit 1; }

same=0 differ=()
while IFS= read -r f; do
  is_signature "$f" && continue
  if cmp -s "$a/$f" "$b/$f"; then same=$((same + 1)); else differ+=("$f"); fi
done < <(list "$a")

if [ ${#differ[@]} -eq 0 ]; then
  echo "repro-check: PASS: $same files bit-for-bit identical across both cold builds"
  exit 0
fi
echo "repro-check: FAIL: ${#differ[@]} file(s) differ: ${differ[*]}"
command -v diffoscope >/dev/null 2>&1 || { echo "installing diffoscope..."; apt-get install -y -qq --no-install-recommends diffoscope >/dev/null; }
for f in "${differ[@]}"; do
  echo "---- diffoscope $f"
  diffoscope --text - --max-report-size 200000 "$a/$f" "$b/$f" || true
done
exit 1
