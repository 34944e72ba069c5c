package stage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"

	"github.com/shop-serverless/shop/components/gofunc"
	"github.com/shop-serverless/shop/functions/manifest"
	"github.com/shop-serverless/shop/functions/tables"
)

// streamPoll is how often the mapping reads a shard that had no new records.
const streamPoll = 200 * time.Millisecond

// FailedBatch is what Lambda sends to a stream mapping's on-failure destination for a batch
// that failed every retry: its shard and sequence numbers, not its records.
type FailedBatch struct {
	Shard                      string
	StartSequence, EndSequence string
	Size                       int
}

// streamMapping is Lambda's event source mapping of a table's stream to a function, as the
// program declares it (gofunc's StreamConfig and stream.go): batches of up to BatchSize
// records gathered for at most the batching window, ReportBatchItemFailures, a failed batch
// bisected, each part retried up to MaxRetries times, then its record sent to the on-failure
// destination, and the shard moves on.
type streamMapping struct {
	cfg    gofunc.StreamConfig
	window time.Duration
	// invoke runs the function with one event and returns its answer.
	invoke func(ctx context.Context, event []byte) ([]byte, error)
	// retryWait is the pause before the first retry, doubled for each next one.
	retryWait time.Duration

	mu     sync.Mutex
	failed []FailedBatch
	// passes counts the reads of every shard begun; quietPass is the last of them that
	// found no record and no error.
	passes, quietPass int
}

func newStreamMapping(invoke func(context.Context, []byte) ([]byte, error)) *streamMapping {
	return &streamMapping{cfg: gofunc.StreamConfig{}.WithDefaults(), window: gofunc.StreamBatchingWindowSeconds * time.Second,
		invoke: invoke, retryWait: 250 * time.Millisecond}
}

// startStreams maps the stream of every function's table to the function (Lambda mode: the
// invalidator's environments), reading the stream from DynamoDB Local's Streams API. The
// mappings stop with the stage.
func (s *Stage) startStreams(ctx context.Context) error {
	for _, fn := range manifest.Functions {
		if fn.StreamOf == nil {
			continue
		}
		if err := s.startStream(ctx, fn, *fn.StreamOf); err != nil {
			return fmt.Errorf("stream of %s to %s: %w", fn.StreamOf.Name, fn.Name, err)
		}
	}
	return nil
}

func (s *Stage) startStream(ctx context.Context, fn manifest.Function, t tables.Table) error {
	desc, err := s.Admin.DynamoDB.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(tablePrefix + t.Name)})
	if err != nil {
		return err
	}
	arn := aws.ToString(desc.Table.LatestStreamArn)
	if arn == "" {
		return errors.New("the table has no stream")
	}
	p, err := s.newPool(fn, s.EnvVars(fn))
	if err != nil {
		return err
	}
	m := newStreamMapping(p.Invoke)
	// Lambda's poller is the service's, not the function's: it reads DynamoDB Local itself.
	streams := dynamodbstreams.NewFromConfig(s.Admin.AWS, func(o *dynamodbstreams.Options) {
		o.BaseEndpoint = aws.String(s.Servers.DynamoDB.URL())
	})
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s.stopStreams = append(s.stopStreams, cancel)
	if s.mappings == nil {
		s.mappings = map[string]*streamMapping{}
	}
	s.mappings[fn.Name] = m
	s.streamsDone.Add(1)
	go func() {
		defer s.streamsDone.Done()
		m.poll(runCtx, streams, arn, s.functionLogf(fn.Name))
	}()
	return nil
}

// FailedBatches are the records fn's stream mapping sent to its on-failure destination.
func (s *Stage) FailedBatches(fn string) []FailedBatch {
	m := s.mappings[fn]
	if m == nil {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]FailedBatch(nil), m.failed...)
}

