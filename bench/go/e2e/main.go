// Command e2e measures end-to-end latency with franz-go, a Kafka client written in Go, as both producer and
// consumer: records are produced at a fixed rate, each carrying its send time, and a consumer in the same process
// reads them back and records now - send time. A client whose own CPU cost is small shows how much of the p99 the
// broker and the machine leave, apart from a JavaScript load generator's (issue 15, "Tail latency"; the driver is
// bench/e2e-franz.ts). One JSON object on stdout: latency percentiles in ms, the achieved rate and the process's CPU
// seconds.
package main

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// maxRecords bounds the latency samples kept (rate x duration must fit).
const maxRecords = 20_000_000

type result struct {
	Count       int       `json:"count"`
	AchievedRps float64   `json:"achievedRecordsPerSecond"`
	LatencyMs   latencyMs `json:"e2eLatencyMs"`
	Failed      int64     `json:"failedProduces"`
	CPUSeconds  float64   `json:"cpuSeconds"`
}

type latencyMs struct {
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	P999 float64 `json:"p999"`
	Max  float64 `json:"max"`
}

func main() {
	brokers := flag.String("b", "127.0.0.1:9092", "bootstrap servers, comma-separated")
	topic := flag.String("t", "e2e-franz", "topic, new or empty (created with -partitions if missing; read from its start)")
	partitions := flag.Int("partitions", 4, "partitions of the topic when it is created")
	rate := flag.Int("rate", 100_000, "records per second")
	duration := flag.Duration("duration", 6*time.Second, "how long to produce")
	warmup := flag.Duration("warmup", time.Second, "records sent in this first part are left out of the percentiles")
	size := flag.Int("s", 100, "record value size in bytes (at least 8: the send time)")
	acks := flag.String("acks", "all", "all or 1")
	linger := flag.Duration("linger", 5*time.Millisecond, "producer linger (Kafka 4's default linger.ms is 5)")
	batch := flag.Int("batch", 16384, "producer batch size in bytes (Kafka's default batch.size)")
	fetchWait := flag.Duration("fetch-max-wait", 100*time.Millisecond, "consumer fetch.max.wait")
	flag.Parse()
	if err := run(*brokers, *topic, *partitions, *rate, *duration, *warmup, *size, *acks, *linger, *batch, *fetchWait); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

func run(brokers, topic string, partitions, rate int, duration, warmup time.Duration, size int, acks string, linger time.Duration, batch int, fetchWait time.Duration) error {
	if size < 8 {
		return errors.New("-s must be at least 8")
	}
	total := int(float64(rate) * duration.Seconds())
	if total <= 0 || total > maxRecords {
		return fmt.Errorf("rate x duration = %d records, want 1..%d", total, maxRecords)
	}
	seeds := strings.Split(brokers, ",")
	ctx := context.Background()
	if err := createTopic(ctx, seeds, topic, partitions); err != nil {
		return err
	}
	required := kgo.AllISRAcks()
	opts := []kgo.Opt{kgo.SeedBrokers(seeds...), kgo.ProducerLinger(linger), kgo.ProducerBatchMaxBytes(int32(batch)), kgo.MaxBufferedRecords(1 << 20), kgo.DefaultProduceTopic(topic)}
	switch acks {
	case "all":
	case "1":
		required = kgo.LeaderAck()
		opts = append(opts, kgo.DisableIdempotentWrite())
	default:
		return fmt.Errorf("-acks %q: want all or 1", acks)
	}
	producer, err := kgo.NewClient(append(opts, kgo.RequiredAcks(required))...)
	if err != nil {
		return err
	}
	defer producer.Close()
	consumer, err := kgo.NewClient(kgo.SeedBrokers(seeds...), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(fetchWait))
	if err != nil {
		return err
	}
	defer consumer.Close()
	// the topic is new (a driver's run makes its own): the consumer reads it from the start
	if err := consumer.Ping(ctx); err != nil {
		return err
	}
	start := time.Now()
	latencies := make([]float64, 0, total)
	var received atomic.Int64
	var failed atomic.Int64
	done := make(chan struct{})
	var consumeErr error
	go func() {
		defer close(done)
		for int(received.Load())+int(failed.Load()) < total {
			fetches := consumer.PollFetches(ctx)
			now := time.Since(start)
			if errs := fetches.Errors(); len(errs) > 0 {
				consumeErr = errs[0].Err
				return
			}
			fetches.EachRecord(func(r *kgo.Record) {
				sent := time.Duration(binary.BigEndian.Uint64(r.Value))
				if sent >= warmup {
					latencies = append(latencies, float64(now-sent)/float64(time.Millisecond))
				}
				received.Add(1)
			})
		}
	}()
	var wg sync.WaitGroup
	interval := time.Second / time.Duration(rate)
	for i := 0; i < total; i++ {
		due := time.Duration(i) * interval
		if wait := due - time.Since(start); wait > 0 {
			time.Sleep(wait)
		}
		value := make([]byte, size)
		binary.BigEndian.PutUint64(value, uint64(time.Since(start)))
		wg.Add(1)
		producer.Produce(ctx, &kgo.Record{Value: value}, func(_ *kgo.Record, err error) {
			if err != nil {
				failed.Add(1)
			}
			wg.Done()
		})
	}
	wg.Wait()
	sendSeconds := time.Since(start).Seconds()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		return fmt.Errorf("consumer read %d of %d records in 30 s", received.Load(), total)
	}
	if consumeErr != nil {
		return consumeErr
	}
	slices.Sort(latencies)
	at := func(q float64) float64 {
		if len(latencies) == 0 {
			return 0
		}
		return latencies[min(len(latencies)-1, int(q*float64(len(latencies))))]
	}
	var usage syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &usage); err != nil {
		return err
	}
	cpu := time.Duration(usage.Utime.Nano() + usage.Stime.Nano()).Seconds()
	out := result{
		Count:       len(latencies),
		AchievedRps: float64(total) / sendSeconds,
		LatencyMs:   latencyMs{P50: at(0.5), P90: at(0.9), P99: at(0.99), P999: at(0.999), Max: at(1)},
		Failed:      failed.Load(),
		CPUSeconds:  cpu,
	}
	return json.NewEncoder(os.Stdout).Encode(out)
}

// createTopic creates topic with partitions partitions and one replica, unless it exists.
func createTopic(ctx context.Context, seeds []string, topic string, partitions int) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...))
	if err != nil {
		return err
	}
	defer cl.Close()
	resp, err := kadm.NewClient(cl).CreateTopic(ctx, int32(partitions), 1, nil, topic)
	if err != nil {
		return err
	}
	if resp.Err != nil && !errors.Is(resp.Err, kerr.TopicAlreadyExists) {
		return resp.Err
	}
	return nil
}
