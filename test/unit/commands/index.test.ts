// The command table lists names and summaries without loading the commands
// (a fast `osforge --help`); each entry must load the command it names, with
// the summary that command declares, so the two copies cannot drift.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { commands } from '../../../pipeline/commands/index.ts';

test("every entry loads its command, and the listed summary is the command's own", async () => {
  assert.ok(commands.length >= 14);
  for (const entry of commands) {
    const command = await entry.load();
    assert.is(command.name, entry.name);
    assert.is(entry.summary, command.summary, `summary of ${entry.name}`);
    assert.ok(command.help.startsWith(`usage: osforge ${entry.name}`), `${entry.name} --help starts with its usage line`);
  }
});

test('names are unique', () => {
  assert.is(new Set(commands.map((c) => c.name)).size, commands.length);
});

test.run();
