package runnel;

import java.util.Arrays;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Grouped;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Produced;

/**
 * Kafka Streams word count: lines from --input are split into words, regrouped by word (a repartition topic) and
 * counted in a persistent state store "word-counts" (a compacted changelog topic); every count goes to --output.
 * processing.guarantee=exactly_once_v2. Arguments: --bootstrap, --app-id, --input, --output, --state-dir. Events:
 * {"event":"state","state":...} on every state change, {"event":"thread-error","message":...} when a stream thread
 * dies (it is replaced). Stdin closing (or "close") stops the application.
 */
public final class WordCount {
  private WordCount() {}

  public static void main(String[] argv) throws Exception {
    Map<String, String> args = Out.args(argv);
    Properties p = new Properties();
    p.put(StreamsConfig.APPLICATION_ID_CONFIG, args.get("app-id"));
    p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, args.get("bootstrap"));
    p.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
    p.put(StreamsConfig.STATE_DIR_CONFIG, args.get("state-dir"));
    p.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, "200");
    p.put(StreamsConfig.REPLICATION_FACTOR_CONFIG, "1");
    p.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, "1");
    p.put(StreamsConfig.consumerPrefix("session.timeout.ms"), "10000");
    p.put(StreamsConfig.consumerPrefix("heartbeat.interval.ms"), "1000");
    p.put(StreamsConfig.consumerPrefix("metadata.max.age.ms"), "2000");
    p.put(StreamsConfig.consumerPrefix("auto.offset.reset"), "earliest");

    StreamsBuilder builder = new StreamsBuilder();
    builder.stream(args.get("input"), Consumed.with(Serdes.String(), Serdes.String()))
        .flatMapValues(line -> Arrays.asList(line.toLowerCase(Locale.ROOT).split("\\W+")))
        .filter((k, word) -> !word.isEmpty())
        .groupBy((k, word) -> word, Grouped.with("by-word", Serdes.String(), Serdes.String()))
        .count(Materialized.as("word-counts"))
        .toStream()
        .to(args.get("output"), Produced.with(Serdes.String(), Serdes.Long()));

    KafkaStreams streams = new KafkaStreams(builder.build(), p);
    streams.setStateListener((now, before) -> Out.emit("state", "state", now.name(), "from", before.name()));
    streams.setUncaughtExceptionHandler(e -> {
      Out.emit("thread-error", "message", Out.describe(e));
      return StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.REPLACE_THREAD;
    });
    streams.start();
    try {
      java.io.BufferedReader r = new java.io.BufferedReader(new java.io.InputStreamReader(System.in));
      for (String line; (line = r.readLine()) != null; ) if (line.trim().equals("close")) break;
    } finally {
      streams.close(java.time.Duration.ofSeconds(20));
      Out.emit("closed");
    }
  }
}
