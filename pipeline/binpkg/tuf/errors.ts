// tuf-js's refusals as one-line OsforgeErrors naming the role, the versions
// or dates, and the fix. tuf-js wraps snapshot and targets failures into a
// RuntimeError string, so they are told apart by their text; the versions
// and dates come from the metadata as it was read.
import { OsforgeError } from '../../errors.ts';
import { printable } from '../../util/printable.ts';

export interface TufErrorContext {
  mirror: string;
  work: string;
  /** Metadata file name → the bytes the fetcher returned. */
  seen: ReadonlyMap<string, Buffer>;
  stateDir: string;
}

function fields(ctx: TufErrorContext, prefix: string): { version?: number; expires?: string } {
  const name = [...ctx.seen.keys()].reverse().find((n) => n === `${prefix}.json` || n.endsWith(`.${prefix}.json`));
  if (!name) return {};
  try {
    const s = (JSON.parse(ctx.seen.get(name)!.toString('utf8')) as { signed?: { version?: unknown; expires?: unknown } }).signed;
    return { version: typeof s?.version === 'number' ? s.version : undefined, expires: typeof s?.expires === 'string' ? printable(s.expires, 40) : undefined };
  } catch {
    return {};
  }
}

export function describeTufError(err: unknown, ctx: TufErrorContext): OsforgeError {
  const raw = err instanceof Error ? err.message : String(err);
  const msg = printable(raw.replace(/^Unable to load (snapshot metadata|targets) error (\w*Error: )?/, ''), 300);
  const phase = /^Unable to load snapshot/.test(raw) ? 'snapshot' : /^Unable to load targets/.test(raw) ? 'targets' : undefined;
  const m = ctx.mirror;
  const refuse = (what: string, hint: string) => new OsforgeError('SIGNATURE_INVALID', `${what}; nothing was installed`, { hint }, { cause: err });
  const rollbackHint = `the mirror or a proxy serves old metadata; use an up-to-date mirror (if the mirror was rebuilt from scratch on purpose, remove ${ctx.stateDir} to trust it anew)`;
  const freezeHint =
    "the mirror's metadata was not re-signed in time: its owner must run `osforge upload --refresh-timestamp` (e.g. daily from cron); otherwise the mirror or a proxy is withholding updates";
  const mixHint = "the mirror's metadata files do not belong together (an upload in progress, or tampering); retry in a minute, or re-publish the mirror";

  let x: RegExpExecArray | null;
  if ((x = /Final (timestamp|root)\.json is expired|^(snapshot|targets)\.json is expired/.exec(msg))) {
    const role = x[1] ?? x[2]!;
    const f = fields(ctx, role);
    return refuse(
      `freeze: ${role}.json of ${m}${f.version !== undefined ? ` (version ${f.version})` : ''} expired${f.expires ? ` at ${f.expires}` : ''}, before now (${new Date().toISOString()})`,
      role === 'root' ? "the mirror's root expired: its owner must publish a new root with `osforge upload --new-root-key`" : freezeHint,
    );
  }
  if ((x = /New (timestamp|snapshot) version (\d+) is less than current version (\d+)/.exec(msg))) {
    return refuse(`rollback: ${m} serves ${x[1]} version ${x[2]}, older than version ${x[3]} already trusted here`, rollbackHint);
  }
  if ((x = /New version (\d+) of (\S+) is less than current version (\d+)/.exec(msg))) {
    return refuse(`rollback: ${m}'s snapshot lists ${x[2]} version ${x[1]}, older than version ${x[3]} already trusted here`, rollbackHint);
  }
  if ((x = /Missing file (\S+) in new snapshot/.exec(msg))) {
    return refuse(`rollback: ${m}'s new snapshot no longer lists ${x[1]}, which the trusted snapshot did`, rollbackHint);
  }
  if ((x = /^(root|timestamp|snapshot|targets) was signed by (\d+)\/(\d+) keys/.exec(msg))) {
    const f = fields(ctx, x[1]!);
    return refuse(
      `threshold not met: ${x[1]}.json of ${m}${f.version !== undefined ? ` (version ${f.version})` : ''} carries ${x[2]} valid signature(s) from the keys the trusted root names, and ${x[3]} are required`,
      x[1] === 'root'
        ? 'a new root must be signed by the keys of the root already trusted (`osforge upload --new-root-key` does this); this one is not, so it is refused'
        : 'the metadata was altered or signed with a key the root does not name; if the mirror changed keys, it must publish a new root signed by the old key (`osforge upload --new-root-key`)',
    );
  }
  if ((x = /Expected version (\d+), got (\d+)/.exec(msg))) {
    return refuse(
      `root: ${m} serves ${x[1]}.root.json as version ${x[2]}`,
      "the mirror's root history is broken; its owner must re-publish the missing root versions",
    );
  }
  if (phase === 'snapshot' && /Expected (length|hash)|Snapshot version doesn't match timestamp/.test(msg)) {
    const ts = fields(ctx, 'timestamp');
    return refuse(
      `mix-and-match: the snapshot on ${m} does not match what timestamp.json${ts.version !== undefined ? ` version ${ts.version}` : ''} states (${msg})`,
      mixHint,
    );
  }
  if (phase === 'targets' && /Expected (length|hash)|does not match snapshot version/.test(msg)) {
    const sn = fields(ctx, 'snapshot');
    return refuse(
      `mix-and-match: targets.json on ${m} does not match what snapshot.json${sn.version !== undefined ? ` version ${sn.version}` : ''} states (${msg})`,
      mixHint,
    );
  }
  return refuse(
    `TUF update from ${m} failed${phase ? ` at ${phase}` : ''}: ${msg}`,
    "the mirror's TUF metadata is invalid or incomplete; re-publish it with `osforge upload --sign-key`, or check --mirror-url",
  );
}
