// One test per build-failure pattern, each fed with a log excerpt in the exact
// form the tool prints it (pkgconf, pkg-config, autoconf, meson, CMake, GCC,
// binutils, GNU patch, curl/git/wget/npm, the kernel's OOM killer), plus the
// rendering under the log tail and a log with no known cause.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { diagnose, FAILURE_HINTS } from '../../../pipeline/steps/failure-hints.ts';
import { formatError } from '../../../pipeline/errors.ts';
import { stepFailed, type StepLog } from '../../../pipeline/steps/step-log.ts';

const lines = (text: string) => text.split('\n');
const expect = (id: string, log: string, cause: RegExp, fix: RegExp, exitCode = 1) => {
  const d = diagnose(lines(log), exitCode);
  assert.ok(d, `no diagnosis for ${id}`);
  assert.is(d!.id, id);
  assert.match(d!.cause, cause);
  assert.match(d!.fix, fix);
};

test('pkg-config module missing (pkgconf, through configure)', () => {
  expect(
    'pkg-config-missing',
    `checking for LIBSSL... no
configure: error: Package requirements (openssl >= 1.1.1) were not met:

Package 'openssl', required by 'virtual:world', not found

Consider adjusting the PKG_CONFIG_PATH environment variable if you
installed software in a non-standard prefix.`,
    /pkg-config module "openssl" is missing/,
    /openssl\.pc.*"deps"/,
  );
});

test('pkg-config module missing (freedesktop pkg-config)', () => {
  expect(
    'pkg-config-missing',
    `checking for BLKID... no
configure: error: Package requirements (blkid) were not met:

No package 'blkid' found`,
    /"blkid"/,
    /blkid\.pc/,
  );
  expect(
    'pkg-config-missing',
    `Package libcap was not found in the pkg-config search path.
Perhaps you should add the directory containing \`libcap.pc'
to the PKG_CONFIG_PATH environment variable`,
    /"libcap"/,
    /libcap\.pc/,
  );
});

test('configure: error with no more specific cause', () => {
  expect(
    'configure-error',
    `checking whether the C compiler works... no
configure: error: in \`/build/e2fsprogs-1.47.2':
configure: error: C compiler cannot create executables
See \`config.log' for more details`,
    /configure stopped: C compiler cannot create executables/,
    /config\.log/,
  );
});

test('meson boolean option given yes/no (both meson phrasings)', () => {
  expect(
    'meson-boolean',
    `The Meson build system
Version: 1.7.0
Source dir: /build/src
meson.build:1:0: ERROR: Value "yes" (of type "string") for option "tests" is not one of the choices. Possible choices are (as string): "true", "false".`,
    /option "tests" is a boolean and got "yes"/,
    /-Dtests=true or -Dtests=false/,
  );
  expect('meson-boolean', `meson.build:1:0: ERROR: Value "on" for boolean option "docs" is not a boolean.`, /"docs".*"on"/, /-Ddocs=true/);
});

test('meson unknown option and dependency not found', () => {
  expect(
    'meson-option',
    `meson.build:1:0: ERROR: Unknown options: "with-ssl"`,
    /meson rejected an option: Unknown options: "with-ssl"/,
    /with-ssl is not one of them/,
  );
  expect(
    'meson-dependency',
    `Run-time dependency zlib found: NO (tried pkgconfig and cmake)

meson.build:42:10: ERROR: Dependency "zlib" not found, tried pkgconfig and cmake`,
    /meson could not find dependency "zlib"/,
    /provides zlib/,
  );
});

test('CMake: a missing package, and a bare CMake error', () => {
  expect(
    'cmake-package',
    `-- Could NOT find ZLIB (missing: ZLIB_LIBRARY ZLIB_INCLUDE_DIR)
CMake Error at CMakeLists.txt:50 (message):
  zlib is required`,
    /CMake could not find package "ZLIB"/,
    /provides ZLIB/,
  );
  expect(
    'cmake-error',
    `CMake Error at CMakeLists.txt:12 (message):
  ENABLE_SSL must be ON or OFF, got "yes"


-- Configuring incomplete, errors occurred!`,
    /CMake stopped at CMakeLists\.txt:12 \(message\)/,
    /ON\/OFF/,
  );
});

test('a missing header', () => {
  expect(
    'missing-header',
    `gcc -DHAVE_CONFIG_H -I. -I../lib -Os -c -o compress.o compress.c
compress.c:12:10: fatal error: zlib.h: No such file or directory
   12 | #include <zlib.h>
      |          ^~~~~~~~
compilation terminated.
make[2]: *** [Makefile:540: compress.o] Error 1`,
    /header "zlib\.h" is missing/,
    /installs zlib\.h/,
  );
});

