package stage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"
)

func records(n int) []types.Record {
	var out []types.Record
	for i := range n {
		out = append(out, types.Record{EventName: types.OperationTypeModify, Dynamodb: &types.StreamRecord{
			SequenceNumber: aws.String(fmt.Sprintf("%03d", i)),
			Keys:           map[string]types.AttributeValue{"productId": &types.AttributeValueMemberS{Value: fmt.Sprint("p", i)}},
		}})
	}
	return out
}

// A fake function for the mapping's rules alone: it fails every batch that holds a poisoned
// record, and reports the first record of a batch failed once.
type fakeStreamFunction struct {
	poisoned   string
	reportOnce string
	reported   bool
	batches    [][]string
}

func (f *fakeStreamFunction) invoke(_ context.Context, event []byte) ([]byte, error) {
	var ev events.DynamoDBEvent
	if err := json.Unmarshal(event, &ev); err != nil {
		return nil, err
	}
	var seqs []string
	for _, r := range ev.Records {
		seqs = append(seqs, r.Change.SequenceNumber)
	}
	f.batches = append(f.batches, seqs)
	if slices.Contains(seqs, f.poisoned) {
		return nil, errors.New("the function failed")
	}
	if !f.reported && slices.Contains(seqs, f.reportOnce) {
		f.reported = true
		return json.Marshal(events.DynamoDBEventResponse{BatchItemFailures: []events.DynamoDBBatchItemFailure{{ItemIdentifier: f.reportOnce}}})
	}
	return []byte("null"), nil
}

// A function error bisects the batch until the poisoned record is alone; it is retried
// MaxRetries times, then its record goes to the on-failure destination, and every other
// record is delivered.
func TestStreamMappingBisectsRetriesAndGivesUp(t *testing.T) {
	f := &fakeStreamFunction{poisoned: "005"}
	m := newStreamMapping(f.invoke)
	m.retryWait = 0
	m.deliver(context.Background(), "shard-1", records(8), func(string, ...any) {})
	if len(m.failed) != 1 || m.failed[0].StartSequence != "005" || m.failed[0].Size != 1 {
		t.Errorf("sent to the on-failure destination: %+v, want record 005 alone", m.failed)
	}
	alone := 0
	delivered := map[string]bool{}
	for _, b := range f.batches {
		if len(b) == 1 && b[0] == "005" {
			alone++
		}
		if !slices.Contains(b, "005") {
			for _, s := range b {
				delivered[s] = true
			}
		}
	}
	if alone != m.cfg.MaxRetries+1 {
		t.Errorf("the poisoned record alone was tried %d times, want 1 + %d retries", alone, m.cfg.MaxRetries)
	}
	if len(delivered) != 7 {
		t.Errorf("delivered %v, want the 7 good records", delivered)
	}
}

// A reported item failure retries the batch from that record on, not before it.
func TestStreamMappingRetriesFromTheReportedFailure(t *testing.T) {
	f := &fakeStreamFunction{reportOnce: "003"}
	m := newStreamMapping(f.invoke)
	m.retryWait = 0
	m.deliver(context.Background(), "shard-1", records(6), func(string, ...any) {})
	want := [][]string{{"000", "001", "002", "003", "004", "005"}, {"003", "004", "005"}}
	if fmt.Sprint(f.batches) != fmt.Sprint(want) || len(m.failed) != 0 {
		t.Errorf("batches %v (failed %v), want %v", f.batches, m.failed, want)
	}
}

// The event is Lambda's DynamoDB stream event: keys in DynamoDB's JSON.
func TestStreamEventIsLambdas(t *testing.T) {
	raw, err := streamEvent(records(1))
	if err != nil {
		t.Fatal(err)
	}
	var ev events.DynamoDBEvent
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	if len(ev.Records) != 1 || ev.Records[0].EventName != "MODIFY" || ev.Records[0].Change.Keys["productId"].String() != "p0" {
		t.Errorf("event %s", raw)
	}
}
