package main

// sarama-member: one sarama ConsumerGroup member that runs until "close" on stdin (or stdin closing), for the
// group take-over scenario (tests/support/group-takeover.ts). Flags: -bootstrap, -group, -topics a,b,
// -session-timeout, -heartbeat-interval, -assignor range|roundrobin|sticky. It commits synchronously after each
// batch of records it drains from a claim. Events: assigned/revoked {"partitions":["t-0",...]} (each session's
// claims, from Setup and Cleanup), records {"records":[[topic,partition,offset,key,value]]}, committed, closed.

import (
	"context"
	"flag"
	"strings"
	"time"

	"github.com/IBM/sarama"
)

func init() { register("sarama-member", saramaMember) }

// memberHandler reports every session's claims and each drained batch of records.
type memberHandler struct{}

func (memberHandler) Setup(s sarama.ConsumerGroupSession) error {
	emit("assigned", "partitions", partitionNames(s.Claims()))
	return nil
}

func (memberHandler) Cleanup(s sarama.ConsumerGroupSession) error {
	s.Commit()
	emit("revoked", "partitions", partitionNames(s.Claims()))
	return nil
}

// maxDrain bounds how many buffered messages one batch takes.
const maxDrain = 500

func (memberHandler) ConsumeClaim(s sarama.ConsumerGroupSession, c sarama.ConsumerGroupClaim) error {
	for {
		var first *sarama.ConsumerMessage
		select {
		case m, ok := <-c.Messages():
			if !ok {
				return nil
			}
			first = m
		case <-s.Context().Done():
			return nil
		}
		batch := []*sarama.ConsumerMessage{first}
	drain:
		for len(batch) < maxDrain {
			select {
			case m, ok := <-c.Messages():
				if !ok {
					break drain
				}
				batch = append(batch, m)
			default:
				break drain
			}
		}
		rows := make([][]any, 0, len(batch))
		for _, m := range batch {
			rows = append(rows, []any{m.Topic, m.Partition, m.Offset, string(m.Key), string(m.Value)})
		}
		emit("records", "records", rows)
		s.MarkMessage(batch[len(batch)-1], "")
		s.Commit()
		emit("committed", "count", len(rows))
	}
}

func saramaMember(args []string) error {
	fs := flag.NewFlagSet("sarama-member", flag.ContinueOnError)
	bootstrap := fs.String("bootstrap", "", "broker host:port")
	group := fs.String("group", "", "group id")
	topics := fs.String("topics", "", "comma-separated topics")
	session := fs.Duration("session-timeout", 10*time.Second, "session timeout")
	heartbeat := fs.Duration("heartbeat-interval", 3*time.Second, "heartbeat interval")
	assignor := fs.String("assignor", "range", "range, roundrobin or sticky")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg := sarama.NewConfig()
	cfg.Version = sarama.V4_3_0_0
	cfg.Consumer.Offsets.Initial = sarama.OffsetOldest
	cfg.Consumer.Offsets.AutoCommit.Enable = false
	cfg.Consumer.Group.Session.Timeout = *session
	cfg.Consumer.Group.Heartbeat.Interval = *heartbeat
	switch *assignor {
	case "roundrobin":
		cfg.Consumer.Group.Rebalance.GroupStrategies = []sarama.BalanceStrategy{sarama.NewBalanceStrategyRoundRobin()}
	case "sticky":
		cfg.Consumer.Group.Rebalance.GroupStrategies = []sarama.BalanceStrategy{sarama.NewBalanceStrategySticky()}
	default:
		cfg.Consumer.Group.Rebalance.GroupStrategies = []sarama.BalanceStrategy{sarama.NewBalanceStrategyRange()}
	}
	cg, err := sarama.NewConsumerGroup([]string{*bootstrap}, *group, cfg)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	closeOnStdin(cancel)
	go func() {
		for err := range cg.Errors() {
			emit("group-error", "message", err.Error())
		}
	}()
	emit("started")
	for ctx.Err() == nil {
		if err := cg.Consume(ctx, strings.Split(*topics, ","), memberHandler{}); err != nil && ctx.Err() == nil {
			emit("consume-error", "message", err.Error())
			time.Sleep(200 * time.Millisecond)
		}
	}
	cg.Close()
	emit("closed")
	return nil
}
