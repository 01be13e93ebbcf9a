import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { findMirror, parseAptSources } from '../../../pipeline/steps/host-apt.ts';

test('parses deb822 stanzas, skipping deb-src and disabled ones', () => {
  const text = `Types: deb\nURIs: http://mirror.example/debian\nSuites: bookworm bookworm-updates\nComponents: main\n\nTypes: deb\nURIs: http://mirror.example/debian-security\nSuites: bookworm-security\n\nTypes: deb-src\nURIs: http://src.example/debian\nSuites: bookworm\n\nEnabled: no\nTypes: deb\nURIs: http://off.example/\nSuites: bookworm\n`;
  const entries = parseAptSources(text, true);
  assert.equal(
    entries.map((e) => e.uri),
    ['http://mirror.example/debian', 'http://mirror.example/debian-security'],
  );
  assert.is(findMirror(entries, 'bookworm'), 'http://mirror.example/debian');
});

test('parses one-line sources with options and comments', () => {
  const entries = parseAptSources('# comment\ndeb [arch=amd64] http://a.example/debian bookworm main\ndeb-src http://b.example/debian bookworm main\n', false);
  assert.equal(entries, [{ uri: 'http://a.example/debian', suites: ['bookworm'] }]);
});

test.run();