test('a missing library (old and new binutils wording)', () => {
  expect(
    'missing-library',
    `/usr/bin/ld: cannot find -lz
collect2: error: ld returned 1 exit status`,
    /"-lz"/,
    /libz.*static/,
  );
  expect(
    'missing-library',
    `x86_64-linux-musl-ld: cannot find -luuid: No such file or directory
collect2: error: ld returned 1 exit status`,
    /"-luuid"/,
    /libuuid/,
  );
});

test('a network access attempt in a sandboxed step', () => {
  expect(
    'network-sandboxed',
    `Cloning into 'vendor/foo'...
fatal: unable to access 'https://example.invalid/foo.git/': Could not resolve host: example.invalid`,
    /tried to reach the network.*--network=none/,
    /sources\.json/,
  );
  expect(
    'network-sandboxed',
    `Connecting to downloads.example.invalid (downloads.example.invalid)
wget: bad address 'downloads.example.invalid'`,
    /bad address/,
    /sources\.json/,
  );
  expect(
    'network-sandboxed',
    `npm error code EAI_AGAIN
npm error request to https://registry.example.invalid/left-pad failed, reason: getaddrinfo EAI_AGAIN registry.example.invalid`,
    /getaddrinfo EAI_AGAIN/,
    /sources\.json/,
  );
});

test("an out-of-memory kill: the compiler's message, or a bare Killed with exit 137", () => {
  expect(
    'oom-kill',
    `x86_64-linux-musl-g++: fatal error: Killed signal terminated program cc1plus
compilation terminated.
make: *** [Makefile:120: big.o] Error 1`,
    /killed for lack of memory \(cc1plus\)/,
    /--jobs 1/,
  );
  expect(
    'oom-kill',
    `  CC      fs/ext4/super.o
Killed`,
    /exit 137.*out-of-memory/,
    /--jobs 1/,
    137,
  );
  assert.is(diagnose(['Killed'], 2), undefined, 'a "Killed" line without exit 137 is not taken for an OOM kill');
});

test('a patch rejection, and a malformed patch', () => {
  expect(
    'patch-rejected',
    `patching file src/main.c
Hunk #1 succeeded at 10.
Hunk #2 FAILED at 42.
1 out of 2 hunks FAILED -- saving rejects to file src/main.c.rej`,
    /1 of 2 hunk\(s\) rejected \(src\/main\.c\.rej\)/,
    /refresh the patch.*src\/main\.c\.rej/,
  );
  expect(
    'patch-rejected',
    `patching file Makefile
patch: **** malformed patch at line 17: @@ -3,7 +3,7 @@`,
    /broken: malformed patch at line 17/,
    /diff -u/,
  );
});

test('the cause that stopped the build wins over earlier noise; an unknown failure gets no diagnosis', () => {
  const d = diagnose(
    lines(`checking for zlib.h... no
compress.c:1:10: fatal error: zlib.h: No such file or directory
configure: error: build failed`),
  );
  assert.is(d!.id, 'missing-header', 'specific causes come first in the table');
  assert.is(diagnose(lines('make: *** [all] Error 2\nsomething else went wrong')), undefined);
});

test('every table entry is covered by a test above', () => {
  const tested = new Set([
    'pkg-config-missing',
    'configure-error',
    'meson-boolean',
    'meson-option',
    'meson-dependency',
    'cmake-package',
    'cmake-error',
    'missing-header',
    'missing-library',
    'network-sandboxed',
    'oom-kill',
    'patch-rejected',
  ]);
  for (const h of FAILURE_HINTS) assert.ok(tested.has(h.id), `${h.id} has no test`);
});

test('a failed step prints the detected cause and its fix under the log tail', () => {
  const log: StepLog = {
    path: '/state/logs/amd64-stage2-zlib.log',
    lines: lines(`compress.c:12:10: fatal error: zlib.h: No such file or directory
compilation terminated.`),
    write() {},
  };
  const text = formatError(stepFailed('stage2:zlib (amd64)', log, { stage: 'stage2:zlib', arch: 'amd64', exitCode: 2, hint: 'see the log' }), {});
  const out = text.split('\n');
  const tail = out.findIndex((l) => l.includes('| compilation terminated.'));
  const detected = out.findIndex((l) => l.startsWith('  detected: header "zlib.h" is missing'));
  assert.ok(tail >= 0 && detected > tail, text);
  assert.match(out[detected + 1]!, /^ {4}from: compress\.c:12:10: fatal error: zlib\.h/);
  assert.match(out[detected + 2]!, /^ {2}fix: add the package that installs zlib\.h/);
  assert.match(out[detected + 3]!, /^ {2}see also: see the log$/);
});

test.run();
