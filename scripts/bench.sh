#!/usr/bin/env bash
# Prints kensa's speed figures: the suite against the embedded reference IdP
# (min/median/max of N runs), the fault matrix, each real target's suite,
# and build times. Figures, not verdicts: it fails only when a command does.
#
#   scripts/bench.sh                # release: suite x5, matrix, real targets, incremental build
#   scripts/bench.sh --runs 9       # more runs of the embedded suite
#   scripts/bench.sh --clean-build  # also clean debug and release builds (a fresh target dir, minutes)
#   scripts/bench.sh --no-targets   # skip the real targets
#
# Run it on an otherwise idle machine; quote medians (shared machines are
# noisy). The README's figures come from this script on a 2-core machine.
set -euo pipefail
cd "$(dirname "$0")/.."

runs=5
clean=0
targets=1
while [ $# -gt 0 ]; do
  case $1 in
    --runs) runs=${2:?--runs N}; shift 2 ;;
    --clean-build) clean=1; shift ;;
    --no-targets) targets=0; shift ;;
    *) echo "bench: unknown option $1 (see the header of $0)" >&2; exit 2 ;;
  esac
done

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# Wall seconds of one command, its output kept in $out/last.log; exits with
# the command's status printed when it fails.
timed() {
  local start end
  start=$(date +%s.%N)
  if ! "$@" >"$out/last.log" 2>&1; then
    echo "bench: failed: $*" >&2
    tail -20 "$out/last.log" >&2
    exit 1
  fi
  end=$(date +%s.%N)
  awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f\n", b - a }'
}

# min / median / max of the numbers on stdin.
stats() {
  sort -n | awk '{ v[NR] = $1 } END {
    m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
    printf "min %.2f s, median %.2f s, max %.2f s (%d runs)\n", v[1], m, v[NR], NR }'
}

echo "bench: $(nproc) cores, $(rustc --version)"
if [ "$clean" = 1 ]; then
  fresh=$(mktemp -d)
  echo "bench: clean debug build, all features: $(CARGO_TARGET_DIR=$fresh timed cargo build --workspace --all-features --quiet) s"
  echo "bench: clean release build: $(CARGO_TARGET_DIR=$fresh timed cargo build --release --quiet) s"
  rm -rf "$fresh"
fi
cargo build --release --quiet
touch src/lib.rs
echo "bench: incremental release build (src/lib.rs touched): $(timed cargo build --release --quiet) s"
kensa=target/release/kensa

for _ in $(seq "$runs"); do
  timed "$kensa" run --quiet --report-dir "$out/suite"
done | stats | sed 's/^/bench: embedded suite, wall: /'
grep -o '[0-9]* checks: .*' "$out/last.log" | tail -1 | sed 's/^/bench:   last run: /'

echo "bench: fault matrix (kensa run --fault all), wall: $(timed "$kensa" run --fault all --quiet --report-dir "$out/matrix") s"
grep 'fault matrix: .* instances' "$out/last.log" | sed 's/^kensa: /bench:   /'

if [ "$targets" = 1 ]; then
  for t in node-oidc-provider lemonldap-ng lemonldap-ng-rest simplesamlphp; do
    if ! "$kensa" targets | grep -q "^$t .*can start"; then
      echo "bench: $t: not runnable here (kensa targets says why; kensa setup $t installs it)"
      continue
    fi
    # A real target's own failures are its known deviations; the time is
    # what is measured here.
    start=$(date +%s.%N)
    "$kensa" run --target "$t" --quiet --report-dir "$out/$t" >"$out/last.log" 2>&1 || true
    end=$(date +%s.%N)
    printf 'bench: %s suite, wall: %s s (%s)\n' "$t" "$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", b - a }')" \
      "$(grep -o '[0-9]* checks: [^(]*' "$out/last.log" | tail -1)"
  done
fi
