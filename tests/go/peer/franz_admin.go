package main

// franz-admin: kadm calls in one story against -bootstrap (topics kadm-a and kadm-b with five records on each
// partition of kadm-a, group kadm-g created by an admin offset commit, transactional id kadm-txn). Each call prints
// one event named after the method with its normalised result, or {"error": message}.

import (
	"context"
	"flag"
	"fmt"
	"sort"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

func init() { register("franz-admin", franzAdmin) }

// report emits event name with the result of fn, or its error.
func report(name string, fn func() (any, error)) {
	v, err := fn()
	if err != nil {
		emit(name, "error", err.Error())
		return
	}
	emit(name, "result", v)
}

func franzAdmin(args []string) error {
	fs := flag.NewFlagSet("franz-admin", flag.ContinueOnError)
	bootstrap := fs.String("bootstrap", "", "broker host:port")
	if err := fs.Parse(args); err != nil {
		return err
	}
	group := "kadm-g"
	cl, err := kgo.NewClient(kgo.SeedBrokers(*bootstrap), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		return err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	ret := "3600000"

	report("CreateTopics", func() (any, error) {
		rs, err := adm.CreateTopics(ctx, 2, 1, map[string]*string{"retention.ms": &ret}, "kadm-a", "kadm-b")
		if err != nil {
			return nil, err
		}
		out := map[string]any{}
		for _, r := range rs.Sorted() {
			out[r.Topic] = map[string]any{"err": errString(r.Err), "partitions": r.NumPartitions, "rf": r.ReplicationFactor, "idSet": r.ID != [16]byte{}}
		}
		return out, nil
	})
	report("CreateTopics-existing", func() (any, error) {
		r, err := adm.CreateTopic(ctx, 1, 1, nil, "kadm-a")
		if err != nil {
			return nil, err
		}
		return errString(r.Err), nil
	})
	report("ListTopics", func() (any, error) {
		td, err := adm.ListTopics(ctx)
		if err != nil {
			return nil, err
		}
		out := map[string]any{}
		for _, t := range td.Sorted() {
			parts := []any{}
			for _, p := range t.Partitions.Sorted() {
				parts = append(parts, map[string]any{"p": p.Partition, "leader": p.Leader, "replicas": p.Replicas, "isr": p.ISR})
			}
			out[t.Topic] = map[string]any{"internal": t.IsInternal, "partitions": parts}
		}
		return out, nil
	})
	report("AlterTopicConfigs", func() (any, error) {
		v := "7200000"
		if _, err := adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Op: kadm.SetConfig, Name: "retention.ms", Value: &v}, {Op: kadm.SetConfig, Name: "cleanup.policy", Value: strp("compact")}}, "kadm-a"); err != nil {
			return nil, err
		}
		rcs, err := adm.DescribeTopicConfigs(ctx, "kadm-a")
		if err != nil {
			return nil, err
		}
		rc, err := rcs.On("kadm-a", nil)
		if err != nil {
			return nil, err
		}
		out := map[string]any{}
		for _, c := range rc.Configs {
			if c.Key == "retention.ms" || c.Key == "cleanup.policy" || c.Key == "segment.bytes" {
				out[c.Key] = map[string]any{"value": c.MaybeValue(), "source": c.Source.String()}
			}
		}
		return out, nil
	})
	report("CreatePartitions", func() (any, error) {
		rs, err := adm.UpdatePartitions(ctx, 4, "kadm-b")
		if err != nil {
			return nil, err
		}
		r, _ := rs.On("kadm-b", nil)
		return errString(r.Err), nil
	})
	report("Produce", func() (any, error) {
		var rs []*kgo.Record
		for i := 0; i < 10; i++ {
			rs = append(rs, &kgo.Record{Topic: "kadm-a", Partition: int32(i % 2), Key: []byte(fmt.Sprint("k", i)), Value: []byte(fmt.Sprint(i))})
		}
		return nil, cl.ProduceSync(ctx, rs...).FirstErr()
	})
	report("ListEndOffsets", func() (any, error) { return offsetsOf(adm.ListEndOffsets(ctx, "kadm-a")) })
	report("DeleteRecords", func() (any, error) {
		rs, err := adm.DeleteRecords(ctx, kadm.Offsets{"kadm-a": {0: {Topic: "kadm-a", Partition: 0, At: 2}}})
		if err != nil {
			return nil, err
		}
		r, _ := rs.On("kadm-a", 0, nil)
		return map[string]any{"low": r.LowWatermark, "err": errString(r.Err)}, nil
	})
	report("ListStartOffsets", func() (any, error) { return offsetsOf(adm.ListStartOffsets(ctx, "kadm-a")) })
	report("CommitOffsets", func() (any, error) {
		var os kadm.Offsets
		os.Add(kadm.Offset{Topic: "kadm-a", Partition: 0, At: 3, LeaderEpoch: -1, Metadata: "by kadm"})
		rs, err := adm.CommitOffsets(ctx, group, os)
		if err != nil {
			return nil, err
		}
		return errString(rs.Error()), nil
	})
	report("ListGroups", func() (any, error) {
		ls, err := adm.ListGroups(ctx)
		if err != nil {
			return nil, err
		}
		out := []any{}
		for _, g := range ls.Sorted() {
			out = append(out, map[string]any{"group": g.Group, "protocolType": g.ProtocolType, "state": g.State, "type": g.GroupType})
		}
		return out, nil
	})
	report("DescribeGroups", func() (any, error) {
		ds, err := adm.DescribeGroups(ctx, group)
		if err != nil {
			return nil, err
		}
		d := ds[group]
		return map[string]any{"state": d.State, "protocolType": d.ProtocolType, "members": len(d.Members), "err": errString(d.Err)}, nil
	})
	fetched := func(withMetadata bool) (any, error) {
		rs, err := adm.FetchOffsets(ctx, group)
		if err != nil {
			return nil, err
		}
		out := map[string]any{}
		rs.Each(func(o kadm.OffsetResponse) {
			if withMetadata {
				out[key(o.Topic, o.Partition)] = []any{o.At, o.Metadata}
			} else {
				out[key(o.Topic, o.Partition)] = o.At
			}
		})
		return out, nil
	}
	report("FetchOffsets", func() (any, error) { return fetched(true) })
	report("Lag", func() (any, error) {
		ls, err := adm.Lag(ctx, group)
		if err != nil {
			return nil, err
		}
		l := ls[group]
		if l.Error() != nil {
			return nil, l.Error()
		}
		out := map[string]any{}
		for _, ml := range l.Lag.Sorted() {
			out[key(ml.Topic, ml.Partition)] = ml.Lag
		}
		return out, nil
	})
	report("CommitOffsets-second", func() (any, error) {
		var os kadm.Offsets
		os.Add(kadm.Offset{Topic: "kadm-a", Partition: 1, At: 1, LeaderEpoch: -1})
		rs, err := adm.CommitOffsets(ctx, group, os)
		if err != nil {
			return nil, err
		}
		return errString(rs.Error()), nil
	})
	report("FetchOffsets-after-commit", func() (any, error) { return fetched(false) })
	report("DeleteGroups", func() (any, error) {
		rs, err := adm.DeleteGroups(ctx, group)
		if err != nil {
			return nil, err
		}
		return errString(rs[group].Err), nil
	})
	report("DescribeBrokerLogDirs", func() (any, error) {
		ds, err := adm.DescribeBrokerLogDirs(ctx, 1, kadm.TopicsSet{"kadm-a": {0: {}, 1: {}}})
		if err != nil {
			return nil, err
		}
		out := []any{}
		for _, d := range ds.Sorted() {
			ps := []string{}
			for _, p := range d.Topics.Sorted() {
				ps = append(ps, key(p.Topic, p.Partition))
			}
			out = append(out, map[string]any{"err": errString(d.Err), "partitions": ps})
		}
		return out, nil
	})
	report("ListBrokers", func() (any, error) {
		bs, err := adm.ListBrokers(ctx)
		if err != nil {
			return nil, err
		}
		out := []any{}
		for _, b := range bs {
			out = append(out, map[string]any{"id": b.NodeID, "host": b.Host, "port": b.Port})
		}
		return out, nil
	})
	report("ApiVersions", func() (any, error) {
		vs, err := adm.ApiVersions(ctx)
		if err != nil {
			return nil, err
		}
		out := []int16{}
		for _, v := range vs {
			v.EachKeySorted(func(k, min, max int16) { out = append(out, k) })
		}
		return out, nil
	})
	report("DescribeTransactions", func() (any, error) {
		producer, err := kgo.NewClient(kgo.SeedBrokers(*bootstrap), kgo.TransactionalID("kadm-txn"), kgo.DefaultProduceTopic("kadm-b"))
		if err != nil {
			return nil, err
		}
		defer producer.Close()
		if err := producer.BeginTransaction(); err != nil {
			return nil, err
		}
		if err := producer.ProduceSync(ctx, &kgo.Record{Value: []byte("x")}).FirstErr(); err != nil {
			return nil, err
		}
		ds, err := adm.DescribeTransactions(ctx, "kadm-txn")
		if err != nil {
			return nil, err
		}
		d := ds["kadm-txn"]
		ls, err := adm.ListTransactions(ctx, nil, nil)
		if err != nil {
			return nil, err
		}
		listed := []string{}
		for _, t := range ls.Sorted() {
			listed = append(listed, t.TxnID+":"+t.State)
		}
		if err := producer.EndTransaction(ctx, kgo.TryCommit); err != nil {
			return nil, err
		}
		parts := []string{}
		for _, tp := range d.Topics.Sorted() {
			for _, p := range tp.Partitions {
				parts = append(parts, key(tp.Topic, p))
			}
		}
		sort.Strings(parts)
		return map[string]any{"state": d.State, "timeoutMs": d.TimeoutMillis, "partitions": parts, "listed": listed, "err": errString(d.Err)}, nil
	})
	report("DeleteTopics", func() (any, error) {
		rs, err := adm.DeleteTopics(ctx, "kadm-b")
		if err != nil {
			return nil, err
		}
		r, _ := rs.On("kadm-b", nil)
		return errString(r.Err), nil
	})
	emit("done")
	return nil
}

func strp(s string) *string { return &s }

func key(topic string, partition int32) string { return fmt.Sprintf("%s-%d", topic, partition) }

func errString(err error) any {
	if err == nil {
		return nil
	}
	return err.Error()
}

// offsetsOf normalises a ListOffsets answer to {"topic-partition": offset}.
func offsetsOf(lo kadm.ListedOffsets, err error) (any, error) {
	if err != nil {
		return nil, err
	}
	if err := lo.Error(); err != nil {
		return nil, err
	}
	out := map[string]any{}
	lo.Each(func(o kadm.ListedOffset) { out[key(o.Topic, o.Partition)] = o.Offset })
	return out, nil
}
