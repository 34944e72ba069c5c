package catalogadmin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/shop-serverless/shop/functions/internal/api"
	"github.com/shop-serverless/shop/functions/internal/catalog"
	"github.com/shop-serverless/shop/functions/internal/clients"
	"github.com/shop-serverless/shop/functions/internal/clients/dynamoclient"
	"github.com/shop-serverless/shop/functions/manifest"
	"github.com/shop-serverless/shop/functions/tables"
)

// Checker publishes browser uploads: fed by the images bucket's object-created events under
// the staging prefix, it checks each upload's bytes against its declared type, writes a good
// image under products/ (named by its content, never overwritten), sets it as the product's
// image if the upload is still the product's pending one, and deletes the upload. A bad
// upload is deleted and the product keeps its image.
type Checker struct {
	admin *Admin
}

// NewChecker returns the checker over the same store, cache and bucket as the admin routes.
func NewChecker(a *Admin) *Checker { return &Checker{admin: a} }

// CheckFunction builds the image checker function.
func CheckFunction(ctx context.Context, c *clients.Clients) (func(context.Context, events.S3Event) error, error) {
	// Images only: the checker never reads or writes stock.
	table, err := c.Config.Table(tables.Products)
	if err != nil {
		return nil, fmt.Errorf("imagecheck: %w", err)
	}
	db, err := dynamoclient.Of(c)
	if err != nil {
		return nil, fmt.Errorf("imagecheck: %w", err)
	}
	a, err := fromClients(c, catalog.NewStore(db, table))
	if err != nil {
		return nil, fmt.Errorf("imagecheck: %w", err)
	}
	return NewChecker(a).Handle, nil
}

// parseUploadKey reads what uploadKey writes, <manifest.UploadPrefix><product id>/<32 lower-case
// hex>.<png|jpg|webp>; ok is false for any other key.
func parseUploadKey(key string) (productID, ext string, ok bool) {
	rest, ok := strings.CutPrefix(key, manifest.UploadPrefix)
	if !ok {
		return "", "", false
	}
	productID, file, _ := strings.Cut(rest, "/")
	name, ext, _ := strings.Cut(file, ".")
	hex := func(c byte) bool { return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' }
	if !api.MadeOf(productID, 1, 128, api.URLSafe) || !api.MadeOf(name, 32, 32, hex) ||
		(ext != "png" && ext != "jpg" && ext != "webp") {
		return "", "", false
	}
	return productID, ext, true
}

// Handle checks every upload of the event. A failure to reach S3, DynamoDB or Redis fails
// the invocation, which Lambda retries; a bad upload does not.
func (c *Checker) Handle(ctx context.Context, ev events.S3Event) error {
	log := slog.Default()
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		log = log.With("requestId", lc.AwsRequestID)
	}
	var errs []error
	for _, rec := range ev.Records {
		if err := c.check(ctx, log, rec); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (c *Checker) check(ctx context.Context, log *slog.Logger, rec events.S3EventRecord) error {
	b := c.admin.bucket
	key, err := url.QueryUnescape(rec.S3.Object.Key)
	if err != nil || !strings.HasPrefix(rec.EventName, "ObjectCreated:") || rec.S3.Bucket.Name != b.name {
		log.WarnContext(ctx, "event ignored: not an upload to the images bucket", "event", rec.EventName, "bucket", rec.S3.Bucket.Name, "key", rec.S3.Object.Key)
		return nil
	}
	log = log.With("key", key)
	productID, ext, ok := parseUploadKey(key)
	if !ok {
		log.WarnContext(ctx, "upload deleted: not an upload key")
		return b.Delete(ctx, key)
	}
	pending, err := c.admin.store.PendingUpload(ctx, productID)
	if err != nil && !errors.Is(err, api.ErrNotFound) {
		return err
	}
	if pending != key {
		// A replayed upload, one superseded by a newer URL, or its product is gone.
		log.WarnContext(ctx, "upload deleted: not the product's pending upload", "productId", productID)
		return b.Delete(ctx, key)
	}
	data, contentType, err := b.Get(ctx, key, MaxImage)
	if errors.Is(err, errUploadGone) {
		// Handled already: S3 delivers an event at least once.
		return nil
	}
	if err != nil {
		return err
	}
	if problem := uploadProblem(data, contentType, ext); problem != nil {
		log.WarnContext(ctx, "upload deleted: not an image of its declared type", "contentType", contentType, "err", problem)
		return b.Delete(ctx, key)
	}
	img := Image{Data: data, ContentType: contentType, ext: ext}
	published := ObjectKey(productID, img)
	if err := b.Put(ctx, published, img); err != nil {
		return err
	}
	_, err = c.admin.store.PublishUpload(ctx, productID, key, b.URL(published), now())
	if errors.Is(err, catalog.ErrUploadNotPending) {
		// Published or superseded meanwhile, by a concurrent event.
		log.WarnContext(ctx, "upload deleted: no longer the product's pending upload", "productId", productID)
		return b.Delete(ctx, key)
	}
	if err != nil {
		return err
	}
	log.InfoContext(ctx, "upload published", "productId", productID, "image", published)
	if err := b.Delete(ctx, key); err != nil {
		return err
	}
	return c.admin.invalidate(ctx, productID)
}

// uploadProblem says why data is not an image of the type its key and content type declare.
func uploadProblem(data []byte, contentType, ext string) error {
	if len(data) > MaxImage {
		return errImageTooLarge
	}
	if imageTypes[contentType] != ext {
		return fmt.Errorf("content type %q does not match the key's .%s", contentType, ext)
	}
	return checkImage(data, contentType)
}
