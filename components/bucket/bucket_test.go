package bucket_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/shop-serverless/shop/components/awsmock"
	"github.com/shop-serverless/shop/components/bucket"
)

func TestBucket(t *testing.T) {
	tests := []struct {
		name string
		args bucket.BucketArgs
		// wantRules are the lifecycle rule ids.
		wantRules  []string
		wantStatus string
		wantCORS   bool
		// wantServed is what CloudFront may read.
		wantServed string
	}{
		{
			name:       "defaults: no versioning, no CORS",
			args:       bucket.BucketArgs{},
			wantRules:  []string{"abort-incomplete-uploads"},
			wantStatus: "Suspended",
			wantServed: "arn:aws:s3:::images-bucket/*",
		},
		{
			name:       "served and upload prefixes",
			args:       bucket.BucketArgs{ServedPrefix: "products/", UploadPrefix: "uploads/"},
			wantRules:  []string{"abort-incomplete-uploads", "expire-unchecked-uploads"},
			wantStatus: "Suspended",
			wantServed: "arn:aws:s3:::images-bucket/products/*",
		},
		{
			name:       "versioned, expiring, CORS, protected",
			args:       bucket.BucketArgs{Versioning: true, NoncurrentVersionDays: 30, CORSOrigins: []string{"https://shop.example.com"}, SiteOrigin: pulumi.String("https://d111111abcdef8.cloudfront.net"), Protect: true, PriceClass: "PriceClass_All"},
			wantRules:  []string{"abort-incomplete-uploads", "expire-noncurrent-versions"},
			wantStatus: "Enabled",
			wantCORS:   true,
			wantServed: "arn:aws:s3:::images-bucket/*",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := awsmock.New("shop", "test")
			var baseURL string
			if err := m.Run(func(ctx *pulumi.Context) error {
				b, err := bucket.NewBucket(ctx, "images", &tt.args)
				if err != nil {
					return err
				}
				awsmock.Capture(ctx, "baseURL", b.BaseURL, &baseURL)
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			m.CheckChildren(t, "shop:bucket:Bucket", "images")
			bkt := one(t, m, "aws:s3/bucketV2:BucketV2")
			if bkt.Protect != tt.args.Protect || bkt.RetainOnDelete != tt.args.Protect {
				t.Errorf("bucket protect=%v retain=%v", bkt.Protect, bkt.RetainOnDelete)
			}
			pab := one(t, m, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock").Inputs
			for _, k := range []string{"blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"} {
				if pab[k] != true {
					t.Errorf("public access block %s = %v", k, pab[k])
				}
			}
			own := one(t, m, "aws:s3/bucketOwnershipControls:BucketOwnershipControls").Inputs
			if own["rule"].(map[string]any)["objectOwnership"] != "BucketOwnerEnforced" {
				t.Errorf("ownership = %v", own)
			}
			sse := one(t, m, "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2").Inputs
			if !strings.Contains(mustJSON(sse), `"sseAlgorithm":"AES256"`) {
				t.Errorf("encryption = %v", sse)
			}
			ver := one(t, m, "aws:s3/bucketVersioningV2:BucketVersioningV2").Inputs
			if got := ver["versioningConfiguration"].(map[string]any)["status"]; got != tt.wantStatus {
				t.Errorf("versioning = %v, want %s", got, tt.wantStatus)
			}
			var ids []string
			for _, r := range one(t, m, "aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2").Inputs["rules"].([]any) {
				ids = append(ids, r.(map[string]any)["id"].(string))
			}
			if strings.Join(ids, ",") != strings.Join(tt.wantRules, ",") {
				t.Errorf("lifecycle rules = %v, want %v", ids, tt.wantRules)
			}
			cors := m.OfType("aws:s3/bucketCorsConfigurationV2:BucketCorsConfigurationV2")
			if (len(cors) == 1) != tt.wantCORS {
				t.Errorf("%d CORS configurations", len(cors))
			}
			if tt.wantCORS {
				rule := cors[0].Inputs["corsRules"].([]any)[0].(map[string]any)
				if o := rule["allowedOrigins"].([]any); len(o) != 2 || o[1] != "https://d111111abcdef8.cloudfront.net" {
					t.Errorf("CORS origins = %v", o)
				}
			}
			cdn := one(t, m, "aws:cloudfront/distribution:Distribution").Inputs
			dcb := cdn["defaultCacheBehavior"].(map[string]any)
			if dcb["viewerProtocolPolicy"] != "https-only" {
				t.Errorf("viewerProtocolPolicy = %v", dcb["viewerProtocolPolicy"])
			}
			origin := cdn["origins"].([]any)[0].(map[string]any)
			if origin["originAccessControlId"] == nil || origin["s3OriginConfig"] != nil {
				t.Errorf("origin must use origin access control: %v", origin)
			}
			if !strings.HasPrefix(baseURL, "https://") || strings.HasSuffix(baseURL, "/") {
				t.Errorf("baseURL = %q", baseURL)
			}

			policy := one(t, m, "aws:s3/bucketPolicy:BucketPolicy").Inputs["policy"]
			doc := awsmock.ParsePolicy(t, policy)
			if len(doc.Statement) != 2 {
				t.Fatalf("policy = %s", policy)
			}
			deny, allow := doc.Statement[0], doc.Statement[1]
			if deny.Effect != "Deny" || deny.Condition["Bool"]["aws:SecureTransport"][0] != "false" || len(deny.Resource) != 2 {
				t.Errorf("TLS-only statement = %+v", deny)
			}
			if allow.Effect != "Allow" || !strings.Contains(allow.Condition["StringEquals"]["AWS:SourceArn"][0], ":distribution/") ||
				len(allow.Resource) != 1 || allow.Resource[0] != tt.wantServed {
				t.Errorf("CloudFront statement = %+v", allow)
			}
			if p, ok := allow.Principal.(map[string]any); !ok || p["Service"].([]any)[0] != "cloudfront.amazonaws.com" {
				t.Errorf("allow principal = %v", allow.Principal)
			}
		})
	}
}

func TestBucketValidation(t *testing.T) {
	tests := []struct {
		name string
		args bucket.BucketArgs
		want string
	}{
		{"wildcard CORS", bucket.BucketArgs{CORSOrigins: []string{"*"}}, "list the origins"},
		{"bad price class", bucket.BucketArgs{PriceClass: "cheap"}, "price class"},
		{"negative days", bucket.BucketArgs{NoncurrentVersionDays: -1}, "negative"},
		{"wildcard prefix", bucket.BucketArgs{ServedPrefix: "products/*"}, "wildcard"},
		{"uploads served", bucket.BucketArgs{ServedPrefix: "products/", UploadPrefix: "products/"}, "must not land"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := awsmock.New("shop", "test").Run(func(ctx *pulumi.Context) error {
				_, err := bucket.NewBucket(ctx, "images", &tt.args)
				return err
			})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func one(t *testing.T, m *awsmock.Mocks, typ string) awsmock.Resource {
	t.Helper()
	rs := m.OfType(typ)
	if len(rs) != 1 {
		t.Fatalf("%d resources of type %s", len(rs), typ)
	}
	return rs[0]
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestLogBucket: private and encrypted like every bucket, ACLs kept for CloudFront's log
// delivery, S3 log delivery allowed for this account only, everything expiring.
func TestLogBucket(t *testing.T) {
	m := awsmock.New("shop", "test")
	if err := m.Run(func(ctx *pulumi.Context) error {
		logs, err := bucket.NewLogBucket(ctx, "logs", &bucket.LogBucketArgs{ExpireDays: 90, Versioning: true, Protect: true})
		if err != nil {
			return err
		}
		_, err = bucket.NewBucket(ctx, "images", &bucket.BucketArgs{AccessLogs: logs.AccessLogs()})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	logs, _ := m.Named("aws:s3/bucketV2:BucketV2", "logs-bucket")
	if !logs.Protect || !logs.RetainOnDelete {
		t.Error("log bucket not protected")
	}
	for _, c := range []struct{ typ, name, want string }{
		{"aws:s3/bucketOwnershipControls:BucketOwnershipControls", "logs-ownership", `"objectOwnership":"BucketOwnerPreferred"`},
		{"aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2", "logs-encryption", `"sseAlgorithm":"AES256"`},
		{"aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "logs-public-access",
			`"blockPublicAcls":true,"blockPublicPolicy":true,"bucket":"logs-bucket","ignorePublicAcls":true,"restrictPublicBuckets":true`},
		{"aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2", "logs-lifecycle",
			`"expiration":{"days":90},"filter":{},"id":"expire-logs","noncurrentVersionExpiration":{"noncurrentDays":90}`},
		{"aws:s3/bucketVersioningV2:BucketVersioningV2", "logs-versioning", `"status":"Enabled"`},
	} {
		r, ok := m.Named(c.typ, c.name)
		if b, _ := json.Marshal(r.Inputs); !ok || !strings.Contains(string(b), c.want) {
			t.Errorf("%s = %s, want %s", c.name, b, c.want)
		}
	}
	pol, _ := m.Named("aws:s3/bucketPolicy:BucketPolicy", "logs-policy")
	doc := pol.Inputs["policy"].(string)
	for _, want := range []string{
		`"Sid":"DenyInsecureTransport","Effect":"Deny","Principal":"*"`,
		`"Sid":"S3ServerAccessLogs","Effect":"Allow","Principal":{"Service":["logging.s3.amazonaws.com"]},"Action":["s3:PutObject"],"Resource":["arn:aws:s3:::logs-bucket/s3/*"],"Condition":{"StringEquals":{"aws:SourceAccount":["123456789012"]}}`,
	} {
		if !strings.Contains(doc, want) {
			t.Errorf("log bucket policy %s lacks %s", doc, want)
		}
	}

	// The images bucket and its distribution log there, each under its own prefix.
	access, ok := m.Named("aws:s3/bucketLoggingV2:BucketLoggingV2", "images-access-logs")
	if !ok || access.Inputs["bucket"] != "images-bucket" || access.Inputs["targetBucket"] != "logs-bucket" || access.Inputs["targetPrefix"] != "s3/images/" {
		t.Errorf("server access logging = %v", access.Inputs)
	}
	cdn, _ := m.Named("aws:cloudfront/distribution:Distribution", "images-cdn")
	if b, _ := json.Marshal(cdn.Inputs["loggingConfig"]); string(b) != `{"bucket":"logs-bucket.s3.amazonaws.com","includeCookies":false,"prefix":"cloudfront/images/"}` {
		t.Errorf("distribution logging = %s", b)
	}
}

func TestLogBucketMustExpire(t *testing.T) {
	err := awsmock.New("shop", "test").Run(func(ctx *pulumi.Context) error {
		_, err := bucket.NewLogBucket(ctx, "logs", &bucket.LogBucketArgs{})
		return err
	})
	if err == nil || !strings.Contains(err.Error(), "expire") {
		t.Errorf("err = %v, want logs to expire", err)
	}
}
