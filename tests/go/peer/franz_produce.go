package main

// franz-produce: a kgo producer (idempotent by default, acks=all) sends -count records with keys k<i> and values
// v<i> to -topic and reports each acknowledgement. Events: acks {"acks":[[i,partition,offset],...]}.

import (
	"context"
	"flag"
	"fmt"
	"sync"

	"github.com/twmb/franz-go/pkg/kgo"
)

func init() { register("franz-produce", franzProduce) }

func franzProduce(args []string) error {
	fs := flag.NewFlagSet("franz-produce", flag.ContinueOnError)
	bootstrap := fs.String("bootstrap", "", "broker host:port")
	topic := fs.String("topic", "", "topic")
	count := fs.Int("count", 1000, "records to send")
	prefix := fs.String("prefix", "v", "value prefix")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(*bootstrap), kgo.DefaultProduceTopic(*topic), kgo.RecordPartitioner(kgo.StickyKeyPartitioner(nil)))
	if err != nil {
		return err
	}
	defer cl.Close()
	acks := make([][]any, *count)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	for i := 0; i < *count; i++ {
		wg.Add(1)
		i := i
		cl.Produce(context.Background(), &kgo.Record{Key: []byte(fmt.Sprintf("k%d", i)), Value: []byte(fmt.Sprintf("%s%d", *prefix, i))}, func(r *kgo.Record, err error) {
			defer wg.Done()
			mu.Lock()
			defer mu.Unlock()
			if err != nil && firstErr == nil {
				firstErr = err
			}
			acks[i] = []any{i, r.Partition, r.Offset}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	emit("acks", "acks", acks)
	return nil
}
