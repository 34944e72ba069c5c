// Package dynamo holds the shop's small DynamoDB conventions: opaque list cursors, batch reads
// that ask again for unprocessed keys, and the recognition of condition failures.
package dynamo

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"slices"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// ErrBadCursor is returned for a cursor that this shop did not issue for this list.
var ErrBadCursor = errors.New("bad cursor")

// EncodeCursor turns a LastEvaluatedKey into the contract's opaque cursor; nil when the list ended.
// Only string key attributes are supported, which is what the shop's keys are.
func EncodeCursor(key map[string]types.AttributeValue) *string {
	if len(key) == 0 {
		return nil
	}
	plain := make(map[string]string, len(key))
	for name, v := range key {
		if s, ok := v.(*types.AttributeValueMemberS); ok {
			plain[name] = s.Value
		}
	}
	b, _ := json.Marshal(plain)
	c := base64.RawURLEncoding.EncodeToString(b)
	return &c
}

// DecodeCursor reverses EncodeCursor. The cursor must name exactly the attributes want (the
// keys of the table or index the list reads); an empty cursor gives a nil key.
func DecodeCursor(cursor string, want ...string) (map[string]types.AttributeValue, error) {
	if cursor == "" {
		return nil, nil
	}
	if len(cursor) > 1024 {
		return nil, ErrBadCursor
	}
	b, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		return nil, ErrBadCursor
	}
	var plain map[string]string
	if err := json.Unmarshal(b, &plain); err != nil || len(plain) != len(want) {
		return nil, ErrBadCursor
	}
	key := make(map[string]types.AttributeValue, len(plain))
	for name, v := range plain {
		if !slices.Contains(want, name) || v == "" {
			return nil, ErrBadCursor
		}
		key[name] = &types.AttributeValueMemberS{Value: v}
	}
	return key, nil
}

// MaxTransactItems is the most items one TransactWriteItems holds.
const MaxTransactItems = 100

// IsConditionFailed reports whether err is a failed condition expression.
func IsConditionFailed(err error) bool {
	var ccf *types.ConditionalCheckFailedException
	return errors.As(err, &ccf)
}
