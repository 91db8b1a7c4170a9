/**
 * Errors the client raises on its own (network, time-outs, closed clients, full buffers). Network and time-out
 * errors carry the Kafka code a broker would use, so `isRetriable(errorCodeOf(e))` treats them as retriable.
 */
import { ErrorCode, KafkaError } from "../protocol/errors.ts";

/** The connection failed or closed before a response arrived (retriable: NETWORK_EXCEPTION). */
export class ConnectionError extends KafkaError {
  constructor(message: string) {
    super(ErrorCode.NETWORK_EXCEPTION, message);
    this.name = "ConnectionError";
  }
}

/** No response within `request.timeout.ms` (retriable: REQUEST_TIMED_OUT). */
export class RequestTimeoutError extends KafkaError {
  constructor(message: string) {
    super(ErrorCode.REQUEST_TIMED_OUT, message);
    this.name = "RequestTimeoutError";
  }
}

/** A client-side wait ran out: `max.block.ms`, `delivery.timeout.ms` or a metadata wait (Java's TimeoutException). */
export class ClientTimeoutError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ClientTimeoutError";
  }
}

/** The client was closed while the operation was pending or before it started. */
export class ClientClosedError extends Error {
  constructor(message = "the client is closed") {
    super(message);
    this.name = "ClientClosedError";
  }
}

/** The broker does not support any version of an API the client needs (UNSUPPORTED_VERSION). */
export class UnsupportedApiError extends KafkaError {
  constructor(message: string) {
    super(ErrorCode.UNSUPPORTED_VERSION, message);
    this.name = "UnsupportedApiError";
  }
}

/** A producer record exceeds `max.request.size` or `buffer.memory` (Kafka: RecordTooLargeException). */
export class RecordTooLargeError extends KafkaError {
  constructor(message: string) {
    super(ErrorCode.MESSAGE_TOO_LARGE, message);
    this.name = "RecordTooLargeError";
  }
}
