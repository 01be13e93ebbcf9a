// Types of source-hash.mjs (plain JavaScript: the bin runs it before any TypeScript loader exists).
export declare const BUILD_DIR: string;
export declare function sourceHash(root: string): string;
