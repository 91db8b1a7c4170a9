/** Types for the one snappyjs module Runnel uses: its raw-snappy block compressor (the package ships no types). */
declare module "snappyjs/snappy_compressor.js" {
  /** Compresses one input into raw snappy format (varint length preamble + elements). */
  export class SnappyCompressor {
    /** Wraps `uncompressed` for compression. */
    constructor(uncompressed: Uint8Array);
    /** Upper bound on the compressed size of the wrapped input. */
    maxCompressedLength(): number;
    /** Writes the compressed form into `out` from index 0; returns the number of bytes written. */
    compressToBuffer(out: Uint8Array): number;
  }
}
