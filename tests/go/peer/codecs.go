package main

// codecs: -lib franz or sarama writes -count keyed records to "<lib>-<codec>" (one partition) with each codec
// (none, gzip, snappy, lz4, zstd) and reads them back with the same library. Events: codec {"codec","read",
// "mismatches"}, counting records whose key or value differ from what was sent.

import (
	"context"
	"flag"
	"fmt"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kgo"
)

func init() { register("codecs", codecs) }

var codecNames = []string{"none", "gzip", "snappy", "lz4", "zstd"}

// codecValue is record i's value: varied text that compresses.
func codecValue(i int) string {
	b := make([]byte, 20+i%80)
	for j := range b {
		b[j] = byte('a' + (i*31+j*7)%26)
	}
	return string(b)
}

func franzCodec(name string) kgo.CompressionCodec {
	switch name {
	case "gzip":
		return kgo.GzipCompression()
	case "snappy":
		return kgo.SnappyCompression()
	case "lz4":
		return kgo.Lz4Compression()
	case "zstd":
		return kgo.ZstdCompression()
	}
	return kgo.NoCompression()
}

func saramaCodec(name string) sarama.CompressionCodec {
	switch name {
	case "gzip":
		return sarama.CompressionGZIP
	case "snappy":
		return sarama.CompressionSnappy
	case "lz4":
		return sarama.CompressionLZ4
	case "zstd":
		return sarama.CompressionZSTD
	}
	return sarama.CompressionNone
}

// franzRoundTrip writes and reads back one codec's topic with kgo; returns (records read, mismatches).
func franzRoundTrip(bootstrap, topic, codec string, count int) (int, int, error) {
	p, err := kgo.NewClient(kgo.SeedBrokers(bootstrap), kgo.DefaultProduceTopic(topic), kgo.ProducerBatchCompression(franzCodec(codec)), kgo.ProducerLinger(20*time.Millisecond))
	if err != nil {
		return 0, 0, err
	}
	rs := make([]*kgo.Record, count)
	for i := range rs {
		rs[i] = &kgo.Record{Key: []byte(fmt.Sprint("k", i)), Value: []byte(codecValue(i))}
	}
	err = p.ProduceSync(context.Background(), rs...).FirstErr()
	p.Close()
	if err != nil {
		return 0, 0, err
	}
	c, err := kgo.NewClient(kgo.SeedBrokers(bootstrap), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		return 0, 0, err
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	read, bad := 0, 0
	for read < count && ctx.Err() == nil {
		c.PollFetches(ctx).EachRecord(func(r *kgo.Record) {
			i := int(r.Offset)
			if string(r.Key) != fmt.Sprint("k", i) || string(r.Value) != codecValue(i) {
				bad++
			}
			read++
		})
	}
	return read, bad, nil
}

// saramaRoundTrip writes and reads back one codec's topic with sarama; returns (records read, mismatches).
func saramaCodecRoundTrip(bootstrap, topic, codec string, count int) (int, int, error) {
	cfg := sarama.NewConfig()
	cfg.Version = sarama.V4_3_0_0
	cfg.Producer.Return.Successes = true
	cfg.Producer.Compression = saramaCodec(codec)
	cfg.Producer.Flush.Frequency = 20 * time.Millisecond
	p, err := sarama.NewAsyncProducer([]string{bootstrap}, cfg)
	if err != nil {
		return 0, 0, err
	}
	for i := 0; i < count; i++ {
		p.Input() <- &sarama.ProducerMessage{Topic: topic, Key: sarama.StringEncoder(fmt.Sprint("k", i)), Value: sarama.StringEncoder(codecValue(i))}
	}
	for i := 0; i < count; i++ {
		select {
		case <-p.Successes():
		case e := <-p.Errors():
			p.Close()
			return 0, 0, e.Err
		}
	}
	p.Close()
	c, err := sarama.NewConsumer([]string{bootstrap}, cfg)
	if err != nil {
		return 0, 0, err
	}
	defer c.Close()
	pc, err := c.ConsumePartition(topic, 0, sarama.OffsetOldest)
	if err != nil {
		return 0, 0, err
	}
	defer pc.Close()
	read, bad := 0, 0
	deadline := time.After(60 * time.Second)
	for read < count {
		select {
		case m := <-pc.Messages():
			i := int(m.Offset)
			if string(m.Key) != fmt.Sprint("k", i) || string(m.Value) != codecValue(i) {
				bad++
			}
			read++
		case <-deadline:
			return read, bad, nil
		}
	}
	return read, bad, nil
}

func codecs(args []string) error {
	fs := flag.NewFlagSet("codecs", flag.ContinueOnError)
	bootstrap := fs.String("bootstrap", "", "broker host:port")
	lib := fs.String("lib", "franz", "franz or sarama")
	count := fs.Int("count", 1000, "records per codec")
	if err := fs.Parse(args); err != nil {
		return err
	}
	for _, codec := range codecNames {
		topic := *lib + "-" + codec
		var read, bad int
		var err error
		if *lib == "sarama" {
			read, bad, err = saramaCodecRoundTrip(*bootstrap, topic, codec, *count)
		} else {
			read, bad, err = franzRoundTrip(*bootstrap, topic, codec, *count)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", topic, err)
		}
		emit("codec", "codec", codec, "read", read, "mismatches", bad)
	}
	return nil
}
