package orders

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/shop-serverless/shop/functions/internal/api"
	"github.com/shop-serverless/shop/functions/tables"
)

// Purchase limits (a product's maxPerCustomer): the units one user has bought of a limited
// product are counted in one purchases item per user and product, which every order with
// that product raises in its own transaction on condition that the count stays within the
// limit. Concurrent checkouts of one user conflict on that item, so between them they
// never buy more than the limit; the idempotency record is checked before it, so the
// replay of an order within the limit is still that order.

// purchase is a user's count of one product, as the purchases table keeps it.
type purchase struct {
	UserID    string `dynamodbav:"userId"`
	ProductID string `dynamodbav:"productId"`
	Units     int64  `dynamodbav:"units"`
}

// noteLimit records on o that the product p limits what one user buys; it refuses a line
// that alone asks for more than the limit, which no transaction could confirm.
func noteLimit(o *Order, p Product, quantity int64) error {
	if p.MaxPerCustomer == nil {
		return nil
	}
	limit := *p.MaxPerCustomer
	if quantity > limit {
		return &api.Error{Status: http.StatusConflict, Code: "purchase_limit",
			Message: fmt.Sprintf("product %s allows %d units per customer; the order asks for %d", p.ProductID, limit, quantity)}
	}
	if o.limits == nil {
		o.limits = map[string]int64{}
	}
	o.limits[p.ProductID] = limit
	return nil
}

// limitWrites are the transaction's writes of the order's limited lines, in line order:
// the user's count of the product goes up by the quantity on condition that it stays
// within the limit.
func (s *Store) limitWrites(o Order) []types.TransactWriteItem {
	var out []types.TransactWriteItem
	for _, it := range o.Items {
		limit, ok := o.limits[it.ProductID]
		if !ok {
			continue
		}
		out = append(out, types.TransactWriteItem{Update: &types.Update{
			TableName: aws.String(s.t.Purchases),
			Key: map[string]types.AttributeValue{
				tables.Purchases.HashKey.Name: str(o.UserID), tables.Purchases.RangeKey.Name: str(it.ProductID),
			},
			UpdateExpression:                    aws.String("ADD #u :q"),
			ConditionExpression:                 aws.String("attribute_not_exists(#u) OR #u <= :room"),
			ExpressionAttributeNames:            map[string]string{"#u": "units"},
			ExpressionAttributeValues:           map[string]types.AttributeValue{":q": num(it.Quantity), ":room": num(limit - it.Quantity)},
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
		}})
	}
	return out
}

// limitedLines are the order's lines whose product has a limit, in line order.
func (o Order) limitedLines() []Item {
	var out []Item
	for _, it := range o.Items {
		if _, ok := o.limits[it.ProductID]; ok {
			out = append(out, it)
		}
	}
	return out
}

// classifyPlace turns the reasons of a cancelled transaction (the lines' writes, the
// order, the idempotency record, then the limited lines' counts) into Place's outcome. A
// taken key wins over everything (the request was answered before); then a count over its
// limit, which no retry changes; the rest is the stock's to answer.
func classifyPlace(o Order, reasons []types.CancellationReason, cause error) error {
	limited := o.limitedLines()
	n := len(reasons) - len(limited)
	if n < 2 {
		return fmt.Errorf("place order: %d cancellation reasons for more writes: %w", len(reasons), cause)
	}
	base, counts := reasons[:n], reasons[n:]
	if aws.ToString(base[n-1].Code) == "ConditionalCheckFailed" {
		return errKeyUsed
	}
	busy := false
	for i, r := range counts {
		switch aws.ToString(r.Code) {
		case "None", "":
		case "ConditionalCheckFailed":
			var p purchase
			if err := attributevalue.UnmarshalMap(r.Item, &p); err != nil {
				return fmt.Errorf("decode purchases of %s: %w", limited[i].ProductID, err)
			}
			return purchaseLimit(limited[i].ProductID, o.limits[limited[i].ProductID], p.Units)
		case "TransactionConflict", "ProvisionedThroughputExceeded", "ThrottlingError":
			busy = true
		default:
			return fmt.Errorf("place order: purchase count %d cancelled with %s: %w", i, aws.ToString(r.Code), cause)
		}
	}
	var err error
	if len(o.takes) > 0 {
		err = classifyTakes(o, base, cause)
	} else {
		err = classify(o, base, cause)
	}
	if busy && errors.Is(err, errNoReason) {
		return errBusy // only a count conflicted: another checkout of the same user
	}
	return err
}

// purchaseLimit is the contract's refusal of units over a product's maxPerCustomer.
func purchaseLimit(productID string, limit, bought int64) error {
	return &api.Error{Status: http.StatusConflict, Code: "purchase_limit",
		Message: fmt.Sprintf("product %s allows %d units per customer; you have bought %d", productID, limit, bought)}
}
