// A file name from outside (a SHA256SUMS line, a cache entry's meta.json) that
// is to be joined under a directory: it must stay inside it by its spelling
// alone, checked before anything is opened.

/** True for a plain relative name: no "..", ".", empty segment, backslash, NUL or leading "/". */
export function isPlainRelative(name: string): boolean {
  return (
    name !== '' && !name.startsWith('/') && !name.includes('\\') && !name.includes('\0') && name.split('/').every((s) => s !== '' && s !== '.' && s !== '..')
  );
}
