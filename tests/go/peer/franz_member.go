package main

// franz-member: one kgo consumer group member that runs until "close" on stdin (or stdin closing). Flags:
// -bootstrap, -group, -topics a,b or -regex (topics are then regular expressions; -metadata-max-age says how soon a
// new matching topic is seen), -protocol classic|consumer
// (consumer: KIP-848 through kgo.ServerSideBalancer), -instance-id (static membership), -session-timeout and -heartbeat-interval (classic). Commits after every poll that returned records.
// Events: assigned/revoked/lost {"partitions":["t-0",...],"assignment":[the whole current assignment]}, records {"records":[[topic,partition,offset,key,value]]},
// committed, commit-failed, closed, error.

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/twmb/franz-go/pkg/kgo"
)

func init() { register("franz-member", franzMember) }

// partitionNames flattens a topic → partitions map into sorted "topic-partition" names.
func partitionNames(m map[string][]int32) []string {
	out := []string{}
	for t, ps := range m {
		for _, p := range ps {
			out = append(out, fmt.Sprintf("%s-%d", t, p))
		}
	}
	sort.Strings(out)
	return out
}

// ownedPartitions is a member's current assignment, kept from its assigned/revoked/lost callbacks (which name only
// the partitions that change under incremental protocols).
type ownedPartitions map[string]map[int32]bool

// change adds (or removes) the partitions of m and returns the whole assignment as sorted names.
func (o ownedPartitions) change(m map[string][]int32, add bool) []string {
	for t, ps := range m {
		if o[t] == nil {
			o[t] = map[int32]bool{}
		}
		for _, p := range ps {
			if add {
				o[t][p] = true
			} else {
				delete(o[t], p)
			}
		}
	}
	all := map[string][]int32{}
	for t, ps := range o {
		for p := range ps {
			all[t] = append(all[t], p)
		}
	}
	return partitionNames(all)
}

// closeOnStdin cancels ctx once stdin says "close" or ends.
func closeOnStdin(cancel context.CancelFunc) {
	go func() {
		sc := bufio.NewScanner(os.Stdin)
		for sc.Scan() {
			if strings.TrimSpace(sc.Text()) == "close" {
				break
			}
		}
		cancel()
	}()
}

func franzMember(args []string) error {
	fs := flag.NewFlagSet("franz-member", flag.ContinueOnError)
	bootstrap := fs.String("bootstrap", "", "broker host:port")
	group := fs.String("group", "", "group id")
	topics := fs.String("topics", "", "comma-separated topics (regular expressions with -regex)")
	regex := fs.Bool("regex", false, "treat -topics as regular expressions")
	metadataMaxAge := fs.Duration("metadata-max-age", 0, "how often metadata (and so regex matches) is refreshed (0: kgo's default)")
	protocol := fs.String("protocol", "classic", "group protocol: classic or consumer")
	instance := fs.String("instance-id", "", "group.instance.id (static membership)")
	session := fs.Duration("session-timeout", 0, "classic protocol session timeout (0: kgo's default)")
	heartbeat := fs.Duration("heartbeat-interval", 0, "classic protocol heartbeat interval (0: kgo's default)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	owned := ownedPartitions{}
	opts := []kgo.Opt{
		kgo.SeedBrokers(*bootstrap),
		kgo.ConsumerGroup(*group),
		kgo.ConsumeTopics(strings.Split(*topics, ",")...),
		kgo.DisableAutoCommit(),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.OnPartitionsAssigned(func(_ context.Context, _ *kgo.Client, m map[string][]int32) {
			emit("assigned", "partitions", partitionNames(m), "assignment", owned.change(m, true))
		}),
		kgo.OnPartitionsRevoked(func(ctx context.Context, cl *kgo.Client, m map[string][]int32) {
			if err := cl.CommitMarkedOffsets(ctx); err != nil {
				emit("commit-failed", "message", err.Error())
			}
			emit("revoked", "partitions", partitionNames(m), "assignment", owned.change(m, false))
		}),
		kgo.OnPartitionsLost(func(_ context.Context, _ *kgo.Client, m map[string][]int32) {
			emit("lost", "partitions", partitionNames(m), "assignment", owned.change(m, false))
		}),
	}
	switch *protocol {
	case "consumer":
		// KIP-848: the broker assigns (kgo needs a range or sticky balancer for it; cooperative-sticky is the default).
		opts = append(opts, kgo.ServerSideBalancer())
	case "classic":
	default:
		return fmt.Errorf("unknown -protocol %q", *protocol)
	}
	if *regex {
		opts = append(opts, kgo.ConsumeRegex())
	}
	if *metadataMaxAge > 0 {
		opts = append(opts, kgo.MetadataMaxAge(*metadataMaxAge), kgo.MetadataMinAge(*metadataMaxAge/5))
	}
	if *session > 0 {
		opts = append(opts, kgo.SessionTimeout(*session))
	}
	if *heartbeat > 0 {
		opts = append(opts, kgo.HeartbeatInterval(*heartbeat))
	}
	if *instance != "" {
		opts = append(opts, kgo.InstanceID(*instance))
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	closeOnStdin(cancel)
	emit("started", "protocol", *protocol)
	for ctx.Err() == nil {
		fetches := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			break
		}
		fetches.EachError(func(t string, p int32, err error) {
			emit("fetch-error", "topic", t, "partition", p, "message", err.Error())
		})
		rows := [][]any{}
		fetches.EachRecord(func(r *kgo.Record) {
			rows = append(rows, []any{r.Topic, r.Partition, r.Offset, string(r.Key), string(r.Value)})
		})
		if len(rows) == 0 {
			continue
		}
		emit("records", "records", rows)
		if err := cl.CommitUncommittedOffsets(ctx); err != nil {
			emit("commit-failed", "message", err.Error())
		} else {
			emit("committed", "count", len(rows))
		}
	}
	cl.Close()
	emit("closed")
	return nil
}
