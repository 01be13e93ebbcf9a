/** What the kernel stage writes under its out/ directory (a module of its own: the image steps read it without the stage's imports). */
export const KERNEL_FILES = { image: 'vmlinuz', vmlinux: 'vmlinux', config: 'config', systemMap: 'System.map', release: 'release' } as const;
