package catalog

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"golang.org/x/text/currency"

	"github.com/shop-serverless/shop/functions/internal/api"
	"github.com/shop-serverless/shop/functions/internal/dynamo"
	"github.com/shop-serverless/shop/functions/internal/money"
)

// MaxAmount bounds price and stock: the largest integer a JSON number carries exactly in
// every client (2^53 - 1), so no shopper's browser rounds a price.
const MaxAmount = money.MaxAmount

// Text limits of a product, in characters.
var (
	NameRule        = api.TextRule{Min: 1, Max: 200}
	DescriptionRule = api.TextRule{Min: 0, Max: 5000, Multiline: true}
)

// Draft is what an admin writes: the fields of a product that POST sets and PUT replaces.
type Draft struct {
	Name        string
	Description string
	Category    string
	Price       int64
	Currency    string
	Stock       int64
	// KeepStock: the body had no stock (a PUT that only changes StockShards): the units the
	// product has are kept, moved to the new shards.
	KeepStock bool
	// StockShards is how many shard items hold the stock, 1..MaxStockShards; 0: unchanged
	// (new products: 1).
	StockShards int
	// MaxPerCustomer is the units one user may buy across all their orders, at least 1;
	// nil: no limit (PUT removes one the product had).
	MaxPerCustomer *int64
}

// Problems returns what is wrong with d, in field order; nil when it is valid.
func (d Draft) Problems() api.Problems {
	var p api.Problems
	p.Add(api.CheckText("name", d.Name, NameRule))
	p.Add(api.CheckText("description", d.Description, DescriptionRule))
	if !ValidCategory(d.Category) {
		p.Add("category must be 1 to 64 characters of a-z 0-9 -")
	}
	if d.Price < 0 || d.Price > MaxAmount {
		p.Addf("price must be an integer from 0 to %d (minor units)", int64(MaxAmount))
	}
	if !ValidCurrency(d.Currency) {
		p.Add("currency must be an ISO 4217 code in use, in upper case, such as USD")
	}
	if d.Stock < 0 || d.Stock > MaxAmount {
		p.Addf("stock must be an integer from 0 to %d", int64(MaxAmount))
	}
	if d.StockShards < 0 || d.StockShards > MaxStockShards {
		p.Addf("stockShards must be an integer from 1 to %d", MaxStockShards)
	}
	if m := d.MaxPerCustomer; m != nil && (*m < 1 || *m > MaxAmount) {
		p.Addf("maxPerCustomer must be null or an integer from 1 to %d", int64(MaxAmount))
	}
	return p
}

// NewProduct returns the product d describes, created at now (RFC 3339), without an image.
func (d Draft) NewProduct(id, now string) Product {
	return Product{ProductID: id, Name: d.Name, Description: d.Description, Category: d.Category,
		Price: d.Price, Currency: d.Currency, Stock: d.Stock, StockShards: max(1, d.StockShards),
		MaxPerCustomer: d.MaxPerCustomer, CreatedAt: now, UpdatedAt: now}
}

// tenderCodes is the set of ISO 4217 codes that are legal tender somewhere today (CLDR data).
var tenderCodes = sync.OnceValue(func() map[string]bool {
	set := map[string]bool{}
	for it := currency.Query(); it.Next(); {
		set[it.Unit().String()] = true
	}
	return set
})

// ValidCurrency reports whether s is an upper-case ISO 4217 code of a currency in use.
func ValidCurrency(s string) bool {
	return api.MadeOf(s, 3, 3, func(c byte) bool { return 'A' <= c && c <= 'Z' }) && tenderCodes()[s]
}

func key(id string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{"productId": &types.AttributeValueMemberS{Value: id}}
}

