package catalog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/redis/go-redis/v9"

	"github.com/shop-serverless/shop/functions/internal/api"
	"github.com/shop-serverless/shop/functions/internal/cache"
	"github.com/shop-serverless/shop/functions/internal/clients"
	"github.com/shop-serverless/shop/functions/internal/clients/dynamoclient"
	"github.com/shop-serverless/shop/functions/internal/clients/redisclient"
	"github.com/shop-serverless/shop/functions/manifest"
	"github.com/shop-serverless/shop/functions/tables"
)

// Reader serves product reads: documents from the cache, the source of truth behind it.
type Reader struct {
	store *Store
	cache *cache.Cache
}

// NewReader returns a reader over store and cache.
func NewReader(store *Store, c *cache.Cache) *Reader { return &Reader{store: store, cache: c} }

// Product returns the product's JSON document and whether the cache had it.
func (r *Reader) Product(ctx context.Context, id string) ([]byte, cache.Status, error) {
	doc, status, err := r.cache.Get(ctx, CacheKey(id), func(ctx context.Context) ([]byte, error) {
		p, err := r.store.Get(ctx, id)
		if errors.Is(err, api.ErrNotFound) {
			return nil, cache.ErrMissing
		}
		if err != nil {
			return nil, err
		}
		return json.Marshal(p)
	})
	if errors.Is(err, cache.ErrMissing) {
		return nil, status, api.NotFound("product %s does not exist", id)
	}
	return doc, status, err
}

// Routes returns the catalog function's routes.
func (r *Reader) Routes() api.Router {
	return api.Router{
		manifest.ListProducts.Key(): r.list,
		manifest.GetProduct.Key():   r.get,
	}
}

func (r *Reader) get(ctx context.Context, req api.Request) (api.Response, error) {
	id, err := api.PathID(req, "productId")
	if err != nil {
		return api.Response{}, err
	}
	doc, status, err := r.Product(ctx, id)
	if err != nil {
		return api.Response{}, err
	}
	resp := api.RawJSON(http.StatusOK, doc)
	resp.Headers["X-Cache"] = string(status)
	return resp, nil
}

func (r *Reader) list(ctx context.Context, req api.Request) (api.Response, error) {
	limit, err := api.Limit(req)
	if err != nil {
		return api.Response{}, err
	}
	category, has := req.QueryStringParameters["category"]
	if has && !ValidCategory(category) {
		return api.Response{}, api.Invalid("category must be 1 to 64 characters of a-z 0-9 -")
	}
	page, err := r.store.List(ctx, category, limit, req.QueryStringParameters["cursor"])
	if err != nil {
		return api.Response{}, err
	}
	return api.JSON(http.StatusOK, page), nil
}

// NewCacheFor returns the product cache of a function, logging through the request logger.
// Where the environment names no cache, the cache is off and every read goes to DynamoDB.
func NewCacheFor(c *clients.Clients) (*cache.Cache, error) {
	rdb, err := RedisFor(c)
	if err != nil {
		return nil, err
	}
	return cache.New(rdb, cache.Options{Logger: api.Logger}), nil
}

// RedisFor returns the function's Redis client, nil where the environment names no cache.
func RedisFor(c *clients.Clients) (redis.UniversalClient, error) {
	if c.Config.Redis.Addr == "" {
		return nil, nil
	}
	return redisclient.Of(c)
}

// NewStoreFor returns the products store of a function, with its sharded stock.
func NewStoreFor(c *clients.Clients) (*Store, error) {
	products, err := c.Config.Table(tables.Products)
	if err != nil {
		return nil, err
	}
	stock, err := c.Config.Table(tables.Stock)
	if err != nil {
		return nil, err
	}
	db, err := dynamoclient.Of(c)
	if err != nil {
		return nil, err
	}
	return NewStore(db, products).WithStock(stock), nil
}

// Function builds the catalog function (GET /products, GET /products/{productId}).
func Function(_ context.Context, c *clients.Clients) (api.Router, error) {
	store, err := NewStoreFor(c)
	if err != nil {
		return nil, fmt.Errorf("catalog: %w", err)
	}
	products, err := NewCacheFor(c)
	if err != nil {
		return nil, fmt.Errorf("catalog: %w", err)
	}
	return NewReader(store, products).Routes(), nil
}
