/**
 * Errors raised by the generated protocol codecs when encoding or decoding is asked for something the chosen
 * version cannot express. Malformed input is reported separately, by `MalformedFrameError` in `wire.ts`.
 */

/**
 * Thrown when a message is read or written at a version outside its valid versions, when a field that the chosen
 * version lacks holds a non-default value and is not ignorable, or when a value is null in a version where the
 * field is not nullable (mirrors Kafka's `UnsupportedVersionException`).
 */
export class UnsupportedVersionError extends Error {
  /** API key of the message, when it has one. */
  readonly apiKey?: number;
  /** The version that was asked for. */
  readonly version: number;

  constructor(message: string, version: number, apiKey?: number) {
    super(message);
    this.name = "UnsupportedVersionError";
    this.version = version;
    if (apiKey !== undefined) this.apiKey = apiKey;
  }
}
