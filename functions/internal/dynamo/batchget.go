package dynamo

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/cenkalti/backoff/v5"
)

// ErrUnprocessed is returned by BatchGet when DynamoDB still left keys unprocessed after
// the last try: the table is throttling, and the caller answers "unavailable".
var ErrUnprocessed = errors.New("unprocessed keys")

// BatchGetter is the part of the DynamoDB client BatchGet uses.
type BatchGetter interface {
	BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error)
}

// BatchGet reads the keys of req (at most 100) from table and returns the items found.
// BatchGetItem may leave keys unprocessed under load; it asks again for those, waiting as
// bo says, tries times at the most. A failed call is not retried here (the SDK has).
func BatchGet(ctx context.Context, db BatchGetter, table string, req types.KeysAndAttributes, bo backoff.BackOff, tries uint) ([]map[string]types.AttributeValue, error) {
	var items []map[string]types.AttributeValue
	pending := map[string]types.KeysAndAttributes{table: req}
	_, err := backoff.Retry(ctx, func() (struct{}, error) {
		out, err := db.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: pending})
		if err != nil {
			return struct{}{}, backoff.Permanent(fmt.Errorf("batch get: %w", err))
		}
		items = append(items, out.Responses[table]...)
		if len(out.UnprocessedKeys) == 0 {
			return struct{}{}, nil
		}
		pending = out.UnprocessedKeys
		return struct{}{}, ErrUnprocessed
	}, backoff.WithBackOff(bo), backoff.WithMaxTries(tries))
	return items, err
}