// poll reads every shard of the stream from its start, as a mapping created with the table
// does, and delivers batches until ctx ends.
func (m *streamMapping) poll(ctx context.Context, streams *dynamodbstreams.Client, arn string, logf func(string, ...any)) {
	iterators := map[string]*string{} // by shard; nil once a closed shard is read to its end
	for ctx.Err() == nil {
		desc, err := streams.DescribeStream(ctx, &dynamodbstreams.DescribeStreamInput{StreamArn: aws.String(arn)})
		if err != nil {
			if ctx.Err() == nil {
				logf("describe stream: %v", err)
			}
			sleep(ctx, time.Second)
			continue
		}
		for _, sh := range desc.StreamDescription.Shards {
			id := aws.ToString(sh.ShardId)
			if _, known := iterators[id]; known {
				continue
			}
			it, err := streams.GetShardIterator(ctx, &dynamodbstreams.GetShardIteratorInput{StreamArn: aws.String(arn),
				ShardId: sh.ShardId, ShardIteratorType: types.ShardIteratorTypeTrimHorizon})
			if err != nil {
				logf("shard iterator of %s: %v", id, err)
				continue
			}
			iterators[id] = it.ShardIterator
		}
		m.mu.Lock()
		m.passes++
		pass := m.passes
		m.mu.Unlock()
		busy := false
		for id, it := range iterators {
			if it == nil {
				continue
			}
			batch, next, err := m.gather(ctx, streams, it)
			iterators[id] = next
			if err != nil {
				busy = true // not known to be caught up
				if ctx.Err() == nil {
					logf("read shard %s: %v", id, err)
				}
				continue
			}
			if len(batch) > 0 {
				busy = true
				m.deliver(ctx, id, batch, logf)
			}
		}
		if !busy {
			m.mu.Lock()
			m.quietPass = pass
			m.mu.Unlock()
			sleep(ctx, streamPoll)
		}
	}
}

// WaitForStreams waits until every stream mapping (Lambda mode) has delivered the records
// written to its table before the call: a read of every shard begun after the call found
// none. Benchmarks call it so that the invalidator's evictions of the seed's writes do not
// land in the middle of what they measure.
func (s *Stage) WaitForStreams(ctx context.Context) error {
	for _, m := range s.mappings {
		m.mu.Lock()
		after := m.passes
		m.mu.Unlock()
		for {
			m.mu.Lock()
			done := m.quietPass > after
			m.mu.Unlock()
			if done {
				break
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("waiting for the stream mappings: %w", ctx.Err())
			case <-time.After(streamPoll / 4):
			}
		}
	}
	return nil
}

// gather reads records from the shard until it has a batch or the batching window since the
// first record has passed.
func (m *streamMapping) gather(ctx context.Context, streams *dynamodbstreams.Client, it *string) ([]types.Record, *string, error) {
	var batch []types.Record
	var first time.Time
	for it != nil && len(batch) < m.cfg.BatchSize {
		out, err := streams.GetRecords(ctx, &dynamodbstreams.GetRecordsInput{ShardIterator: it, Limit: aws.Int32(int32(m.cfg.BatchSize - len(batch)))})
		if err != nil {
			return batch, it, err
		}
		it = out.NextShardIterator
		if len(out.Records) > 0 && first.IsZero() {
			first = time.Now()
		}
		batch = append(batch, out.Records...)
		if first.IsZero() || time.Since(first) >= m.window {
			break
		}
		if len(out.Records) == 0 {
			sleep(ctx, streamPoll)
		}
	}
	return batch, it, nil
}

// deliver invokes the function with batch until it succeeds: a reported item failure retries
// from that record on; a function error bisects the batch; a part that fails MaxRetries
// retries goes to the on-failure destination.
func (m *streamMapping) deliver(ctx context.Context, shard string, batch []types.Record, logf func(string, ...any)) {
	for retries := 0; len(batch) > 0 && ctx.Err() == nil; retries++ {
		if retries > m.cfg.MaxRetries {
			m.mu.Lock()
			m.failed = append(m.failed, FailedBatch{Shard: shard, StartSequence: seq(batch[0]), EndSequence: seq(batch[len(batch)-1]), Size: len(batch)})
			m.mu.Unlock()
			logf("stream batch of %d records (%s..%s) failed %d retries: sent to the on-failure destination", len(batch), seq(batch[0]), seq(batch[len(batch)-1]), m.cfg.MaxRetries)
			return
		}
		if retries > 0 {
			// Backing off, as Lambda does, so an outage of a few seconds is outlasted.
			sleep(ctx, min(m.retryWait<<(retries-1), 5*time.Second))
		}
		from, err := m.invokeBatch(ctx, batch)
		switch {
		case err != nil && len(batch) > 1:
			logf("stream batch of %d records failed (%v): bisecting", len(batch), err)
			half := len(batch) / 2
			m.deliver(ctx, shard, batch[:half], logf)
			m.deliver(ctx, shard, batch[half:], logf)
			return
		case err != nil:
			logf("stream record %s failed: %v", seq(batch[0]), err)
		case from < 0:
			return
		default:
			batch = batch[from:]
		}
	}
}

