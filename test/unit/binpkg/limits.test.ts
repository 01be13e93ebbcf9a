import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { DEFAULT_LIMITS, formatBytes, LIMITS_HELP, limitsFrom, parseDuration, parseSize } from '../../../pipeline/binpkg/limits.ts';
import { OsforgeError } from '../../../pipeline/errors.ts';

const test = suite('binpkg/limits');

const usage = (fn: () => unknown, re: RegExp) => {
  try {
    fn();
  } catch (err) {
    assert.instance(err, OsforgeError);
    assert.is((err as OsforgeError).code, 'USAGE');
    assert.match((err as Error).message, re);
    return;
  }
  assert.unreachable('expected a usage error');
};

test('sizes: bytes and K/M/G suffixes (powers of 1024); junk, zero and negatives refused naming the flag', () => {
  assert.is(parseSize('4096', '--x'), 4096);
  assert.is(parseSize('512K', '--x'), 512 * 1024);
  assert.is(parseSize('1.5m', '--x'), 1.5 * 1024 * 1024);
  assert.is(parseSize('2GiB', '--x'), 2 * 1024 ** 3);
  usage(() => parseSize('lots', '--max-download-size'), /invalid size for --max-download-size: "lots"/);
  usage(() => parseSize('0', '--x'), /must be more than 0/);
  usage(() => parseSize('-5M', '--x'), /invalid size/);
});

test('durations: seconds by default, ms/s/m suffixes', () => {
  assert.is(parseDuration('30', '--t'), 30_000);
  assert.is(parseDuration('250ms', '--t'), 250);
  assert.is(parseDuration('2m', '--t'), 120_000);
  usage(() => parseDuration('soon', '$OSFORGE_IDLE_TIMEOUT'), /invalid time for \$OSFORGE_IDLE_TIMEOUT: "soon"/);
});

test('a flag wins over its environment variable, which wins over the default', () => {
  assert.equal(limitsFrom({}, {}), DEFAULT_LIMITS);
  const l = limitsFrom({ 'max-index-size': '1M' }, { OSFORGE_MAX_INDEX_SIZE: '5M', OSFORGE_MAX_UNPACKED_SIZE: '10M', OSFORGE_IDLE_TIMEOUT: '500ms' });
  assert.is(l.maxIndexBytes, 1024 * 1024);
  assert.is(l.maxUnpackedBytes, 10 * 1024 * 1024);
  assert.is(l.idleTimeoutMs, 500);
  assert.is(l.maxDownloadBytes, DEFAULT_LIMITS.maxDownloadBytes);
  usage(() => limitsFrom({}, { OSFORGE_MAX_DOWNLOAD_SIZE: 'x' }), /\$OSFORGE_MAX_DOWNLOAD_SIZE/);
});

test('the download times: --min-rate is a size per second, --rate-window and --download-deadline are times', () => {
  const l = limitsFrom({ 'min-rate': '4K', 'download-deadline': '10m' }, { OSFORGE_RATE_WINDOW: '5s', OSFORGE_MIN_RATE: '1' });
  assert.is(l.minRateBytesPerSec, 4096);
  assert.is(l.rateWindowMs, 5000);
  assert.is(l.deadlineMs, 600_000);
  assert.is(DEFAULT_LIMITS.deadlineMs, 30 * 60_000);
  usage(() => limitsFrom({ 'download-deadline': 'never' }), /invalid time for --download-deadline: "never"/);
  usage(() => limitsFrom({}, { OSFORGE_MIN_RATE: 'fast' }), /invalid size for \$OSFORGE_MIN_RATE: "fast"/);
  for (const flag of ['--min-rate', '--rate-window', '--download-deadline', 'OSFORGE_DOWNLOAD_DEADLINE']) assert.ok(LIMITS_HELP.includes(flag), flag);
});

test('formatBytes says the limit the way it is written', () => {
  assert.is(formatBytes(32 * 1024 * 1024), '32M');
  assert.is(formatBytes(1024 ** 3), '1G');
  assert.is(formatBytes(1000), '1000 bytes');
});

test.run();
