// The stage1 proof program and script: inputs of the stage1 key, so they
// live apart from the code that runs them.
export const HELLO_C = `#include <stdio.h>
int main(void) { puts("osforge-stage1-ok"); return 0; }
`;

export const STAGE1_SCRIPT = `set -eu
mkdir -p /out && cd /out
"$CC" -static -O2 -o hello /work/hello.c
./hello
printf '{"compiler":"%s","libcVersion":"%s"}\\n' "$("$CC" -dumpfullversion)" "$MUSL_VERSION" > /out/toolchain.json
cat /out/toolchain.json`;
