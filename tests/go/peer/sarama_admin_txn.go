package main

// sarama-admin-txn: sarama's ClusterAdmin in one story against -bootstrap (topic sar-a, group sar-g made by an
// admin offset commit), then a sarama transactional producer (one committed and one aborted transaction on sar-a)
// read back by a read_committed and a read_uncommitted consumer. Each step prints one event named after it, with
// its normalised result or {"error": message}.

import (
	"flag"
	"fmt"
	"sort"
	"time"

	"github.com/IBM/sarama"
)

func init() { register("sarama-admin-txn", saramaAdminTxn) }

// readAll reads sar-a partition 0 from the start to its end with the given isolation level; returns the values.
func readAll(brokers []string, isolation sarama.IsolationLevel) ([]string, error) {
	cfg := sarama.NewConfig()
	cfg.Version = sarama.V4_3_0_0
	cfg.Consumer.IsolationLevel = isolation
	c, err := sarama.NewConsumer(brokers, cfg)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	pc, err := c.ConsumePartition("sar-a", 0, sarama.OffsetOldest)
	if err != nil {
		return nil, err
	}
	defer pc.Close()
	values := []string{}
	deadline := time.After(20 * time.Second)
	for {
		select {
		case m := <-pc.Messages():
			values = append(values, string(m.Value))
		case <-time.After(1500 * time.Millisecond):
			return values, nil // nothing more arrives: the end (markers and aborted records are skipped)
		case <-deadline:
			return values, nil
		}
	}
}

