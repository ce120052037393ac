/**
 * The memory allocator the scale bench's worker processes run with: as the image runs its
 * processes (Dockerfile), jemalloc preloaded where the library is found. BENCH_SCALE_ALLOCATOR
 * picks one: `jemalloc` (an error where it is missing), or `glibc`, glibc's malloc with two
 * arenas, as the image ran them before (MALLOC_ARENA_MAX=2).
 */
import { existsSync } from 'node:fs';

/** Where Debian's `libjemalloc2` and the image's link put it, on either architecture. */
const JEMALLOC_PATHS = [
  '/usr/local/lib/libjemalloc.so.2',
  '/usr/lib/x86_64-linux-gnu/libjemalloc.so.2',
  '/usr/lib/aarch64-linux-gnu/libjemalloc.so.2',
  '/usr/lib64/libjemalloc.so.2',
];

export interface Allocator {
  name: 'jemalloc' | 'glibc';
  /** What a worker process's environment adds for it. */
  env: Record<string, string>;
  /** For the results' machine description. */
  description: string;
}

export function benchAllocator(choice = process.env.BENCH_SCALE_ALLOCATOR ?? ''): Allocator {
  if (choice !== '' && choice !== 'jemalloc' && choice !== 'glibc') throw new Error(`BENCH_SCALE_ALLOCATOR=${choice}: jemalloc or glibc`);
  const glibc: Allocator = { name: 'glibc', env: { MALLOC_ARENA_MAX: '2', LD_PRELOAD: '' }, description: "glibc's malloc with MALLOC_ARENA_MAX=2" };
  if (choice === 'glibc') return glibc;
  const library = JEMALLOC_PATHS.find((p) => existsSync(p));
  if (library) return { name: 'jemalloc', env: { LD_PRELOAD: library }, description: `jemalloc (LD_PRELOAD=${library}), as the image runs them` };
  if (choice === 'jemalloc') throw new Error(`BENCH_SCALE_ALLOCATOR=jemalloc, but none of ${JEMALLOC_PATHS.join(', ')} exists: install libjemalloc2`);
  return { ...glibc, description: `${glibc.description} (**not as the image runs them**: no libjemalloc.so.2 here)` };
}
