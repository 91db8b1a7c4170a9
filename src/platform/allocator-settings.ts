/**
 * Memory allocator settings of the runtime that only its environment at process start can give. On Bun, the
 * allocator (mimalloc) hands freed memory back to the kernel 10 ms after it was freed (`purge_delay`); in a sharded
 * node a front's socket read buffers travel to a shard's thread and back, and come free later than that, so the
 * memory of the next reads is often handed back already and every page faults in again (docs/sharding.md, "Not done
 * yet" measured the front's thread at 88 faults per MB with the default, 16 without purging). mimalloc reads
 * `MIMALLOC_PURGE_DELAY` only when the process starts and Bun exports no call to change it later, so a sharded node
 * re-executes itself in place (same process id, same open descriptors, `process.execve`) with it set, unless the
 * environment already names a value (which is kept: `MIMALLOC_PURGE_DELAY=10` restores mimalloc's default).
 */

/** The environment variable mimalloc reads for its purge delay (ms; -1: never). */
export const ALLOCATOR_PURGE_DELAY_ENV = "MIMALLOC_PURGE_DELAY";

/**
 * Purge delay a sharded node runs with: freed memory not reused within a second still goes back to the kernel (RSS
 * falls after a burst), while buffers that come back from another thread are reused first. `runnel bench` (the load
 * generators and the e2e consumer process, which inherits it) runs with it too: with mimalloc's 10 ms each client
 * process of a 100K records/s e2e run handed memory back ~250 times a second (madvise) and faulted it in again, and
 * the delay cut the producer's CPU by ~3% and the consumer's by ~4% (bench/results/tail-latency.md, eleventh round).
 */
export const SHARDED_PURGE_DELAY_MS = 1000;

type ExecveProcess = {
  execve?: (file: string, args: string[], env: Record<string, string | undefined>) => never;
  execPath: string;
  execArgv: string[];
  argv: string[];
  env: Record<string, string | undefined>;
};

/**
 * Re-executes this process with {@link SHARDED_PURGE_DELAY_MS} as mimalloc's purge delay when it runs on Bun on
 * Linux and the environment names none; does not return then. Returns false where it does nothing (another runtime
 * or OS, the variable already set, no `process.execve`).
 */
export function execWithAllocatorPurgeDelay(proc: ExecveProcess = process as unknown as ExecveProcess): boolean {
  const isBun = (globalThis as { Bun?: unknown }).Bun !== undefined;
  if (!isBun || process.platform !== "linux" || proc.execve === undefined) return false;
  if (proc.env[ALLOCATOR_PURGE_DELAY_ENV] !== undefined) return false;
  // A compiled executable's argv[1] is its embedded entry point (/$bunfs/...), which it runs by itself.
  const compiled = proc.argv[1]?.startsWith("/$bunfs/") ?? false;
  const args = compiled ? [proc.execPath, ...proc.argv.slice(2)] : [proc.execPath, ...proc.execArgv, ...proc.argv.slice(1)];
  proc.execve(proc.execPath, args, { ...proc.env, [ALLOCATOR_PURGE_DELAY_ENV]: String(SHARDED_PURGE_DELAY_MS) });
  return true;
}
