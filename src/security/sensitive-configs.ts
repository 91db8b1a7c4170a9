/** Which config keys hold secrets (Kafka's PASSWORD type): described as null with `is_sensitive`, never logged. */

const SENSITIVE_SUFFIXES = [".password", "sasl.jaas.config", "ssl.keystore.key", "http.authentication.bearer.tokens"];

/** Whether `key` (plain or `listener.name.<l>.`-scoped) holds a secret. */
export function isSensitiveConfig(key: string): boolean {
  return SENSITIVE_SUFFIXES.some((s) => key === s || key.endsWith(s));
}