// Update replaces the fields of d on the product id and sets updatedAt; it returns the
// product as stored, or an error wrapping api.ErrNotFound (api.ErrUnavailable while another
// admin write of the product runs).
//
// It is an UpdateItem of exactly those fields: stock changes made concurrently by checkout
// (UpdateItem ADD) and attributes this write does not own (imageUrl, createdAt, anything
// another function keeps on the item) are never overwritten with a stale copy, as a
// read-modify-PutItem would.
//
// It runs under the product's lock (lock.go). Sharded stock (StockShards, or a product that
// has shards) is laid out first, every shard stamped with the new price, currency and a new
// generation: the new stock spread over the shards, or with KeepStock the units the product
// has moved to the new count; then the item's own fields and generation are written.
func (s *Store) Update(ctx context.Context, id string, d Draft, now string) (Product, error) {
	var p Product
	err := s.locked(ctx, id, func(ctx context.Context, cur Product, token string) error {
		// Every name goes through a placeholder: several are DynamoDB reserved words.
		expr := "SET #name = :name, #description = :description, #category = :category, #price = :price, " +
			"#currency = :currency, #updatedAt = :updatedAt"
		names := map[string]string{"#name": "name", "#description": "description", "#category": "category",
			"#price": "price", "#currency": "currency", "#updatedAt": "updatedAt"}
		values := map[string]types.AttributeValue{
			":name":        &types.AttributeValueMemberS{Value: d.Name},
			":description": &types.AttributeValueMemberS{Value: d.Description},
			":category":    &types.AttributeValueMemberS{Value: d.Category},
			":price":       &types.AttributeValueMemberN{Value: fmt.Sprint(d.Price)},
			":currency":    &types.AttributeValueMemberS{Value: d.Currency},
			":updatedAt":   &types.AttributeValueMemberS{Value: now},
		}
		if d.MaxPerCustomer != nil {
			expr += ", #maxPerCustomer = :maxPerCustomer"
			values[":maxPerCustomer"] = &types.AttributeValueMemberN{Value: fmt.Sprint(*d.MaxPerCustomer)}
		}
		names["#maxPerCustomer"] = "maxPerCustomer"
		st := stamp{price: d.Price, currency: d.Currency, gen: newToken()}
		n, err := s.layStock(ctx, id, cur, d, st)
		if err != nil {
			return err
		}
		switch {
		case n >= 2:
			expr += ", #stockShards = :stockShards, #stockGen = :stockGen"
			names["#stockShards"], names["#stockGen"] = "stockShards", "stockGen"
			values[":stockShards"] = &types.AttributeValueMemberN{Value: fmt.Sprint(n)}
			values[":stockGen"] = &types.AttributeValueMemberS{Value: st.gen}
		case !d.KeepStock:
			expr += ", #stock = :stock"
			names["#stock"] = "stock"
			values[":stock"] = &types.AttributeValueMemberN{Value: fmt.Sprint(d.Stock)}
		}
		expr += " REMOVE " + unlocking(names)
		if d.MaxPerCustomer == nil {
			expr += ", #maxPerCustomer"
		}
		p, err = s.updateIf(ctx, id, lockHeld(token, names, values), expr, names, values)
		if errors.Is(err, api.ErrNotFound) {
			return s.whyRefused(ctx, id)
		}
		return err
	})
	if err != nil {
		return Product{}, err
	}
	return p, s.withStock(ctx, &p)
}

// layStock lays out the stock d asks for, every shard stamped st, and returns the product's
// shard count after it. An unsharded product that stays so is left to the item's update.
func (s *Store) layStock(ctx context.Context, id string, cur Product, d Draft, st stamp) (int, error) {
	n := cur.StockShards
	if d.StockShards != 0 {
		n = d.StockShards
	}
	if n == 1 && cur.StockShards == 1 {
		return 1, nil
	}
	var total *int64
	if !d.KeepStock {
		total = &d.Stock
	}
	return n, s.relayout(ctx, id, cur.StockShards, n, total, st)
}

// SetImage sets the product's imageUrl and updatedAt; it returns the product as stored, or
// an error wrapping api.ErrNotFound.
func (s *Store) SetImage(ctx context.Context, id, imageURL, now string) (Product, error) {
	return s.update(ctx, id, "SET #imageUrl = :imageUrl, #updatedAt = :updatedAt",
		map[string]string{"#imageUrl": "imageUrl", "#updatedAt": "updatedAt"},
		map[string]types.AttributeValue{
			":imageUrl":  &types.AttributeValueMemberS{Value: imageURL},
			":updatedAt": &types.AttributeValueMemberS{Value: now},
		})
}

// ErrUploadNotPending is returned by PublishUpload when the upload is not the product's
// pending one: already published (a replayed upload), superseded by a newer upload URL, or
// the product is gone.
var ErrUploadNotPending = errors.New("upload is not the product's pending image upload")

// SetPendingUpload records uploadKey as the product's one pending image upload, replacing an
// earlier one; it returns an error wrapping api.ErrNotFound for an unknown product. The
// product's image does not change until PublishUpload.
func (s *Store) SetPendingUpload(ctx context.Context, id, uploadKey string) error {
	_, err := s.update(ctx, id, "SET #pending = :pending",
		map[string]string{"#pending": pendingUploadAttr},
		map[string]types.AttributeValue{":pending": &types.AttributeValueMemberS{Value: uploadKey}})
	return err
}

