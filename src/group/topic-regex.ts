/**
 * Topic regular expressions of KIP-848 subscriptions (`subscribed_topic_regex`), with RE2/J semantics, which Kafka's
 * coordinator compiles them with: `re2js` is a JavaScript port of RE2/J, so what RE2/J rejects (backreferences,
 * lookaround, possessive quantifiers, repeat counts over 1000, `\Z`, ...) is rejected here with RE2/J's own words,
 * a topic matches when the whole name matches (RE2/J `matches()`), and matching takes linear time, so no regex a
 * client sends can stall the broker.
 */
import { RE2JS, RE2JSException, RE2JSSyntaxException } from "re2js";

/** Longest topic regex accepted (a bound on the work of compiling one). */
export const MAX_TOPIC_REGEX_LENGTH = 64 * 1024;

/** A rejected regular expression, with RE2/J's description of the error. */
export class InvalidTopicRegexError extends Error {}

/** A compiled topic regex. */
export interface TopicRegex {
  /** Whether the whole topic name matches. */
  test(topic: string): boolean;
}

/** Compiles an RE2/J topic regex; throws {@link InvalidTopicRegexError}. */
export function compileTopicRegex(source: string): TopicRegex {
  if (source.length > MAX_TOPIC_REGEX_LENGTH) throw new InvalidTopicRegexError(`regex longer than ${MAX_TOPIC_REGEX_LENGTH} characters`);
  let re: RE2JS;
  try {
    re = RE2JS.compile(source);
  } catch (e) {
    // Kafka reports RE2/J's description ("invalid escape sequence"), without the offending part.
    if (e instanceof RE2JSSyntaxException) throw new InvalidTopicRegexError(e.getDescription());
    if (e instanceof RE2JSException) throw new InvalidTopicRegexError(e.message);
    throw e;
  }
  return { test: (topic) => re.matches(topic) };
}

/** Why `source` is not a valid RE2/J regex, or null when it is. */
export function topicRegexProblem(source: string): string | null {
  try {
    compileTopicRegex(source);
    return null;
  } catch (e) {
    if (e instanceof InvalidTopicRegexError) return e.message;
    throw e;
  }
}
