package stage

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/google/uuid"

	"github.com/shop-serverless/shop/functions/internal/catalogadmin"
	"github.com/shop-serverless/shop/functions/local/access"
	"github.com/shop-serverless/shop/functions/local/s3proxy"
	"github.com/shop-serverless/shop/functions/manifest"
)

// newImageCheck returns the image checker function, with the environment the stage gives
// it: in Lambda mode its environments, in-process an instance of its own. It takes the
// notification as S3 sends it.
func (s *Stage) newImageCheck(ctx context.Context) (func(context.Context, []byte) error, error) {
	fn, ok := manifest.FunctionByName(manifest.ImageCheck)
	if !ok {
		return nil, fmt.Errorf("function %q is not in the function list", manifest.ImageCheck)
	}
	if s.runtime == Lambda {
		p, err := s.newPool(fn, s.EnvVars(fn))
		if err != nil {
			return nil, err
		}
		return func(ctx context.Context, event []byte) error {
			_, err := p.Invoke(ctx, event)
			return err
		}, nil
	}
	c, err := s.FunctionClients(ctx, fn)
	if err != nil {
		return nil, fmt.Errorf("function %s: %w", fn.Name, err)
	}
	check, err := catalogadmin.CheckFunction(ctx, c)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, raw []byte) error {
		var ev events.S3Event
		if err := json.Unmarshal(raw, &ev); err != nil {
			return fmt.Errorf("object-created event: %w", err)
		}
		// Lambda's context: the invocation outlives the upload's request and has its own id.
		lc := &lambdacontext.LambdaContext{AwsRequestID: uuid.NewString()}
		return check(lambdacontext.NewContext(ctx, lc), ev)
	}, nil
}

// notifyUploads is the images bucket's event notification: an object created under the
// upload prefix invokes the checker with the event S3 would send. Locally the invocation
// ends before the upload is answered, so a client sees the outcome at once.
func (s *Stage) notifyUploads(check func(context.Context, []byte) error) func(context.Context, s3proxy.Object) {
	return func(ctx context.Context, obj s3proxy.Object) {
		if obj.Bucket != bucket || !strings.HasPrefix(obj.Key, manifest.UploadPrefix) {
			return
		}
		// Only catalogadmin presigns uploads (POST /products/{productId}/image-upload-url), and
		// S3 authorizes a browser's POST as its signer's PutObject.
		if obj.Event == "ObjectCreated:Post" {
			signer, _ := manifest.FunctionByName(manifest.CatalogAdmin)
			s.guard.Presigned(signer, access.Use{Action: manifest.PutObject, Bucket: obj.Bucket, Key: obj.Key})
		}
		raw, err := objectCreatedJSON(obj, time.Now())
		if err == nil {
			// The invocation outlives the upload's request.
			err = check(context.WithoutCancel(ctx), raw)
		}
		if err != nil {
			s.opts.Logger.ErrorContext(ctx, "image check failed", "key", obj.Key, "err", err)
		}
	}
}

// objectCreatedEvent is the notification S3 sends for obj, as Lambda hands it to a function:
// S3's JSON, decoded by the runtime's types.
func objectCreatedEvent(obj s3proxy.Object, at time.Time) (events.S3Event, error) {
	raw, err := objectCreatedJSON(obj, at)
	if err != nil {
		return events.S3Event{}, err
	}
	var ev events.S3Event
	if err := json.Unmarshal(raw, &ev); err != nil {
		return events.S3Event{}, fmt.Errorf("object-created event: %w", err)
	}
	return ev, nil
}

// objectCreatedJSON is S3's notification JSON for obj: the key form-encoded, the ETag unquoted.
func objectCreatedJSON(obj s3proxy.Object, at time.Time) ([]byte, error) {
	id := func(n int) string {
		b := make([]byte, n)
		_, _ = rand.Read(b)
		return strings.ToUpper(hex.EncodeToString(b))
	}
	record := map[string]any{
		"eventVersion":      "2.1",
		"eventSource":       "aws:s3",
		"awsRegion":         region,
		"eventTime":         at.UTC().Format("2006-01-02T15:04:05.000Z"),
		"eventName":         obj.Event,
		"userIdentity":      map[string]any{"principalId": "AWS:" + accessKey},
		"requestParameters": map[string]any{"sourceIPAddress": "127.0.0.1"},
		"responseElements":  map[string]any{"x-amz-request-id": id(8), "x-amz-id-2": id(32)},
		"s3": map[string]any{
			"s3SchemaVersion": "1.0",
			"configurationId": manifest.ImageCheck + "-uploads",
			"bucket": map[string]any{
				"name":          obj.Bucket,
				"ownerIdentity": map[string]any{"principalId": accessKey},
				"arn":           "arn:aws:s3:::" + obj.Bucket,
			},
			"object": map[string]any{
				"key":       eventKey(obj.Key),
				"size":      obj.Size,
				"versionId": "",
				"eTag":      strings.Trim(obj.ETag, `"`),
				"sequencer": id(8),
			},
		},
	}
	raw, err := json.Marshal(map[string]any{"Records": []any{record}})
	if err != nil {
		return nil, fmt.Errorf("object-created event: %w", err)
	}
	return raw, nil
}

// eventKey encodes a key as S3's notifications do: form-encoded ("+" for a space), with the
// slashes kept.
func eventKey(key string) string {
	return strings.ReplaceAll(url.QueryEscape(key), "%2F", "/")
}
