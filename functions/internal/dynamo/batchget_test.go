package dynamo

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/cenkalti/backoff/v5"
)

// leavingKeys answers each BatchGetItem with its first key and leaves the rest unprocessed,
// as DynamoDB does under load.
type leavingKeys struct{ calls int }

func (f *leavingKeys) BatchGetItem(_ context.Context, in *dynamodb.BatchGetItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error) {
	f.calls++
	out := &dynamodb.BatchGetItemOutput{Responses: map[string][]map[string]types.AttributeValue{}}
	for table, req := range in.RequestItems {
		out.Responses[table] = req.Keys[:1]
		if len(req.Keys) > 1 {
			rest := req
			rest.Keys = req.Keys[1:]
			out.UnprocessedKeys = map[string]types.KeysAndAttributes{table: rest}
		}
	}
	return out, nil
}

func keys(n int) []map[string]types.AttributeValue {
	ks := make([]map[string]types.AttributeValue, n)
	for i := range ks {
		ks[i] = map[string]types.AttributeValue{"id": &types.AttributeValueMemberN{Value: string(rune('0' + i))}}
	}
	return ks
}

func TestBatchGetAsksAgainForUnprocessedKeys(t *testing.T) {
	db := &leavingKeys{}
	items, err := BatchGet(context.Background(), db, "products", types.KeysAndAttributes{Keys: keys(4)}, &backoff.ZeroBackOff{}, 6)
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 4 || db.calls != 4 {
		t.Fatalf("got %d items in %d calls, want 4 in 4", len(items), db.calls)
	}
}

func TestBatchGetGivesUpWithErrUnprocessed(t *testing.T) {
	db := &leavingKeys{}
	_, err := BatchGet(context.Background(), db, "products", types.KeysAndAttributes{Keys: keys(5)}, &backoff.ZeroBackOff{}, 3)
	if !errors.Is(err, ErrUnprocessed) || db.calls != 3 {
		t.Fatalf("err %v after %d calls, want ErrUnprocessed after 3", err, db.calls)
	}
}
