package site_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/shop-serverless/shop/components/awsmock"
	"github.com/shop-serverless/shop/components/bucket"
	"github.com/shop-serverless/shop/components/site"
	"github.com/shop-serverless/shop/storefront/hosting"
)

const (
	apiOrigin     = "https://abc123.execute-api.eu-central-1.amazonaws.com"
	imagesOrigin  = "https://d111111abcdef8.cloudfront.net"
	uploadsOrigin = "https://shop-images.s3.eu-central-1.amazonaws.com"
	cognitoOrigin = "https://shop-test.auth.eu-central-1.amazoncognito.com"
	configJSON    = `{"apiBaseUrl":"` + apiOrigin + `"}`
)

// deploy runs a Site and its Content from testdata/dist under mocks.
func deploy(t *testing.T, args site.SiteArgs) (*awsmock.Mocks, string, []string) {
	t.Helper()
	m := awsmock.New("shop", "test")
	var origin string
	var files []string
	if err := m.Run(func(ctx *pulumi.Context) error {
		s, err := site.NewSite(ctx, "site", &args)
		if err != nil {
			return err
		}
		c, err := site.NewContent(ctx, "site-content", &site.ContentArgs{
			Site:   s,
			Dir:    "testdata/dist",
			Config: pulumi.String(configJSON),
			Origins: site.Origins{
				API: pulumi.String(apiOrigin), Images: pulumi.String(imagesOrigin),
				Uploads: pulumi.String(uploadsOrigin), Cognito: pulumi.String(cognitoOrigin),
			},
		})
		if err != nil {
			return err
		}
		files = c.Files
		awsmock.Capture(ctx, "origin", s.Origin, &origin)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return m, origin, files
}

func one(t *testing.T, m *awsmock.Mocks, typ string) awsmock.Resource {
	t.Helper()
	rs := m.OfType(typ)
	if len(rs) != 1 {
		t.Fatalf("%d resources of %s, want 1", len(rs), typ)
	}
	return rs[0]
}

// get walks nested inputs: get(in, "a", "b") is in["a"]["b"].
var get = awsmock.Get

func TestSiteBucketIsPrivateAndReadOnlyByItsDistribution(t *testing.T) {
	m, _, _ := deploy(t, site.SiteArgs{})
	for _, comp := range []string{"site", "site-content"} {
		c, ok := m.Named("shop:site:"+map[string]string{"site": "Site", "site-content": "Content"}[comp], comp)
		if !ok {
			t.Fatalf("no component %s", comp)
		}
		for _, r := range m.ChildrenOf(c.URN) {
			if !strings.HasPrefix(r.Name, comp+"-") {
				t.Errorf("%s: child %s not named from it", comp, r.Name)
			}
		}
	}
	pab := one(t, m, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock").Inputs
	for _, k := range []string{"blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"} {
		if pab[k] != true {
			t.Errorf("public access block %s = %v", k, pab[k])
		}
	}
	if got := get(one(t, m, "aws:s3/bucketOwnershipControls:BucketOwnershipControls").Inputs, "rule", "objectOwnership"); got != "BucketOwnerEnforced" {
		t.Errorf("object ownership = %v", got)
	}
	sse, _ := json.Marshal(one(t, m, "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2").Inputs)
	if !strings.Contains(string(sse), `"sseAlgorithm":"AES256"`) {
		t.Errorf("encryption = %s", sse)
	}

	cdn, _ := m.Named("aws:cloudfront/distribution:Distribution", "site-cdn")
	distributionArn, _ := cdn.Outputs["arn"].(string)
	doc := awsmock.ParsePolicy(t, one(t, m, "aws:s3/bucketPolicy:BucketPolicy").Inputs["policy"])
	if len(doc.Statement) != 3 {
		t.Fatalf("policy statements = %+v", doc.Statement)
	}
	deny := doc.Statement[0]
	if deny.Effect != "Deny" || deny.Principal != "*" || deny.Condition["Bool"]["aws:SecureTransport"][0] != "false" ||
		!reflect.DeepEqual(deny.Resource, []string{"arn:aws:s3:::site-bucket", "arn:aws:s3:::site-bucket/*"}) {
		t.Errorf("TLS-only statement = %+v", deny)
	}
	for i, want := range []struct{ action, resource string }{{"s3:GetObject", "arn:aws:s3:::site-bucket/*"}, {"s3:ListBucket", "arn:aws:s3:::site-bucket"}} {
		st := doc.Statement[i+1]
		if st.Effect != "Allow" || !reflect.DeepEqual(st.Action, []string{want.action}) || !reflect.DeepEqual(st.Resource, []string{want.resource}) ||
			!reflect.DeepEqual(st.Condition, map[string]map[string][]string{"StringEquals": {"AWS:SourceArn": {distributionArn}}}) ||
			!reflect.DeepEqual(st.Principal, map[string]any{"Service": []any{"cloudfront.amazonaws.com"}}) {
			t.Errorf("statement %d = %+v, want %s on %s from %s only", i+1, st, want.action, want.resource, distributionArn)
		}
	}

	oac := one(t, m, "aws:cloudfront/originAccessControl:OriginAccessControl").Inputs
	if oac["signingBehavior"] != "always" || oac["signingProtocol"] != "sigv4" || oac["originAccessControlOriginType"] != "s3" {
		t.Errorf("origin access control = %v", oac)
	}
	origin := cdn.Inputs["origins"].([]any)[0].(map[string]any)
	if origin["domainName"] != "site-bucket.s3.eu-central-1.amazonaws.com" || origin["originAccessControlId"] == nil || origin["s3OriginConfig"] != nil {
		t.Errorf("origin = %v", origin)
	}
}

func TestSiteDistribution(t *testing.T) {
	m, origin, _ := deploy(t, site.SiteArgs{})
	cdn := one(t, m, "aws:cloudfront/distribution:Distribution").Inputs
	if cdn["httpVersion"] != "http2and3" || cdn["defaultRootObject"] != "index.html" || cdn["priceClass"] != "PriceClass_100" || cdn["loggingConfig"] != nil {
		t.Errorf("distribution = %v", cdn)
	}
	dcb := cdn["defaultCacheBehavior"].(map[string]any)
	if dcb["viewerProtocolPolicy"] != "redirect-to-https" || dcb["compress"] != true || dcb["responseHeadersPolicyId"] == nil {
		t.Errorf("default behavior = %v", dcb)
	}
	headers := one(t, m, "aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy")
	if id, _ := dcb["responseHeadersPolicyId"].(string); len(id) != 36 {
		t.Errorf("behavior's headers policy = %v", dcb["responseHeadersPolicyId"])
	}
	sec := headers.Inputs["securityHeadersConfig"].(map[string]any)
	want := map[string]any{
		"strictTransportSecurity": map[string]any{"accessControlMaxAgeSec": float64(hosting.HSTSMaxAge), "includeSubdomains": true, "override": true},
		"contentTypeOptions":      map[string]any{"override": true},
		"frameOptions":            map[string]any{"frameOption": "DENY", "override": true},
		"referrerPolicy":          map[string]any{"referrerPolicy": "strict-origin-when-cross-origin", "override": true},
	}
	if !reflect.DeepEqual(sec, want) {
		t.Errorf("security headers = %v, want %v", sec, want)
	}

	functions := map[string]awsmock.Resource{}
	for _, f := range m.OfType("aws:cloudfront/function:Function") {
		functions["arn:aws:cloudfront::"+awsmock.DefaultAccount+":function/"+f.Name] = f
		if f.Inputs["runtime"] != "cloudfront-js-2.0" || f.Inputs["publish"] != true {
			t.Errorf("function %s = %v", f.Name, f.Inputs)
		}
	}
	code := map[string]string{}
	for _, a := range dcb["functionAssociations"].([]any) {
		a := a.(map[string]any)
		f, ok := functions[a["functionArn"].(string)]
		if !ok {
			t.Fatalf("association %v names no function of the site", a)
		}
		code[a["eventType"].(string)] = f.Inputs["code"].(string)
	}
	if code["viewer-request"] != hosting.ViewerRequestFunction || code["viewer-response"] != hosting.ViewerResponseFunction {
		t.Errorf("function associations = %v", dcb["functionAssociations"])
	}
	csp, _ := m.Named("aws:cloudfront/function:Function", "site-csp")
	kvs := one(t, m, "aws:cloudfront/keyValueStore:KeyValueStore")
	key := one(t, m, "aws:cloudfront/keyvaluestoreKey:KeyvaluestoreKey").Inputs
	assoc := csp.Inputs["keyValueStoreAssociations"].([]any)
	if len(assoc) != 1 || assoc[0] != key["keyValueStoreArn"] || !strings.Contains(assoc[0].(string), ":key-value-store/") || kvs.Name != "site-settings" {
		t.Errorf("csp function stores %v, key in %v", assoc, key["keyValueStoreArn"])
	}
	h, _ := hosting.Security(hosting.Origins{API: apiOrigin, Images: imagesOrigin, Uploads: uploadsOrigin, Cognito: cognitoOrigin})
	if key["key"] != hosting.CSPKey || key["value"] != h.ContentSecurityPolicy {
		t.Errorf("stored policy = %v, want %q", key, h.ContentSecurityPolicy)
	}
	if cdn, _ := m.Named("aws:cloudfront/distribution:Distribution", "site-cdn"); origin != "https://"+cdn.Outputs["domainName"].(string) {
		t.Errorf("origin = %q, want the distribution's domain %v", origin, cdn.Outputs["domainName"])
	}
}

func TestSiteCustomDomainAndLogs(t *testing.T) {
	m, origin, _ := deploy(t, site.SiteArgs{
		Domain:     &site.Domain{Name: "shop.example.com", CertificateArn: "arn:aws:acm:us-east-1:123456789012:certificate/0b1f6c2e-9d3a-4c55-8f0e-2a7d8e1c4b90", HostedZoneID: "Z0123456789ABCDEFGHIJ"},
		AccessLogs: &bucket.AccessLogs{BucketName: pulumi.String("shop-logs"), DomainName: pulumi.String("shop-logs.s3.amazonaws.com")},
		PriceClass: "PriceClass_All",
	})
	cdn := one(t, m, "aws:cloudfront/distribution:Distribution").Inputs
	cert := cdn["viewerCertificate"].(map[string]any)
	if !reflect.DeepEqual(cdn["aliases"], []any{"shop.example.com"}) || cert["sslSupportMethod"] != "sni-only" || cert["minimumProtocolVersion"] != "TLSv1.2_2021" || cert["cloudfrontDefaultCertificate"] != nil {
		t.Errorf("aliases %v certificate %v", cdn["aliases"], cert)
	}
	if logs := cdn["loggingConfig"].(map[string]any); logs["bucket"] != "shop-logs.s3.amazonaws.com" || logs["prefix"] != "cloudfront/site/" || logs["includeCookies"] != false {
		t.Errorf("logging = %v", logs)
	}
	if access := one(t, m, "aws:s3/bucketLoggingV2:BucketLoggingV2").Inputs; access["targetBucket"] != "shop-logs" || access["targetPrefix"] != "s3/site/" {
		t.Errorf("server access logs = %v", access)
	}
	if origin != "https://shop.example.com" {
		t.Errorf("origin = %q", origin)
	}
	cdnDomain := one(t, m, "aws:cloudfront/distribution:Distribution").Outputs["domainName"]
	for _, typ := range []string{"A", "AAAA"} {
		rec, ok := m.Named("aws:route53/record:Record", "site-dns-"+strings.ToLower(typ))
		alias, _ := rec.Inputs["aliases"].([]any)
		if !ok || rec.Inputs["type"] != typ || rec.Inputs["name"] != "shop.example.com" || rec.Inputs["zoneId"] != "Z0123456789ABCDEFGHIJ" || len(alias) != 1 ||
			alias[0].(map[string]any)["name"] != cdnDomain || alias[0].(map[string]any)["zoneId"] != "Z2FDTNDATAQYW2" {
			t.Errorf("%s record = %v", typ, rec.Inputs)
		}
	}
}

func TestContentUploadsTheBuild(t *testing.T) {
	m, _, files := deploy(t, site.SiteArgs{})
	// index.html after its assets, the stage's config.json last, the build's own config.json
	// left out.
	if want := []string{"assets/index-3f2a9c1b.js", "assets/index-77aa01fe.css", "favicon.svg", "index.html", "config.json"}; !reflect.DeepEqual(files, want) {
		t.Errorf("files = %v, want %v", files, want)
	}
	objects := map[string]map[string]any{}
	for _, r := range m.OfType("aws:s3/bucketObjectv2:BucketObjectv2") {
		if r.Name != "site-content-"+r.Inputs["key"].(string) || r.Inputs["bucket"] != "site-bucket" {
			t.Errorf("object %s = %v", r.Name, r.Inputs)
		}
		objects[r.Inputs["key"].(string)] = r.Inputs
	}
	if len(objects) != len(files) {
		t.Fatalf("%d objects for %d files", len(objects), len(files))
	}
	for _, key := range files[:len(files)-1] {
		raw, err := os.ReadFile("testdata/dist/" + key)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(raw)
		o := objects[key]
		if o["contentType"] != hosting.ContentType(key) || o["cacheControl"] != hosting.CacheControl(key) ||
			o["sourceHash"] != hex.EncodeToString(sum[:]) || get(o, "source", "asset") != "testdata/dist/"+key {
			t.Errorf("%s = %v", key, o)
		}
	}
	if objects["index.html"]["cacheControl"] != "no-cache" || objects["assets/index-3f2a9c1b.js"]["cacheControl"] != "public, max-age=31536000, immutable" {
		t.Errorf("cache headers: index %v, asset %v", objects["index.html"]["cacheControl"], objects["assets/index-3f2a9c1b.js"]["cacheControl"])
	}
	cfg := objects["config.json"]
	if cfg["content"] != configJSON || cfg["contentType"] != "application/json" || cfg["cacheControl"] != "no-cache" {
		t.Errorf("config.json = %v", cfg)
	}
}

func TestContentIsReproducible(t *testing.T) {
	first, _, _ := deploy(t, site.SiteArgs{})
	second, _, _ := deploy(t, site.SiteArgs{})
	a, _ := json.Marshal(first.Resources())
	b, _ := json.Marshal(second.Resources())
	if string(a) != string(b) {
		t.Error("the same build gave two graphs")
	}
}

func TestSiteValidation(t *testing.T) {
	tests := []struct {
		name    string
		args    site.SiteArgs
		content *site.ContentArgs
		want    string
	}{
		{"price class", site.SiteArgs{PriceClass: "cheap"}, nil, "price class"},
		{"certificate region", site.SiteArgs{Domain: &site.Domain{Name: "shop.example.com", CertificateArn: "arn:aws:acm:eu-central-1:123456789012:certificate/x"}}, nil, "us-east-1"},
		{"domain is a URL", site.SiteArgs{Domain: &site.Domain{Name: "https://shop.example.com", CertificateArn: "arn:aws:acm:us-east-1:123456789012:certificate/x"}}, nil, "host name"},
		{"log bucket", site.SiteArgs{AccessLogs: &bucket.AccessLogs{DomainName: pulumi.String("l.s3.amazonaws.com")}}, nil, "log bucket's name"},
		{"no build", site.SiteArgs{}, &site.ContentArgs{Dir: "testdata/missing", Config: pulumi.String("{}")}, "no index.html"},
		{"policy too long for the store", site.SiteArgs{}, &site.ContentArgs{Dir: "testdata/dist", Config: pulumi.String("{}"), Origins: site.Origins{
			API: pulumi.String("https://" + strings.Repeat("a", 250) + ".example.com"), Images: pulumi.String("https://" + strings.Repeat("b", 250) + ".example.com"),
			Uploads: pulumi.String("https://" + strings.Repeat("c", 250) + ".example.com"), Cognito: pulumi.String("https://" + strings.Repeat("d", 250) + ".example.com"),
		}}, "at most 1024"},
		{"origin with a path", site.SiteArgs{}, &site.ContentArgs{Dir: "testdata/dist", Config: pulumi.String("{}"), Origins: site.Origins{API: pulumi.String(apiOrigin + "/prod")}}, "API origin"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := awsmock.New("shop", "test").Run(func(ctx *pulumi.Context) error {
				s, err := site.NewSite(ctx, "site", &tt.args)
				if err != nil || tt.content == nil {
					return err
				}
				tt.content.Site = s
				_, err = site.NewContent(ctx, "site-content", tt.content)
				return err
			})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want %q", err, tt.want)
			}
		})
	}
}
