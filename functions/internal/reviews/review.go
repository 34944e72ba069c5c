// Package reviews serves product reviews: shoppers write them, anyone reads them newest
// first. The first page of a product's reviews, the one every product page shows, is cached
// like products are, and a new review removes it from the cache before the answer.
package reviews

import (
	"github.com/shop-serverless/shop/functions/internal/api"
)

// Review is the contract's review document; it is also the DynamoDB item, whose range key
// sortKey ("<createdAt>#<reviewId>") orders a product's reviews by time.
type Review struct {
	ReviewID  string `json:"reviewId" dynamodbav:"reviewId"`
	ProductID string `json:"productId" dynamodbav:"productId"`
	UserID    string `json:"userId" dynamodbav:"userId"`
	Rating    int    `json:"rating" dynamodbav:"rating"`
	Title     string `json:"title" dynamodbav:"title"`
	Body      string `json:"body" dynamodbav:"body"`
	CreatedAt string `json:"createdAt" dynamodbav:"createdAt"`
	SortKey   string `json:"-" dynamodbav:"sortKey"`
}

// Limits of a review.
var (
	TitleRule = api.TextRule{Min: 1, Max: 120}
	BodyRule  = api.TextRule{Min: 0, Max: 4000, Multiline: true}
)

// Rating bounds.
const (
	MinRating = 1
	MaxRating = 5
)

// Draft is what a shopper writes.
type Draft struct {
	Rating int
	Title  string
	Body   string
}

// Problems returns what is wrong with d; nil when it is valid.
func (d Draft) Problems() api.Problems {
	var p api.Problems
	if d.Rating < MinRating || d.Rating > MaxRating {
		p.Addf("rating must be an integer from %d to %d", MinRating, MaxRating)
	}
	p.Add(api.CheckText("title", d.Title, TitleRule))
	p.Add(api.CheckText("body", d.Body, BodyRule))
	return p
}

// timeLayout is RFC 3339 in UTC with exactly three fractional digits: fixed width, so the
// sort key's string order is time order.
const timeLayout = "2006-01-02T15:04:05.000Z"

// CacheKey is the cache key of the first page of a product's reviews.
func CacheKey(productID string) string { return "reviews:" + productID }
