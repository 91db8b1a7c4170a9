/**
 * The Kafka error code for a failed topic operation (create, delete, auto-create): its own code for a
 * {@link KafkaError}, KAFKA_STORAGE_ERROR for an operating-system I/O error (ENOSPC, EIO, EMFILE...), and
 * UNKNOWN_SERVER_ERROR otherwise. Answered for that one topic, so the other topics of the request and the
 * connection carry on.
 */
import { ErrorCode, KafkaError } from "../protocol/errors.ts";

/** An error code and message for one topic's result. */
export interface TopicOperationError {
  /** Kafka error code. */
  code: number;
  /** Message for the response's error message field. */
  message: string;
  /** Whether it was unexpected (I/O or internal), worth an ERROR log line. */
  unexpected: boolean;
}

/** Classifies `e`, thrown by a topic operation. */
export function topicOperationError(e: unknown): TopicOperationError {
  if (e instanceof KafkaError) return { code: e.code, message: e.message, unexpected: false };
  const errno = (e as { code?: unknown } | null)?.code;
  const message = (e as Error)?.message ?? String(e);
  if (typeof errno === "string" && /^E[A-Z0-9]+$/.test(errno)) return { code: ErrorCode.KAFKA_STORAGE_ERROR, message: `I/O error: ${message}`, unexpected: true };
  return { code: ErrorCode.UNKNOWN_SERVER_ERROR, message, unexpected: true };
}
