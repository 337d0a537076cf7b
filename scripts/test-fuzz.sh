#!/usr/bin/env bash
# The fuzz stage: build the libFuzzer targets of tests/fuzz (clang-14, ASan + UBSan) in
# build/fuzz and run each for FUZZ_SECONDS (default 10) from the seed corpus in
# tests/fuzz/corpus/<target>/. New inputs go to a scratch corpus, not into the repo; a
# crash or a failed oracle stops the stage and leaves its input in build/fuzz/crashes/,
# ready to be added to the corpus (the replay tests then keep it fixed).
#   FUZZ_SECONDS=600 bash scripts/test-fuzz.sh         (what `make fuzz` runs)
#   FUZZ_TARGETS="entry archive" bash scripts/test-fuzz.sh
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH=${FUZZ_SECONDS:-10}
TARGETS=${FUZZ_TARGETS:-"entry archive args checkpoint journal env tool"}
CC=${FUZZ_CC:-clang-14}
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}
BUILD=build/fuzz

if ! command -v "$CC" >/dev/null; then
    echo "test-fuzz: $CC not found (apt-get install clang-14)" >&2
    exit 1
fi
flags="-fsanitize=address,undefined -fno-sanitize-recover=all -fsanitize=fuzzer-no-link -g -O1"
cmake -S . -B "$BUILD" -DCMAKE_C_COMPILER="$CC" -DCMAKE_BUILD_TYPE=Debug -DWEFT_FUZZ=ON \
    -DWEFT_BUILD_EXAMPLES=OFF -DWEFT_BUILD_SHARED=OFF -DCMAKE_C_FLAGS="$flags" \
    -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" >/dev/null
cmake --build "$BUILD" -j "$JOBS" --target $(for t in $TARGETS; do printf 'fuzz_%s ' "$t"; done) >/dev/null

mkdir -p "$BUILD/crashes"
export ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=0
for t in $TARGETS; do
    scratch=$(mktemp -d)
    echo "fuzz_$t: ${SECONDS_EACH} s from $(ls tests/fuzz/corpus/$t | wc -l) seeds"
    # the tool prints for every input: its output is closed (a crash's input is still
    # saved; replay it with build/*/tests/fuzz/fuzz_replay_tool for the full report)
    quiet=""
    [ "$t" = tool ] && quiet="-close_fd_mask=3"
    if ! "$BUILD/tests/fuzz/fuzz_$t" $quiet -max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=4096 \
        -max_len=65536 -print_final_stats=1 -artifact_prefix="$BUILD/crashes/$t-" \
        "$scratch" "tests/fuzz/corpus/$t" 2>"$BUILD/fuzz_$t.log"; then
        tail -n 60 "$BUILD/fuzz_$t.log" >&2
        echo "test-fuzz: fuzz_$t failed; its input is in $BUILD/crashes/" >&2
        rm -rf "$scratch"
        exit 1
    fi
    grep -E "stat::number_of_executed_units|stat::new_units_added" "$BUILD/fuzz_$t.log" | tr '\n' ' '
    echo
    rm -rf "$scratch"
done
echo "test-fuzz: every target ran ${SECONDS_EACH} s without a crash or a failed oracle"
