package reviews

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/shop-serverless/shop/functions/internal/api"
	"github.com/shop-serverless/shop/functions/internal/dynamo"
)

// DB is the part of the DynamoDB client the store uses.
type DB interface {
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	Query(ctx context.Context, in *dynamodb.QueryInput, opts ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
}

// Store reads and writes reviews in DynamoDB.
type Store struct {
	db    DB
	table string
}

// NewStore returns a store over the reviews table named table.
func NewStore(db DB, table string) *Store { return &Store{db: db, table: table} }

// Add writes a new review; its sort key must be new (a UUIDv7 inside it makes it so).
func (s *Store) Add(ctx context.Context, r Review) error {
	item, err := attributevalue.MarshalMap(r)
	if err != nil {
		return fmt.Errorf("encode review: %w", err)
	}
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:           aws.String(s.table),
		Item:                item,
		ConditionExpression: aws.String("attribute_not_exists(sortKey)"),
	})
	if dynamo.IsConditionFailed(err) {
		return fmt.Errorf("review %s: %w", r.ReviewID, api.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("put review: %w", err)
	}
	return nil
}

// List returns a page of a product's reviews, newest first, starting after start (a key
// decoded from the previous page's cursor; nil for the first page). It reads one review more
// than it answers, so the last page says it is the last (nextCursor null) instead of
// leading to an empty one.
func (s *Store) List(ctx context.Context, productID string, limit int, start map[string]types.AttributeValue) (api.Page[Review], error) {
	out, err := s.db.Query(ctx, &dynamodb.QueryInput{
		TableName:                 aws.String(s.table),
		KeyConditionExpression:    aws.String("productId = :p"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":p": &types.AttributeValueMemberS{Value: productID}},
		ScanIndexForward:          aws.Bool(false),
		// Strongly consistent: the first page is cached right after a new review evicted it,
		// and must include that review.
		ConsistentRead:    aws.Bool(true),
		Limit:             aws.Int32(int32(limit + 1)),
		ExclusiveStartKey: start,
	})
	if err != nil {
		return api.Page[Review]{}, fmt.Errorf("query reviews: %w", err)
	}
	page := api.Page[Review]{Items: make([]Review, 0, len(out.Items))}
	if err := attributevalue.UnmarshalListOfMaps(out.Items, &page.Items); err != nil {
		return api.Page[Review]{}, fmt.Errorf("decode reviews: %w", err)
	}
	if len(page.Items) > limit {
		page.Items = page.Items[:limit]
		last := page.Items[limit-1]
		page.NextCursor = dynamo.EncodeCursor(map[string]types.AttributeValue{
			"productId": &types.AttributeValueMemberS{Value: last.ProductID},
			"sortKey":   &types.AttributeValueMemberS{Value: last.SortKey},
		})
	} else if out.LastEvaluatedKey != nil {
		// DynamoDB stopped early (1 MB read): there may be more.
		page.NextCursor = dynamo.EncodeCursor(out.LastEvaluatedKey)
	}
	return page, nil
}
