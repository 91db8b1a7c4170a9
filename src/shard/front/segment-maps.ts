/**
 * The front's read-only maps of segment files, for Fetch answers whose records a shard named by where they lie
 * (src/storage/record-slices.ts): each slice becomes a view of the front's own map of that file, which the front
 * writes to the client's socket as a plain broker writes its map's views (no copy).
 *
 * Safety:
 * - **Same file.** A map is used only if the file it shows has the device and inode the shard named
 *   (`nodeFileSystem.mmap` records them from a stat before and after mapping, `mappedFileOf`), is long enough for
 *   the slice, and holds the slice's first bytes (its first batch's header and CRC, sent along: a deleted file's
 *   inode number taken again by a new file at the same path differs there). A cached map that fails is mapped
 *   again once; a file deleted, renamed over (compaction, a truncation that replaces the file) or grown past
 *   what can be mapped makes {@link SegmentMaps.resolve} return null, and the front asks the shard for the bytes.
 * - **Never past the valid bytes.** Only the named range is viewed; the shard names whole batches below its high
 *   watermark (or last stable offset), which no truncation cuts in place: a segment cuts a file in place only above
 *   every byte it handed out (its preallocated zero tail at roll and close), and below them it writes a copy and
 *   renames it over the file (src/storage/segment.ts, `truncateTo`), so mapped pages under a named range never lose
 *   their file (no SIGBUS). A deleted file's pages stay readable while mapped.
 * - **No unmap under a write.** A map is unmapped only once it is garbage: views queued on a socket keep it alive.
 *   Dropping a map from this cache only drops the cache's reference.
 */
import { mappedFileOf, type FileId, type FileSystem } from "../../platform/fs.ts";
import { decodeRecordSlices, SLICE_CHECK_BYTES } from "../../storage/record-slices.ts";

/** Maps kept at most (least recently used dropped first); maps take address space, not descriptors. */
export const MAX_FRONT_SEGMENT_MAPS = 1024;
/** How often, at most, the cache drops maps whose path no longer names their file (deleted or replaced segments). */
export const FRONT_SEGMENT_MAP_SWEEP_MS = 30_000;

/** A map and the file it shows. */
type CachedMap = { readonly id: FileId; readonly view: Uint8Array };

/** Counts of what happened to slices, for tests and metrics. */
export interface SegmentMapCounts {
  /** Slices served from a map. */
  served: number;
  /** Records values that needed the bytes from the shard (a slice could not be served). */
  refused: number;
  /** Maps taken. */
  mapped: number;
}

/** The front's maps, by path. */
export class SegmentMaps {
  private readonly maps = new Map<string, CachedMap>();
  private lastSweepMs: number;
  private sweepTimer: unknown = null;
  /** What happened so far. */
  readonly counts: SegmentMapCounts = { served: 0, refused: 0, mapped: 0 };

  /**
   * With `timers`, the cache also sweeps every {@link FRONT_SEGMENT_MAP_SWEEP_MS} while no Fetch comes (until
   * {@link close}): a front whose clients stopped fetching would otherwise hold its maps of segments that retention
   * or compaction deleted since, and with them their disk space, for ever.
   */
  constructor(
    private readonly fs: FileSystem,
    private readonly nowMs: () => number,
    private readonly identity: (path: string) => FileId | null,
    private readonly timers?: { setTimer(fn: () => void, ms: number): unknown; clearTimer(handle: unknown): void },
  ) {
    this.lastSweepMs = nowMs();
    this.armSweep();
  }

  /** Stops the sweep timer and drops every map (the maps unmap once no view of them is left). */
  close(): void {
    if (this.sweepTimer !== null) this.timers?.clearTimer(this.sweepTimer);
    this.sweepTimer = null;
    this.maps.clear();
  }

  private armSweep(): void {
    if (this.timers === undefined) return;
    this.sweepTimer = this.timers.setTimer(() => {
      this.sweepTimer = null;
      this.maybeSweep();
      this.armSweep();
    }, FRONT_SEGMENT_MAP_SWEEP_MS);
  }

  /**
   * The records of `blob` (a records value in slice form) as views of the front's maps and of `blob`, or null when
   * a slice cannot be served from a map of the very file named (then the bytes must be asked for).
   */
  resolve(blob: Uint8Array): Uint8Array[] | null {
    this.maybeSweep();
    const out: Uint8Array[] = [];
    for (const part of decodeRecordSlices(blob)) {
      if (part.kind === "inline") {
        out.push(part.bytes);
        continue;
      }
      const view = this.viewOf(part.path, part.dev, part.ino, part.position, part.length, part.check);
      if (view === null) {
        this.counts.refused++;
        return null;
      }
      this.counts.served++;
      out.push(view);
    }
    return out;
  }

  /** Maps held now. */
  get size(): number {
    return this.maps.size;
  }

  private viewOf(path: string, dev: bigint, ino: bigint, position: number, length: number, check: Uint8Array): Uint8Array | null {
    const end = position + length;
    const cached = this.maps.get(path);
    if (cached !== undefined) {
      this.maps.delete(path); // re-inserted below: most recently used last
      if (cached.id.dev === dev && cached.id.ino === ino && end <= cached.view.length && startsWith(cached.view, position, check)) {
        this.maps.set(path, cached);
        return cached.view.subarray(position, end);
      }
    }
    // Not mapped, another file, or grown past the map (an active segment): map it again.
    const map = this.fs.mmap(path);
    if (map === null) return null;
    const at = mappedFileOf(map);
    if (at === null || at.position !== 0) return null;
    this.counts.mapped++;
    this.remember(path, { id: at.file, view: map });
    if (at.file.dev !== dev || at.file.ino !== ino || end > map.length || !startsWith(map, position, check)) return null;
    return map.subarray(position, end);
  }

  private remember(path: string, m: CachedMap): void {
    this.maps.set(path, m);
    if (this.maps.size > MAX_FRONT_SEGMENT_MAPS) this.maps.delete(this.maps.keys().next().value!);
  }

  /** Drops maps of files no longer at their path (deleted, compacted away), so their disk space can be freed. */
  private maybeSweep(): void {
    const now = this.nowMs();
    if (now - this.lastSweepMs < FRONT_SEGMENT_MAP_SWEEP_MS) return;
    this.lastSweepMs = now;
    for (const [path, m] of this.maps) {
      const id = this.identity(path);
      if (id === null || id.dev !== m.id.dev || id.ino !== m.id.ino) this.maps.delete(path);
    }
  }
}

/** Whether `view` holds `check` at `position` (the slice's first batch header). */
function startsWith(view: Uint8Array, position: number, check: Uint8Array): boolean {
  if (check.length !== SLICE_CHECK_BYTES || position + check.length > view.length) return false;
  for (let i = 0; i < check.length; i++) if (view[position + i] !== check[i]) return false;
  return true;
}
