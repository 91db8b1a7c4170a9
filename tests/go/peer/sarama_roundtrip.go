package main

// sarama-roundtrip: a sarama SyncProducer (acks=all, idempotent, Kafka 4.3 protocol versions) sends -count keyed
// records to -topic, then a sarama ConsumerGroup in -group consumes until it has seen them all, marking and
// committing offsets. Events: acks {"acks":[[i,partition,offset],...]}, consumed {"records":[[partition,offset,
// key,value],...],"claims":[...]}, committed {"offsets":{"partition":offset}} (read back with an OffsetManager).

import (
	"context"
	"flag"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/IBM/sarama"
)

func init() { register("sarama-roundtrip", saramaRoundTrip) }

// saramaHandler collects claimed records until `want` distinct offsets were seen.
type saramaHandler struct {
	mu     sync.Mutex
	want   int
	seen   map[string]bool
	rows   [][]any
	claims []string
	done   chan struct{}
}

func (h *saramaHandler) Setup(s sarama.ConsumerGroupSession) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	for t, ps := range s.Claims() {
		for _, p := range ps {
			h.claims = append(h.claims, fmt.Sprintf("%s-%d", t, p))
		}
	}
	return nil
}

func (h *saramaHandler) Cleanup(sarama.ConsumerGroupSession) error { return nil }

func (h *saramaHandler) ConsumeClaim(s sarama.ConsumerGroupSession, c sarama.ConsumerGroupClaim) error {
	for m := range c.Messages() {
		s.MarkMessage(m, "")
		h.mu.Lock()
		id := fmt.Sprintf("%d/%d", m.Partition, m.Offset)
		if !h.seen[id] {
			h.seen[id] = true
			h.rows = append(h.rows, []any{m.Partition, m.Offset, string(m.Key), string(m.Value)})
			if len(h.seen) == h.want {
				s.Commit()
				close(h.done)
			}
		}
		h.mu.Unlock()
	}
	return nil
}

func saramaRoundTrip(args []string) error {
	fs := flag.NewFlagSet("sarama-roundtrip", flag.ContinueOnError)
	bootstrap := fs.String("bootstrap", "", "broker host:port")
	topic := fs.String("topic", "", "topic")
	group := fs.String("group", "", "consumer group")
	count := fs.Int("count", 1000, "records")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg := sarama.NewConfig()
	cfg.Version = sarama.V4_3_0_0
	cfg.Producer.RequiredAcks = sarama.WaitForAll
	cfg.Producer.Idempotent = true
	cfg.Producer.Return.Successes = true
	cfg.Net.MaxOpenRequests = 1
	cfg.Consumer.Offsets.Initial = sarama.OffsetOldest
	cfg.Consumer.Offsets.AutoCommit.Enable = false
	brokers := []string{*bootstrap}

	producer, err := sarama.NewSyncProducer(brokers, cfg)
	if err != nil {
		return fmt.Errorf("producer: %w", err)
	}
	acks := [][]any{}
	for i := 0; i < *count; i++ {
		p, o, err := producer.SendMessage(&sarama.ProducerMessage{Topic: *topic, Key: sarama.StringEncoder(fmt.Sprintf("k%d", i)), Value: sarama.StringEncoder(fmt.Sprintf("v%d", i))})
		if err != nil {
			return fmt.Errorf("send %d: %w", i, err)
		}
		acks = append(acks, []any{i, p, o})
	}
	producer.Close()
	emit("acks", "acks", acks)

	cg, err := sarama.NewConsumerGroup(brokers, *group, cfg)
	if err != nil {
		return fmt.Errorf("consumer group: %w", err)
	}
	h := &saramaHandler{want: *count, seen: map[string]bool{}, done: make(chan struct{})}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	go func() {
		for ctx.Err() == nil {
			if err := cg.Consume(ctx, []string{*topic}, h); err != nil && ctx.Err() == nil {
				emit("consume-error", "message", err.Error())
			}
		}
	}()
	select {
	case <-h.done:
	case <-ctx.Done():
		return fmt.Errorf("consumed %d of %d records before the deadline", len(h.seen), *count)
	}
	cancel()
	if err := cg.Close(); err != nil {
		return fmt.Errorf("close group: %w", err)
	}
	h.mu.Lock()
	emit("consumed", "records", h.rows, "claims", h.claims)
	h.mu.Unlock()

	client, err := sarama.NewClient(brokers, cfg)
	if err != nil {
		return err
	}
	defer client.Close()
	om, err := sarama.NewOffsetManagerFromClient(*group, client)
	if err != nil {
		return err
	}
	defer om.Close()
	parts, err := client.Partitions(*topic)
	if err != nil {
		return err
	}
	committed := map[string]int64{}
	for _, p := range parts {
		pom, err := om.ManagePartition(*topic, p)
		if err != nil {
			return err
		}
		off, _ := pom.NextOffset()
		committed[strconv.Itoa(int(p))] = off
		pom.AsyncClose()
	}
	emit("committed", "offsets", committed)
	return nil
}
