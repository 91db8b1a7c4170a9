/** Runnel's version and the Kafka release whose protocol it speaks. */
import pkg from "../package.json" with { type: "json" };

/** Runnel's version (from package.json). */
export const RUNNEL_VERSION: string = pkg.version;
/** The Apache Kafka release whose message schemas the codecs are generated from. */
export const KAFKA_PROTOCOL_RELEASE = "4.3";
