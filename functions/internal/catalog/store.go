package catalog

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/shop-serverless/shop/functions/internal/api"
	"github.com/shop-serverless/shop/functions/internal/dynamo"
	"github.com/shop-serverless/shop/functions/tables"
)

// DB is the part of the DynamoDB client the store uses.
type DB interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
	Query(ctx context.Context, in *dynamodb.QueryInput, opts ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	Scan(ctx context.Context, in *dynamodb.ScanInput, opts ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error)
	TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, opts ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
}

// Store reads and writes products in DynamoDB, the source of truth.
type Store struct {
	db    DB
	table string
	// stock names the table of sharded stock; "" when the store has none (WithStock).
	stock string
}

// NewStore returns a store over the products table named table.
func NewStore(db DB, table string) *Store { return &Store{db: db, table: table} }

// Get returns the product, or an error wrapping api.ErrNotFound.
//
// The read is strongly consistent: it fills the cache on a miss, and an eventually
// consistent read just after a write (the write having evicted the cached copy) could
// return the old item and put it back in the cache for a whole TTL, or remember a product
// created a moment ago as missing. Misses are rare, so the doubled read cost is small.
func (s *Store) Get(ctx context.Context, id string) (Product, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.table),
		Key:            map[string]types.AttributeValue{"productId": &types.AttributeValueMemberS{Value: id}},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return Product{}, fmt.Errorf("get product: %w", err)
	}
	if out.Item == nil {
		return Product{}, fmt.Errorf("product %s: %w", id, api.ErrNotFound)
	}
	var p Product
	if err := attributevalue.UnmarshalMap(out.Item, &p); err != nil {
		return Product{}, fmt.Errorf("decode product: %w", err)
	}
	if err := s.withStock(ctx, &p); err != nil {
		return Product{}, err
	}
	return p, nil
}

// List returns a page of products, of one category when category is not empty.
func (s *Store) List(ctx context.Context, category string, limit int, cursor string) (api.Page[Product], error) {
	var (
		items []map[string]types.AttributeValue
		last  map[string]types.AttributeValue
	)
	if category != "" {
		start, err := dynamo.DecodeCursor(cursor, "productId", "category")
		if err != nil || (start != nil && start["category"].(*types.AttributeValueMemberS).Value != category) {
			return api.Page[Product]{}, api.Invalid("cursor is not valid for this list")
		}
		out, err := s.db.Query(ctx, &dynamodb.QueryInput{
			TableName:                 aws.String(s.table),
			IndexName:                 aws.String(tables.ProductsByCategory),
			KeyConditionExpression:    aws.String("category = :c"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":c": &types.AttributeValueMemberS{Value: category}},
			Limit:                     aws.Int32(int32(limit)),
			ExclusiveStartKey:         start,
		})
		if err != nil {
			return api.Page[Product]{}, fmt.Errorf("query products: %w", err)
		}
		items, last = out.Items, out.LastEvaluatedKey
	} else {
		start, err := dynamo.DecodeCursor(cursor, "productId")
		if err != nil {
			return api.Page[Product]{}, api.Invalid("cursor is not valid for this list")
		}
		out, err := s.db.Scan(ctx, &dynamodb.ScanInput{
			TableName:         aws.String(s.table),
			Limit:             aws.Int32(int32(limit)),
			ExclusiveStartKey: start,
		})
		if err != nil {
			return api.Page[Product]{}, fmt.Errorf("scan products: %w", err)
		}
		items, last = out.Items, out.LastEvaluatedKey
	}
	page := api.Page[Product]{Items: make([]Product, 0, len(items)), NextCursor: dynamo.EncodeCursor(last)}
	if err := attributevalue.UnmarshalListOfMaps(items, &page.Items); err != nil {
		return api.Page[Product]{}, fmt.Errorf("decode products: %w", err)
	}
	for i := range page.Items {
		if err := s.withStock(ctx, &page.Items[i]); err != nil {
			return api.Page[Product]{}, err
		}
	}
	return page, nil
}

// Put writes p as a new product; it fails with api.ErrConflict if the id exists. With
// StockShards of 2 or more its stock is spread over that many shard items of a new
// generation, written first.
func (s *Store) Put(ctx context.Context, p Product) error {
	if p.StockShards >= 2 {
		p.StockGen = newToken()
		if err := s.putShards(ctx, p.ProductID, p.Stock, p.StockShards, stamp{p.Price, p.Currency, p.StockGen}); err != nil {
			return err
		}
	}
	item, err := attributevalue.MarshalMap(p)
	if err != nil {
		return fmt.Errorf("encode product: %w", err)
	}
	if p.StockShards >= 2 {
		delete(item, "stock")
	} else {
		delete(item, "stockShards")
	}
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:           aws.String(s.table),
		Item:                item,
		ConditionExpression: aws.String("attribute_not_exists(productId)"),
	})
	if dynamo.IsConditionFailed(err) {
		return fmt.Errorf("product %s: %w", p.ProductID, api.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("put product: %w", err)
	}
	return nil
}
