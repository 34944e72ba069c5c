package catalog

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/shop-serverless/shop/functions/internal/api"
	"github.com/shop-serverless/shop/functions/internal/dynamo"
)

// One admin write of a product at a time. A sharded product's price, currency and layout
// generation live on its item and on every shard (checkout conditions its takes on the
// shard's copy), and an admin write cannot always change all of them in one transaction (a
// product item and 100 shards are 101 items). So PUT and DELETE first take the product's
// lock, a lease on its item, then write the shards, then the item, conditioned on still
// holding the lock, which they release with that write. A writer that finds the lock held
// answers 503 (Retry-After) having written nothing; two writers never interleave their shard
// and item writes, so the item and its shards never end up from different writes.
//
// A writer that dies holding the lock leaves it to expire after layoutLease. Each writer
// works under a deadline of half the lease, so it can no longer write when its lease runs
// out and another writer takes the lock.

// layoutLease is how long a product's lock holds without being released.
const layoutLease = 60 * time.Second

// Attributes of the product item that keep its lock; they are not part of the document.
const (
	lockAttr      = "layoutLock"
	lockUntilAttr = "layoutLockUntil"
)

// errLocked: another admin write holds the product's lock.
var errLocked = fmt.Errorf("the product is being written by another request: %w", api.ErrUnavailable)

// locked runs write holding the product's lock: write gets the product as the lock read it
// (strongly consistent, its stock not summed) and the lock's token, which its last write of
// the item must be conditioned on (lockHeld) and release (unlock). The lock is released if
// write fails.
func (s *Store) locked(ctx context.Context, id string, write func(ctx context.Context, cur Product, token string) error) error {
	ctx, cancel := context.WithTimeout(ctx, layoutLease/2)
	defer cancel()
	token := newToken()
	now := time.Now()
	out, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                aws.String(s.table),
		Key:                      key(id),
		UpdateExpression:         aws.String("SET #lock = :lock, #until = :until"),
		ConditionExpression:      aws.String("attribute_exists(productId) AND (attribute_not_exists(#lock) OR #until < :now)"),
		ExpressionAttributeNames: map[string]string{"#lock": lockAttr, "#until": lockUntilAttr},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":lock":  &types.AttributeValueMemberS{Value: token},
			":until": millis(now.Add(layoutLease)),
			":now":   millis(now),
		},
		ReturnValues: types.ReturnValueAllNew,
	})
	if dynamo.IsConditionFailed(err) {
		return s.whyRefused(ctx, id)
	}
	if err != nil {
		return fmt.Errorf("lock product: %w", err)
	}
	var cur Product
	if err := attributevalue.UnmarshalMap(out.Attributes, &cur); err != nil {
		return fmt.Errorf("decode product: %w", err)
	}
	cur.StockShards = max(1, cur.StockShards)
	if err := write(ctx, cur, token); err != nil {
		s.unlock(context.WithoutCancel(ctx), id, token)
		return err
	}
	return nil
}

// whyRefused is the error of a write of the product conditioned on its lock that failed:
// api.ErrNotFound when it does not exist, errLocked when another write holds the lock.
func (s *Store) whyRefused(ctx context.Context, id string) error {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.table), Key: key(id), ConsistentRead: aws.Bool(true),
		ProjectionExpression: aws.String("productId"),
	})
	if err != nil {
		return fmt.Errorf("get product: %w", err)
	}
	if out.Item == nil {
		return fmt.Errorf("product %s: %w", id, api.ErrNotFound)
	}
	return fmt.Errorf("product %s: %w", id, errLocked)
}

// unlock releases the lock after a write that failed; failing, the lock expires.
func (s *Store) unlock(ctx context.Context, id, token string) {
	_, _ = s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.table),
		Key:                       key(id),
		UpdateExpression:          aws.String("REMOVE #lock, #until"),
		ConditionExpression:       aws.String("#lock = :lock"),
		ExpressionAttributeNames:  map[string]string{"#lock": lockAttr, "#until": lockUntilAttr},
		ExpressionAttributeValues: map[string]types.AttributeValue{":lock": &types.AttributeValueMemberS{Value: token}},
	})
}

// lockHeld is the condition of a write that holds the lock token, with its placeholders
// added to names and values.
func lockHeld(token string, names map[string]string, values map[string]types.AttributeValue) string {
	names["#lock"] = lockAttr
	values[":lock"] = &types.AttributeValueMemberS{Value: token}
	return "#lock = :lock"
}

// unlocking is the REMOVE clause's part that releases the lock, with its placeholders added
// to names.
func unlocking(names map[string]string) string {
	names["#lock"], names["#until"] = lockAttr, lockUntilAttr
	return "#lock, #until"
}

func millis(t time.Time) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(t.UnixMilli(), 10)}
}

// newToken is a random lock token or layout generation: 16 hex characters.
func newToken() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
