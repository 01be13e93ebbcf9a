// Text from outside (HTTP reason phrases, package names and paths from a
// mirror or an archive) may carry terminal escape sequences. Everything that
// prints such text passes it through here first.

/** Escapes C0 and C1 control characters and DEL as \xNN (or \uNNNN), so the terminal shows them instead of obeying them. */
export function printable(text: string, maxLength = 200): string {
  // eslint-disable-next-line no-control-regex
  const escaped = text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, (c) => {
    const code = c.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
  return escaped.length > maxLength ? `${escaped.slice(0, maxLength)}…` : escaped;
}