// PublishUpload sets the product's imageUrl to the checked image of uploadKey and clears the
// pending upload, in one conditional write: an upload is published at most once, and only
// while it is the pending one (else ErrUploadNotPending).
func (s *Store) PublishUpload(ctx context.Context, id, uploadKey, imageURL, now string) (Product, error) {
	p, err := s.updateIf(ctx, id, "#pending = :pending",
		"SET #imageUrl = :imageUrl, #updatedAt = :updatedAt REMOVE #pending",
		map[string]string{"#imageUrl": "imageUrl", "#updatedAt": "updatedAt", "#pending": pendingUploadAttr},
		map[string]types.AttributeValue{
			":imageUrl":  &types.AttributeValueMemberS{Value: imageURL},
			":updatedAt": &types.AttributeValueMemberS{Value: now},
			":pending":   &types.AttributeValueMemberS{Value: uploadKey},
		})
	if errors.Is(err, api.ErrNotFound) {
		return Product{}, fmt.Errorf("product %s: %w", id, ErrUploadNotPending)
	}
	return p, err
}

// PendingUpload returns the key of the product's pending image upload, "" when it has none,
// or an error wrapping api.ErrNotFound for an unknown product.
func (s *Store) PendingUpload(ctx context.Context, id string) (string, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:                aws.String(s.table),
		Key:                      key(id),
		ConsistentRead:           aws.Bool(true),
		ProjectionExpression:     aws.String("productId, #pending"),
		ExpressionAttributeNames: map[string]string{"#pending": pendingUploadAttr},
	})
	if err != nil {
		return "", fmt.Errorf("get pending upload: %w", err)
	}
	if out.Item == nil {
		return "", fmt.Errorf("product %s: %w", id, api.ErrNotFound)
	}
	pending, _ := out.Item[pendingUploadAttr].(*types.AttributeValueMemberS)
	if pending == nil {
		return "", nil
	}
	return pending.Value, nil
}

// pendingUploadAttr keeps the key of a product's pending image upload; it is not part of
// the product's JSON.
const pendingUploadAttr = "pendingUpload"

func (s *Store) update(ctx context.Context, id, expr string, names map[string]string, values map[string]types.AttributeValue) (Product, error) {
	return s.updateIf(ctx, id, "attribute_exists(productId)", expr, names, values)
}

// updateIf applies expr to the product if condition holds; a failed condition is an error
// wrapping api.ErrNotFound.
func (s *Store) updateIf(ctx context.Context, id, condition, expr string, names map[string]string, values map[string]types.AttributeValue) (Product, error) {
	out, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.table),
		Key:                       key(id),
		UpdateExpression:          aws.String(expr),
		ConditionExpression:       aws.String(condition),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: values,
		ReturnValues:              types.ReturnValueAllNew,
	})
	if dynamo.IsConditionFailed(err) {
		return Product{}, fmt.Errorf("product %s: %w", id, api.ErrNotFound)
	}
	if err != nil {
		return Product{}, fmt.Errorf("update product: %w", err)
	}
	var p Product
	if err := attributevalue.UnmarshalMap(out.Attributes, &p); err != nil {
		return Product{}, fmt.Errorf("decode product: %w", err)
	}
	return p, nil
}

// Delete removes the product, or returns an error wrapping api.ErrNotFound
// (api.ErrUnavailable while another admin write of the product runs). Under the product's
// lock its shards go first: from then on no order can take units of it, and an order that
// read it before is priced again, which finds it gone.
func (s *Store) Delete(ctx context.Context, id string) error {
	return s.locked(ctx, id, func(ctx context.Context, cur Product, token string) error {
		if s.stock != "" {
			if err := s.deleteShards(ctx, id); err != nil {
				return err
			}
		}
		names, values := map[string]string{}, map[string]types.AttributeValue{}
		_, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
			TableName:                 aws.String(s.table),
			Key:                       key(id),
			ConditionExpression:       aws.String(lockHeld(token, names, values)),
			ExpressionAttributeNames:  names,
			ExpressionAttributeValues: values,
		})
		if dynamo.IsConditionFailed(err) {
			return s.whyRefused(ctx, id)
		}
		if err != nil {
			return fmt.Errorf("delete product: %w", err)
		}
		return nil
	})
}