func saramaAdminTxn(args []string) error {
	fs := flag.NewFlagSet("sarama-admin-txn", flag.ContinueOnError)
	bootstrap := fs.String("bootstrap", "", "broker host:port")
	if err := fs.Parse(args); err != nil {
		return err
	}
	brokers := []string{*bootstrap}
	cfg := sarama.NewConfig()
	cfg.Version = sarama.V4_3_0_0
	adm, err := sarama.NewClusterAdmin(brokers, cfg)
	if err != nil {
		return err
	}
	defer adm.Close()
	ret := "3600000"
	report("CreateTopic", func() (any, error) {
		return nil, adm.CreateTopic("sar-a", &sarama.TopicDetail{NumPartitions: 2, ReplicationFactor: 1, ConfigEntries: map[string]*string{"retention.ms": &ret}}, false)
	})
	report("CreateTopic-existing", func() (any, error) { return nil, adm.CreateTopic("sar-a", &sarama.TopicDetail{NumPartitions: 1, ReplicationFactor: 1}, false) })
	report("ListTopics", func() (any, error) {
		ts, err := adm.ListTopics()
		if err != nil {
			return nil, err
		}
		d := ts["sar-a"]
		return map[string]any{"partitions": d.NumPartitions, "rf": d.ReplicationFactor, "retention.ms": deref(d.ConfigEntries["retention.ms"])}, nil
	})
	report("DescribeConfig", func() (any, error) {
		es, err := adm.DescribeConfig(sarama.ConfigResource{Type: sarama.TopicResource, Name: "sar-a", ConfigNames: []string{"retention.ms", "cleanup.policy"}})
		if err != nil {
			return nil, err
		}
		out := map[string]any{}
		for _, e := range es {
			out[e.Name] = map[string]any{"value": e.Value, "source": e.Source.String(), "default": e.Default}
		}
		return out, nil
	})
	report("IncrementalAlterConfig", func() (any, error) {
		v := "7200000"
		if err := adm.IncrementalAlterConfig(sarama.TopicResource, "sar-a", map[string]sarama.IncrementalAlterConfigsEntry{"retention.ms": {Operation: sarama.IncrementalAlterConfigsOperationSet, Value: &v}}, false); err != nil {
			return nil, err
		}
		es, err := adm.DescribeConfig(sarama.ConfigResource{Type: sarama.TopicResource, Name: "sar-a", ConfigNames: []string{"retention.ms"}})
		if err != nil || len(es) != 1 {
			return nil, fmt.Errorf("describe after alter: %v %d", err, len(es))
		}
		return es[0].Value, nil
	})
	report("CreatePartitions", func() (any, error) {
		if err := adm.CreatePartitions("sar-a", 3, nil, false); err != nil {
			return nil, err
		}
		md, err := adm.DescribeTopics([]string{"sar-a"})
		if err != nil {
			return nil, err
		}
		return len(md[0].Partitions), nil
	})
	report("DescribeCluster", func() (any, error) {
		bs, controller, err := adm.DescribeCluster()
		if err != nil {
			return nil, err
		}
		return map[string]any{"brokers": len(bs), "addr": bs[0].Addr(), "controller": controller}, nil
	})

	report("Transactions", func() (any, error) {
		pcfg := sarama.NewConfig()
		pcfg.Version = sarama.V4_3_0_0
		pcfg.Producer.Idempotent = true
		pcfg.Producer.RequiredAcks = sarama.WaitForAll
		pcfg.Producer.Return.Successes = true
		pcfg.Producer.Transaction.ID = "sarama-txn"
		pcfg.Net.MaxOpenRequests = 1
		pcfg.Producer.Partitioner = sarama.NewManualPartitioner
		p, err := sarama.NewSyncProducer(brokers, pcfg)
		if err != nil {
			return nil, err
		}
		defer p.Close()
		for _, outcome := range []string{"committed", "aborted", "committed-again"} {
			if err := p.BeginTxn(); err != nil {
				return nil, fmt.Errorf("begin: %w", err)
			}
			for i := 0; i < 5; i++ {
				if _, _, err := p.SendMessage(&sarama.ProducerMessage{Topic: "sar-a", Partition: 0, Value: sarama.StringEncoder(fmt.Sprintf("%s-%d", outcome, i))}); err != nil {
					return nil, fmt.Errorf("send: %w", err)
				}
			}
			if outcome == "aborted" {
				err = p.AbortTxn()
			} else {
				err = p.CommitTxn()
			}
			if err != nil {
				return nil, fmt.Errorf("end %s: %w", outcome, err)
			}
		}
		committed, err := readAll(brokers, sarama.ReadCommitted)
		if err != nil {
			return nil, err
		}
		all, err := readAll(brokers, sarama.ReadUncommitted)
		if err != nil {
			return nil, err
		}
		return map[string]any{"readCommitted": committed, "readUncommitted": all}, nil
	})

	report("AlterConsumerGroupOffsets", func() (any, error) {
		// The partition's error is in the response: a coordinator still loading its partition is asked again.
		for i := 0; ; i++ {
			r, err := adm.AlterConsumerGroupOffsets("sar-g", map[string]map[int32]sarama.OffsetAndMetadata{"sar-a": {0: {Offset: 4, Metadata: "by sarama"}}}, nil)
			if err != nil {
				return nil, err
			}
			kerr := r.Errors["sar-a"][0]
			if kerr == sarama.ErrOffsetsLoadInProgress && i < 200 {
				time.Sleep(50 * time.Millisecond)
				continue
			}
			if kerr != sarama.ErrNoError {
				return nil, kerr
			}
			return nil, nil
		}
	})
	report("ListConsumerGroups", func() (any, error) { return adm.ListConsumerGroups() })
	report("DescribeConsumerGroups", func() (any, error) {
		ds, err := adm.DescribeConsumerGroups([]string{"sar-g"})
		if err != nil {
			return nil, err
		}
		return map[string]any{"state": ds[0].State, "protocolType": ds[0].ProtocolType, "members": len(ds[0].Members), "err": saramaErr(ds[0].Err)}, nil
	})
	report("ListConsumerGroupOffsets", func() (any, error) {
		r, err := adm.ListConsumerGroupOffsets("sar-g", map[string][]int32{"sar-a": {0, 1}})
		if err != nil {
			return nil, err
		}
		out := map[string]any{}
		for p, b := range r.Blocks["sar-a"] {
			out[fmt.Sprint(p)] = []any{b.Offset, b.Metadata, saramaErr(b.Err)}
		}
		return out, nil
	})
	report("DeleteConsumerGroupOffset", func() (any, error) { return nil, adm.DeleteConsumerGroupOffset("sar-g", "sar-a", 0) })
	report("DeleteConsumerGroup", func() (any, error) { return nil, adm.DeleteConsumerGroup("sar-g") })
	report("DeleteRecords", func() (any, error) { return nil, adm.DeleteRecords("sar-a", map[int32]int64{0: 3}) })
	report("ListOffsets", func() (any, error) {
		rs, err := adm.ListOffsets(map[string]map[int32]int64{"sar-a": {0: sarama.OffsetOldest}}, nil)
		if err != nil {
			return nil, err
		}
		return rs["sar-a"][0].Offset, nil
	})
	report("DescribeLogDirs", func() (any, error) {
		ds, err := adm.DescribeLogDirs([]int32{1})
		if err != nil {
			return nil, err
		}
		names := []string{}
		for _, d := range ds[1] {
			for _, t := range d.Topics {
				for _, p := range t.Partitions {
					names = append(names, fmt.Sprintf("%s-%d", t.Topic, p.PartitionID))
				}
			}
		}
		sort.Strings(names)
		return names, nil
	})
	report("DeleteTopic", func() (any, error) { return nil, adm.DeleteTopic("sar-a") })
	emit("done")
	return nil
}

func deref(s *string) any {
	if s == nil {
		return nil
	}
	return *s
}

// saramaErr is errString, except that sarama's ErrNoError (a non-nil "no error" code) is no error.
func saramaErr(err sarama.KError) any {
	if err == sarama.ErrNoError {
		return nil
	}
	return err.Error()
}
