package cart

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/cenkalti/backoff/v5"

	"github.com/shop-serverless/shop/functions/internal/api"
	"github.com/shop-serverless/shop/functions/internal/dynamo"
)

// DB is the part of the DynamoDB client the store uses.
type DB interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
}

// Stored is a cart as the carts table holds it: one item per user, with a map of product
// id to quantity and one of product id to when it was first added (the display order).
// Lines are updated one by one with map paths, so concurrent changes to different lines
// do not overwrite each other.
type Stored struct {
	UserID     string            `dynamodbav:"userId"`
	Quantities map[string]int64  `dynamodbav:"quantities"`
	Added      map[string]string `dynamodbav:"added"`
	UpdatedAt  string            `dynamodbav:"updatedAt"`
	// ExpiresAt is the Unix time (seconds) after which the cart is gone: DynamoDB's TTL
	// deletes it some time later, and reads ignore it from then on.
	ExpiresAt int64 `dynamodbav:"expiresAt"`
}

// live reports whether the cart has not expired at now.
func (s Stored) live(now time.Time) bool { return s.ExpiresAt > now.Unix() }

// Product is what the cart shows of a product.
type Product struct {
	ProductID string `dynamodbav:"productId"`
	Name      string `dynamodbav:"name"`
	Price     int64  `dynamodbav:"price"`
	Currency  string `dynamodbav:"currency"`
}

// Store reads and writes carts, and reads products, in DynamoDB.
type Store struct {
	db       DB
	carts    string
	products string
}

// NewStore returns a store over the carts and products tables with the given names.
func NewStore(db DB, carts, products string) *Store {
	return &Store{db: db, carts: carts, products: products}
}

// errCartFull: the cart holds MaxLines products and this is another one.
var errCartFull = errors.New("cart full")

// Get returns the user's live cart; an expired or missing cart is empty.
func (s *Store) Get(ctx context.Context, userID string, now time.Time) (Stored, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.carts),
		Key:            map[string]types.AttributeValue{"userId": str(userID)},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return Stored{}, fmt.Errorf("get cart: %w", err)
	}
	return decodeLive(out.Item, userID, now)
}

func decodeLive(item map[string]types.AttributeValue, userID string, now time.Time) (Stored, error) {
	var c Stored
	if item != nil {
		if err := attributevalue.UnmarshalMap(item, &c); err != nil {
			return Stored{}, fmt.Errorf("decode cart: %w", err)
		}
	}
	if item == nil || !c.live(now) {
		return Stored{UserID: userID}, nil
	}
	return c, nil
}

// Set puts quantity units of the product in the user's cart and extends its life to
// expires. An expired cart is replaced by a new one holding just this line. It fails with
// errCartFull when the cart already holds MaxLines other products.
func (s *Store) Set(ctx context.Context, userID, productID string, quantity int64, now, expires time.Time) (Stored, error) {
	for range 3 {
		out, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName: aws.String(s.carts),
			Key:       map[string]types.AttributeValue{"userId": str(userID)},
			UpdateExpression: aws.String("SET #q.#p = :q, #a.#p = if_not_exists(#a.#p, :now), " +
				"updatedAt = :now, expiresAt = :exp"),
			ConditionExpression: aws.String("attribute_exists(#q) AND expiresAt > :nowUnix " +
				"AND (attribute_exists(#q.#p) OR size(#q) < :max)"),
			ExpressionAttributeNames: map[string]string{"#q": "quantities", "#a": "added", "#p": productID},
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":q": num(quantity), ":now": str(stamp(now)), ":exp": num(expires.Unix()),
				":nowUnix": num(now.Unix()), ":max": num(MaxLines),
			},
			ReturnValues:                        types.ReturnValueAllNew,
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
		})
		if err == nil {
			return decodeLive(out.Attributes, userID, now)
		}
		var ccf *types.ConditionalCheckFailedException
		if !errors.As(err, &ccf) {
			return Stored{}, fmt.Errorf("update cart: %w", err)
		}
		if old, derr := decodeLive(ccf.Item, userID, now); derr == nil && old.Quantities != nil {
			return Stored{}, errCartFull // a live cart refused the line: it is full
		}
		// No live cart: start a new one, unless one appeared meanwhile (then update it).
		fresh := Stored{UserID: userID, Quantities: map[string]int64{productID: quantity},
			Added: map[string]string{productID: stamp(now)}, UpdatedAt: stamp(now), ExpiresAt: expires.Unix()}
		item, err := attributevalue.MarshalMap(fresh)
		if err != nil {
			return Stored{}, fmt.Errorf("encode cart: %w", err)
		}
		_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{
			TableName:                 aws.String(s.carts),
			Item:                      item,
			ConditionExpression:       aws.String("attribute_not_exists(userId) OR expiresAt <= :nowUnix"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":nowUnix": num(now.Unix())},
		})
		if err == nil {
			return fresh, nil
		}
		if !dynamo.IsConditionFailed(err) {
			return Stored{}, fmt.Errorf("put cart: %w", err)
		}
	}
	return Stored{}, fmt.Errorf("update cart: concurrent changes: %w", api.ErrConflict)
}

