// Package catalogadmin serves the admins' catalog writes: products (create, replace, delete)
// and their images, uploaded as base64 through the API (the article's way) or straight to
// the private bucket with a presigned POST policy (the better way), which the image checker
// publishes once the bytes are checked.
//
// Every write that changes a product removes its cached copy before it answers, so the next
// read cannot be stale. Writes that bypass the API are covered by the invalidator function,
// which the products table's stream feeds.
package catalogadmin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/shop-serverless/shop/functions/internal/api"
	"github.com/shop-serverless/shop/functions/internal/cache"
	"github.com/shop-serverless/shop/functions/internal/catalog"
	"github.com/shop-serverless/shop/functions/internal/clients"
	"github.com/shop-serverless/shop/functions/internal/clients/s3client"
	"github.com/shop-serverless/shop/functions/manifest"
)

// Admin serves the catalog administration routes.
type Admin struct {
	store  *catalog.Store
	cache  *cache.Cache
	bucket *Bucket
}

// New returns the admin service over the products store, the product cache and the images bucket.
func New(store *catalog.Store, c *cache.Cache, bucket *Bucket) *Admin {
	return &Admin{store: store, cache: c, bucket: bucket}
}

// Routes returns the catalogadmin function's routes.
func (a *Admin) Routes() api.Router {
	return api.Router{
		manifest.CreateProduct.Key():  a.create,
		manifest.ReplaceProduct.Key(): a.replace,
		manifest.DeleteProduct.Key():  a.delete,
		manifest.UploadImage.Key():    a.uploadImage,
		manifest.ImageUploadURL.Key(): a.uploadURL,
	}
}

// Function builds the catalogadmin function.
func Function(_ context.Context, c *clients.Clients) (api.Router, error) {
	store, err := catalog.NewStoreFor(c)
	if err != nil {
		return nil, fmt.Errorf("catalogadmin: %w", err)
	}
	a, err := fromClients(c, store)
	if err != nil {
		return nil, fmt.Errorf("catalogadmin: %w", err)
	}
	return a.Routes(), nil
}

// fromClients builds the admin service over the products store, the function's cache and
// bucket.
func fromClients(c *clients.Clients, store *catalog.Store) (*Admin, error) {
	if c.Config.ImagesBucket == "" || c.Config.ImagesBaseURL == "" {
		return nil, errors.New("IMAGES_BUCKET and IMAGES_BASE_URL must be set")
	}
	s3c, err := s3client.Of(c)
	if err != nil {
		return nil, err
	}
	products, err := catalog.NewCacheFor(c)
	if err != nil {
		return nil, err
	}
	return New(store, products, NewBucket(s3c, c.Config.ImagesBucket, c.Config.ImagesBaseURL)), nil
}

func now() string { return time.Now().UTC().Format(time.RFC3339) }

func (a *Admin) create(ctx context.Context, req api.Request) (api.Response, error) {
	if _, err := api.AdminOf(req); err != nil {
		return api.Response{}, err
	}
	d, err := decodeDraft(req)
	if err != nil {
		return api.Response{}, err
	}
	if d.KeepStock {
		return api.Response{}, api.Invalid("stock is required")
	}
	id, err := uuid.NewV7()
	if err != nil {
		return api.Response{}, fmt.Errorf("new product id: %w", err)
	}
	p := d.NewProduct(id.String(), now())
	if err := a.store.Put(ctx, p); err != nil {
		return api.Response{}, err
	}
	// A new id has no cached copy, unless someone read it before it existed: the 404 is
	// remembered briefly, and must not outlive the product's creation. With a fresh UUIDv7
	// that is all but impossible, so a failure here does not fail the creation.
	if err := a.cache.Invalidate(ctx, catalog.CacheKey(p.ProductID)); err != nil {
		api.Logger(ctx).WarnContext(ctx, "cache invalidation of a new product failed", "productId", p.ProductID, "err", err)
	}
	resp := api.JSON(http.StatusCreated, p)
	resp.Headers["Location"] = "/products/" + p.ProductID
	return resp, nil
}

func (a *Admin) replace(ctx context.Context, req api.Request) (api.Response, error) {
	id, err := adminTarget(req)
	if err != nil {
		return api.Response{}, err
	}
	d, err := decodeDraft(req)
	if err != nil {
		return api.Response{}, err
	}
	p, err := a.store.Update(ctx, id, d, now())
	if err != nil {
		return api.Response{}, err
	}
	if err := a.invalidate(ctx, id); err != nil {
		return api.Response{}, err
	}
	return api.JSON(http.StatusOK, p), nil
}