// invokeBatch returns the index of the first record the function reported failed (-1: none).
func (m *streamMapping) invokeBatch(ctx context.Context, batch []types.Record) (int, error) {
	event, err := streamEvent(batch)
	if err != nil {
		return 0, err
	}
	out, err := m.invoke(ctx, event)
	if err != nil {
		return 0, err
	}
	var resp events.DynamoDBEventResponse
	if len(out) > 0 && string(out) != "null" {
		if err := json.Unmarshal(out, &resp); err != nil {
			return 0, fmt.Errorf("the function's answer %s: %w", out, err)
		}
	}
	first := -1
	for _, f := range resp.BatchItemFailures {
		for i, r := range batch {
			if seq(r) == f.ItemIdentifier && (first < 0 || i < first) {
				first = i
			}
		}
	}
	return first, nil
}

func seq(r types.Record) string {
	if r.Dynamodb == nil {
		return ""
	}
	return aws.ToString(r.Dynamodb.SequenceNumber)
}

// streamEvent is batch as Lambda hands it to the function.
func streamEvent(batch []types.Record) ([]byte, error) {
	ev := events.DynamoDBEvent{}
	for _, r := range batch {
		rec := events.DynamoDBEventRecord{
			EventID: aws.ToString(r.EventID), EventName: string(r.EventName), EventVersion: aws.ToString(r.EventVersion),
			EventSource: aws.ToString(r.EventSource), AWSRegion: aws.ToString(r.AwsRegion),
		}
		if d := r.Dynamodb; d != nil {
			rec.Change = events.DynamoDBStreamRecord{
				Keys: attributes(d.Keys), NewImage: attributes(d.NewImage), OldImage: attributes(d.OldImage),
				SequenceNumber: aws.ToString(d.SequenceNumber), SizeBytes: aws.ToInt64(d.SizeBytes),
				StreamViewType: string(d.StreamViewType),
			}
			if d.ApproximateCreationDateTime != nil {
				rec.Change.ApproximateCreationDateTime = events.SecondsEpochTime{Time: *d.ApproximateCreationDateTime}
			}
		}
		ev.Records = append(ev.Records, rec)
	}
	return json.Marshal(ev)
}

func attributes(m map[string]types.AttributeValue) map[string]events.DynamoDBAttributeValue {
	if m == nil {
		return nil
	}
	out := make(map[string]events.DynamoDBAttributeValue, len(m))
	for k, v := range m {
		out[k] = attribute(v)
	}
	return out
}

func attribute(v types.AttributeValue) events.DynamoDBAttributeValue {
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		return events.NewStringAttribute(v.Value)
	case *types.AttributeValueMemberN:
		return events.NewNumberAttribute(v.Value)
	case *types.AttributeValueMemberB:
		return events.NewBinaryAttribute(v.Value)
	case *types.AttributeValueMemberBOOL:
		return events.NewBooleanAttribute(v.Value)
	case *types.AttributeValueMemberNULL:
		return events.NewNullAttribute()
	case *types.AttributeValueMemberSS:
		return events.NewStringSetAttribute(v.Value)
	case *types.AttributeValueMemberNS:
		return events.NewNumberSetAttribute(v.Value)
	case *types.AttributeValueMemberBS:
		return events.NewBinarySetAttribute(v.Value)
	case *types.AttributeValueMemberL:
		l := make([]events.DynamoDBAttributeValue, len(v.Value))
		for i, e := range v.Value {
			l[i] = attribute(e)
		}
		return events.NewListAttribute(l)
	case *types.AttributeValueMemberM:
		return events.NewMapAttribute(attributes(v.Value))
	}
	return events.NewNullAttribute()
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// functionLogf writes a line about fn to the functions' log, as Lambda's service logs.
func (s *Stage) functionLogf(fn string) func(string, ...any) {
	return func(format string, args ...any) {
		fmt.Fprintf(s.opts.FunctionLog, "[%s] %s\n", fn, fmt.Sprintf(format, args...))
	}
}

// stopStreamMappings stops the stream mappings and waits for them.
func (l *lambdaState) stopStreamMappings() {
	for _, stop := range l.stopStreams {
		stop()
	}
	l.stopStreams = nil
	if l.streamsDone != nil {
		l.streamsDone.Wait()
	}
}
