package reviews

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/google/uuid"

	"github.com/shop-serverless/shop/functions/internal/api"
	"github.com/shop-serverless/shop/functions/internal/cache"
	"github.com/shop-serverless/shop/functions/internal/catalog"
	"github.com/shop-serverless/shop/functions/internal/clients"
	"github.com/shop-serverless/shop/functions/internal/clients/dynamoclient"
	"github.com/shop-serverless/shop/functions/internal/dynamo"
	"github.com/shop-serverless/shop/functions/manifest"
	"github.com/shop-serverless/shop/functions/tables"
)

// Service serves the review routes.
type Service struct {
	store *Store
	// products answers whether a product exists, from the product cache when it can.
	products *catalog.Reader
	cache    *cache.Cache
}

// New returns the review service; c caches first pages of reviews.
func New(store *Store, products *catalog.Reader, c *cache.Cache) *Service {
	return &Service{store: store, products: products, cache: c}
}

// Routes returns the reviews function's routes.
func (s *Service) Routes() api.Router {
	return api.Router{
		manifest.ListReviews.Key():  s.list,
		manifest.CreateReview.Key(): s.create,
	}
}

// PageTTL is how long a cached first page lives. A new review evicts it at once; the short
// TTL only bounds how long a page could stay stale if that eviction failed.
const PageTTL = 5 * time.Minute

// Function builds the reviews function.
func Function(_ context.Context, c *clients.Clients) (api.Router, error) {
	products, err := catalog.NewStoreFor(c)
	if err != nil {
		return nil, fmt.Errorf("reviews: %w", err)
	}
	reviews, err := c.Config.Table(tables.Reviews)
	if err != nil {
		return nil, fmt.Errorf("reviews: %w", err)
	}
	rdb, err := catalog.RedisFor(c)
	if err != nil {
		return nil, fmt.Errorf("reviews: %w", err)
	}
	db, err := dynamoclient.Of(c)
	if err != nil {
		return nil, fmt.Errorf("reviews: %w", err)
	}
	reader := catalog.NewReader(products, cache.New(rdb, cache.Options{Logger: api.Logger}))
	firstPages := cache.New(rdb, cache.Options{TTL: PageTTL, Logger: api.Logger})
	return New(NewStore(db, reviews), reader, firstPages).Routes(), nil
}

// listRequest is a parsed GET /products/{productId}/reviews.
type listRequest struct {
	productID string
	limit     int
	start     map[string]types.AttributeValue
	// first is the first page at the default limit: the page that is cached.
	first bool
}

// parseList reads the path id, ?limit= and ?cursor=; a cursor must be one this list issued.
func parseList(req api.Request) (listRequest, error) {
	id, err := api.PathID(req, "productId")
	if err != nil {
		return listRequest{}, err
	}
	limit, err := api.Limit(req)
	if err != nil {
		return listRequest{}, err
	}
	cursor, hasCursor := req.QueryStringParameters["cursor"]
	start, err := dynamo.DecodeCursor(cursor, "productId", "sortKey")
	if err != nil || (start != nil && start["productId"].(*types.AttributeValueMemberS).Value != id) {
		return listRequest{}, api.Invalid("cursor is not valid for this list")
	}
	_, hasLimit := req.QueryStringParameters["limit"]
	return listRequest{productID: id, limit: limit, start: start,
		first: start == nil && !hasCursor && (!hasLimit || limit == api.DefaultLimit)}, nil
}

func (s *Service) list(ctx context.Context, req api.Request) (api.Response, error) {
	lr, err := parseList(req)
	if err != nil {
		return api.Response{}, err
	}
	if _, _, err := s.products.Product(ctx, lr.productID); err != nil {
		return api.Response{}, err
	}
	if !lr.first {
		page, err := s.store.List(ctx, lr.productID, lr.limit, lr.start)
		if err != nil {
			return api.Response{}, err
		}
		return api.JSON(http.StatusOK, page), nil
	}
	doc, status, err := s.cache.Get(ctx, CacheKey(lr.productID), func(ctx context.Context) ([]byte, error) {
		page, err := s.store.List(ctx, lr.productID, lr.limit, nil)
		if err != nil {
			return nil, err
		}
		return json.Marshal(page)
	})
	if err != nil {
		return api.Response{}, err
	}
	resp := api.RawJSON(http.StatusOK, doc)
	resp.Headers["X-Cache"] = string(status)
	return resp, nil
}

// reviewBody is the JSON of POST /products/{productId}/reviews.
type reviewBody struct {
	Rating *int    `json:"rating"`
	Title  *string `json:"title"`
	Body   *string `json:"body"`
}

// decodeReview reads and validates a review body; body may be left out (empty).
func decodeReview(req api.Request) (Draft, error) {
	var b reviewBody
	if err := api.DecodeJSON(req, api.MaxBody, &b); err != nil {
		return Draft{}, err
	}
	var missing api.Problems
	if b.Rating == nil {
		missing.Add("rating is required")
	}
	if b.Title == nil {
		missing.Add("title is required")
	}
	if err := missing.Err(); err != nil {
		return Draft{}, err
	}
	d := Draft{Rating: *b.Rating, Title: *b.Title}
	if b.Body != nil {
		d.Body = *b.Body
	}
	if err := d.Problems().Err(); err != nil {
		return Draft{}, err
	}
	return d, nil
}

func (s *Service) create(ctx context.Context, req api.Request) (api.Response, error) {
	caller, err := api.CallerOf(req)
	if err != nil {
		return api.Response{}, err
	}
	id, err := api.PathID(req, "productId")
	if err != nil {
		return api.Response{}, err
	}
	d, err := decodeReview(req)
	if err != nil {
		return api.Response{}, err
	}
	if _, _, err := s.products.Product(ctx, id); err != nil {
		return api.Response{}, err
	}
	reviewID, err := uuid.NewV7()
	if err != nil {
		return api.Response{}, fmt.Errorf("new review id: %w", err)
	}
	created := time.Now().UTC().Format(timeLayout)
	r := Review{
		ReviewID: reviewID.String(), ProductID: id, UserID: caller.UserID,
		Rating: d.Rating, Title: d.Title, Body: d.Body, CreatedAt: created,
		SortKey: created + "#" + reviewID.String(),
	}
	if err := s.store.Add(ctx, r); err != nil {
		return api.Response{}, err
	}
	if err := s.cache.Invalidate(ctx, CacheKey(id)); err != nil {
		// The review is saved; the cached first page ages out with its TTL (see Function).
		api.Logger(ctx).ErrorContext(ctx, "review cache invalidation failed", "productId", id, "err", err)
	}
	return api.JSON(http.StatusCreated, r), nil
}