// Remove takes the product out of the user's live cart and extends its life to expires;
// removed is false when the cart did not hold the product (cart is then the cart as is).
func (s *Store) Remove(ctx context.Context, userID, productID string, now, expires time.Time) (c Stored, removed bool, err error) {
	out, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                aws.String(s.carts),
		Key:                      map[string]types.AttributeValue{"userId": str(userID)},
		UpdateExpression:         aws.String("REMOVE #q.#p, #a.#p SET updatedAt = :now, expiresAt = :exp"),
		ConditionExpression:      aws.String("attribute_exists(#q.#p) AND expiresAt > :nowUnix"),
		ExpressionAttributeNames: map[string]string{"#q": "quantities", "#a": "added", "#p": productID},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":now": str(stamp(now)), ":exp": num(expires.Unix()), ":nowUnix": num(now.Unix()),
		},
		ReturnValues:                        types.ReturnValueAllNew,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	if err == nil {
		c, err := decodeLive(out.Attributes, userID, now)
		return c, true, err
	}
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		c, err := decodeLive(ccf.Item, userID, now)
		return c, false, err
	}
	return Stored{}, false, fmt.Errorf("remove from cart: %w", err)
}

// Products reads the products with the given ids (at most 100); unknown ids are absent.
func (s *Store) Products(ctx context.Context, ids []string) (map[string]Product, error) {
	found := make(map[string]Product, len(ids))
	if len(ids) == 0 {
		return found, nil
	}
	keys := make([]map[string]types.AttributeValue, len(ids))
	for i, id := range ids {
		keys[i] = map[string]types.AttributeValue{"productId": str(id)}
	}
	req := map[string]types.KeysAndAttributes{s.products: {
		Keys:                     keys,
		ProjectionExpression:     aws.String("#id, #n, #p, #c"),
		ExpressionAttributeNames: map[string]string{"#id": "productId", "#n": "name", "#p": "price", "#c": "currency"},
	}}
	_, err := backoff.Retry(ctx, func() (struct{}, error) {
		out, err := s.db.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: req})
		if err != nil {
			return struct{}{}, backoff.Permanent(fmt.Errorf("batch get products: %w", err))
		}
		var ps []Product
		if err := attributevalue.UnmarshalListOfMaps(out.Responses[s.products], &ps); err != nil {
			return struct{}{}, backoff.Permanent(fmt.Errorf("decode products: %w", err))
		}
		for _, p := range ps {
			found[p.ProductID] = p
		}
		if len(out.UnprocessedKeys) == 0 {
			return struct{}{}, nil
		}
		req = out.UnprocessedKeys
		return struct{}{}, errUnprocessed
	}, backoff.WithBackOff(newBackOff()), backoff.WithMaxTries(6))
	if errors.Is(err, errUnprocessed) {
		return nil, fmt.Errorf("batch get products: %w", api.ErrUnavailable)
	}
	return found, err
}

var errUnprocessed = errors.New("unprocessed keys")

func newBackOff() *backoff.ExponentialBackOff {
	b := backoff.NewExponentialBackOff()
	b.InitialInterval = 20 * time.Millisecond
	b.MaxInterval = 400 * time.Millisecond
	return b
}

// stamp formats t as RFC 3339 UTC with milliseconds, fixed width (string order is time order).
func stamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

func str(s string) types.AttributeValue { return &types.AttributeValueMemberS{Value: s} }

func num(n int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}
}