func (a *Admin) delete(ctx context.Context, req api.Request) (api.Response, error) {
	id, err := adminTarget(req)
	if err != nil {
		return api.Response{}, err
	}
	if err := a.store.Delete(ctx, id); err != nil {
		return api.Response{}, err
	}
	if err := a.invalidate(ctx, id); err != nil {
		return api.Response{}, err
	}
	return api.NoContent(), nil
}

// uploadImage is the article's upload: the image comes base64 in the JSON body. It is
// checked, stored under a key derived from the product id and its content hash, and set as
// the product's imageUrl.
func (a *Admin) uploadImage(ctx context.Context, req api.Request) (api.Response, error) {
	id, err := adminTarget(req)
	if err != nil {
		return api.Response{}, err
	}
	img, err := decodeImage(req)
	if err != nil {
		return api.Response{}, err
	}
	// Refuse unknown products before storing anything.
	if _, err := a.store.Get(ctx, id); err != nil {
		return api.Response{}, err
	}
	key := ObjectKey(id, img)
	if err := a.bucket.Put(ctx, key, img); err != nil {
		return api.Response{}, err
	}
	url := a.bucket.URL(key)
	if _, err := a.store.SetImage(ctx, id, url, now()); err != nil {
		// Deleted meanwhile: the object stays behind, unreferenced (see the README's gaps).
		return api.Response{}, err
	}
	if err := a.invalidate(ctx, id); err != nil {
		return api.Response{}, err
	}
	return api.JSON(http.StatusCreated, map[string]string{"imageUrl": url}), nil
}

// uploadURLAnswer is the answer of POST /products/{productId}/image-upload-url.
type uploadURLAnswer struct {
	UploadURL string            `json:"uploadUrl"`
	Method    string            `json:"method"`
	Fields    map[string]string `json:"fields"`
	ExpiresAt string            `json:"expiresAt"`
	MaxBytes  int               `json:"maxBytes"`
}

// uploadURL is the better upload: the browser POSTs the file straight to the private bucket
// with a presigned POST policy, so the bytes never pass through API Gateway and Lambda (no
// base64, no 10 MB payload limit, no function time). The policy names one fresh random key
// under the staging prefix, the declared type and at most MaxImage bytes. The product's
// imageUrl does not change here: the image checker publishes the upload once its bytes are
// checked, and only the upload recorded as pending, once.
func (a *Admin) uploadURL(ctx context.Context, req api.Request) (api.Response, error) {
	id, err := adminTarget(req)
	if err != nil {
		return api.Response{}, err
	}
	contentType, ext, err := decodeUploadURL(req)
	if err != nil {
		return api.Response{}, err
	}
	key := uploadKey(id, ext)
	if err := a.store.SetPendingUpload(ctx, id, key); err != nil {
		return api.Response{}, err
	}
	up, err := a.bucket.PresignPost(ctx, key, contentType, UploadURLTTL)
	if err != nil {
		return api.Response{}, err
	}
	return api.JSON(http.StatusOK, uploadURLAnswer{
		UploadURL: up.URL, Method: http.MethodPost, Fields: up.Fields,
		ExpiresAt: up.Expires.UTC().Format(time.RFC3339), MaxBytes: MaxImage,
	}), nil
}

// invalidate removes the product's cached copy, after the write and before the answer (the
// contract: the cached copy is gone before the answer is sent). A failed eviction is retried
// briefly; if Redis still cannot be reached the answer is 503: the change is saved, but the
// write cannot promise what the contract promises. Retrying the request is safe, and the
// invalidator, fed by the table's stream, evicts the copy as soon as Redis answers again.
func (a *Admin) invalidate(ctx context.Context, id string) error {
	var err error
	for attempt := range invalidateAttempts {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(time.Duration(attempt) * 50 * time.Millisecond):
			}
		}
		if err = a.cache.Invalidate(ctx, catalog.CacheKey(id)); err == nil {
			return nil
		}
	}
	api.Logger(ctx).ErrorContext(ctx, "cache invalidation failed; the stream invalidator will retry",
		"productId", id, "err", err)
	return errNotEvicted
}

const invalidateAttempts = 3

var errNotEvicted = &api.Error{Status: http.StatusServiceUnavailable, Code: "unavailable", RetryAfter: 1,
	Message: "the change is saved, but the cache could not confirm it dropped the old copy; retry the request"}

// adminTarget checks that the caller is an admin (401/403) and returns the route's product id.
func adminTarget(req api.Request) (string, error) {
	if _, err := api.AdminOf(req); err != nil {
		return "", err
	}
	return api.PathID(req, "productId")
}
