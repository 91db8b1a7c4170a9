package main

// franz-transact: a kgo GroupTransactSession consume-transform-produce loop. It consumes -input in group -group
// (read_committed), writes each record's value upper-cased to -output under the same key, and commits the
// consumed offsets inside the same transaction (End with TryCommit), until it has processed -count distinct input
// records. Events: transaction {"records":n,"committed":bool} per End, done {"processed":n}.

import (
	"context"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

func init() { register("franz-transact", franzTransact) }

func franzTransact(args []string) error {
	fs := flag.NewFlagSet("franz-transact", flag.ContinueOnError)
	bootstrap := fs.String("bootstrap", "", "broker host:port")
	group := fs.String("group", "", "consumer group")
	input := fs.String("input", "", "input topic")
	output := fs.String("output", "", "output topic")
	txnID := fs.String("txn-id", "franz-etl", "transactional.id")
	count := fs.Int("count", 1000, "input records to process")
	if err := fs.Parse(args); err != nil {
		return err
	}
	sess, err := kgo.NewGroupTransactSession(
		kgo.SeedBrokers(*bootstrap),
		kgo.TransactionalID(*txnID),
		kgo.ConsumerGroup(*group),
		kgo.ConsumeTopics(*input),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.RequireStableFetchOffsets(),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.DefaultProduceTopic(*output),
	)
	if err != nil {
		return err
	}
	defer sess.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	processed := map[string]bool{}
	for len(processed) < *count {
		fetches := sess.PollFetches(ctx)
		if ctx.Err() != nil {
			return fmt.Errorf("processed %d of %d before the deadline", len(processed), *count)
		}
		var ferr error
		fetches.EachError(func(t string, p int32, err error) { ferr = fmt.Errorf("fetch %s-%d: %w", t, p, err) })
		if ferr != nil {
			return ferr
		}
		recs := fetches.Records()
		if len(recs) == 0 {
			continue
		}
		if err := sess.Begin(); err != nil {
			return fmt.Errorf("begin: %w", err)
		}
		out := make([]*kgo.Record, 0, len(recs))
		for _, r := range recs {
			out = append(out, &kgo.Record{Key: r.Key, Value: []byte(strings.ToUpper(string(r.Value)))})
		}
		produceErr := sess.ProduceSync(ctx, out...).FirstErr()
		committed, err := sess.End(ctx, kgo.TransactionEndTry(produceErr == nil))
		if err != nil {
			return fmt.Errorf("end: %w", err)
		}
		emit("transaction", "records", len(recs), "committed", committed)
		if committed {
			for _, r := range recs {
				processed[fmt.Sprintf("%d/%d", r.Partition, r.Offset)] = true
			}
		}
	}
	emit("done", "processed", len(processed))
	return nil
}
