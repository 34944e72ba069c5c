package main

// Policy tests of the storefront's hosting and sign-in: what a reviewer checks in the graph.

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/shop-serverless/shop/components/awsmock"
	"github.com/shop-serverless/shop/storefront/hosting"
)

// named returns the one resource of a type and name, failing the test when it is missing.
func named(t *testing.T, m *awsmock.Mocks, typ, name string) awsmock.Resource {
	t.Helper()
	r, ok := m.Named(typ, name)
	if !ok {
		t.Fatalf("no %s %s", typ, name)
	}
	return r
}

func TestPolicySiteServedPrivatelyOverHTTPS(t *testing.T) {
	forEachStack(t, func(t *testing.T, stack string, m *awsmock.Mocks) {
		bkt := named(t, m, "aws:s3/bucketV2:BucketV2", "site-bucket")
		if get(named(t, m, "aws:s3/bucketOwnershipControls:BucketOwnershipControls", "site-ownership").Inputs, "rule", "objectOwnership") != "BucketOwnerEnforced" {
			t.Error("site bucket allows ACLs")
		}
		if sse := siblings(m, bkt, "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2"); len(sse) != 1 {
			t.Error("site bucket not encrypted")
		}
		oac := named(t, m, "aws:cloudfront/originAccessControl:OriginAccessControl", "site-oac").Inputs
		if oac["signingBehavior"] != "always" || oac["signingProtocol"] != "sigv4" {
			t.Errorf("origin access control = %v", oac)
		}
		cdn := named(t, m, "aws:cloudfront/distribution:Distribution", "site-cdn")
		cdnArn, _ := cdn.Outputs["arn"].(string)
		for _, st := range parsePolicy(t, named(t, m, "aws:s3/bucketPolicy:BucketPolicy", "site-policy"), "policy").Statement {
			if st.Effect != "Allow" {
				continue
			}
			if !slices.Equal(st.Condition["StringEquals"]["AWS:SourceArn"], []string{cdnArn}) || len(st.Condition) != 1 {
				t.Errorf("statement %s allows more than the site's distribution: %v", st.Sid, st.Condition)
			}
			if st.Principal.(map[string]any)["Service"].([]any)[0] != "cloudfront.amazonaws.com" || len(st.Action) != 1 || (st.Action[0] != "s3:GetObject" && st.Action[0] != "s3:ListBucket") {
				t.Errorf("statement %s = %+v", st.Sid, st)
			}
		}
		dcb := cdn.Inputs["defaultCacheBehavior"].(map[string]any)
		if dcb["viewerProtocolPolicy"] != "redirect-to-https" || cdn.Inputs["httpVersion"] != "http2and3" || dcb["compress"] != true {
			t.Errorf("distribution: %v %v %v", dcb["viewerProtocolPolicy"], cdn.Inputs["httpVersion"], dcb["compress"])
		}
		if origin := cdn.Inputs["origins"].([]any)[0].(map[string]any); origin["originAccessControlId"] == nil || origin["customOriginConfig"] != nil {
			t.Errorf("site origin = %v", origin)
		}
		sec := named(t, m, "aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy", "site-headers").Inputs["securityHeadersConfig"].(map[string]any)
		if get(sec, "strictTransportSecurity", "accessControlMaxAgeSec") != float64(hosting.HSTSMaxAge) || get(sec, "contentTypeOptions", "override") != true ||
			get(sec, "frameOptions", "frameOption") != "DENY" || get(sec, "referrerPolicy", "referrerPolicy") == nil {
			t.Errorf("security headers = %v", sec)
		}
		var events []string
		for _, a := range dcb["functionAssociations"].([]any) {
			events = append(events, a.(map[string]any)["eventType"].(string))
		}
		if !slices.Equal(events, []string{"viewer-request", "viewer-response"}) {
			t.Errorf("function associations = %v", events)
		}
	})
}

// TestPolicySiteTalksToExactlyTheStack checks that the Content-Security-Policy, config.json,
// the CORS rules and the sign-in callbacks all name the stack's own origins, none by hand.
func TestPolicySiteTalksToExactlyTheStack(t *testing.T) {
	forEachStack(t, func(t *testing.T, stack string, m *awsmock.Mocks) {
		out := exports[stack]
		site, api, images := out["siteUrl"].(string), out["apiUrl"].(string), out["imagesUrl"].(string)
		signIn := out["signInOrigin"].(string)
		uploads := "https://" + out["imagesBucket"].(string) + ".s3." + awsmock.DefaultRegion + ".amazonaws.com"
		cdn := named(t, m, "aws:cloudfront/distribution:Distribution", "site-cdn")
		if site != "https://"+cdn.Outputs["domainName"].(string) || signIn != "https://shop-"+stack+".auth."+awsmock.DefaultRegion+".amazoncognito.com" {
			t.Errorf("site %q, sign-in %q", site, signIn)
		}

		want, err := hosting.Security(hosting.Origins{API: api, Images: images, Uploads: uploads, Cognito: signIn})
		if err != nil {
			t.Fatal(err)
		}
		csp := named(t, m, "aws:cloudfront/keyvaluestoreKey:KeyvaluestoreKey", "site-content-csp").Inputs
		if csp["key"] != hosting.CSPKey || csp["value"] != want.ContentSecurityPolicy {
			t.Errorf("stored policy %v, want %q", csp["value"], want.ContentSecurityPolicy)
		}

		var cfg hosting.Config
		raw := named(t, m, "aws:s3/bucketObjectv2:BucketObjectv2", "site-content-config.json").Inputs["content"].(string)
		if err := json.Unmarshal([]byte(raw), &cfg); err != nil {
			t.Fatal(err)
		}
		g := cfg.Auth.Cognito
		if cfg.APIBaseURL != api || cfg.ImagesBaseURL != images || cfg.Auth.Mode != hosting.AuthCognito || g == nil ||
			g.Domain != signIn || g.ClientID != out["userPoolClientId"] || g.RedirectURI != site+hosting.CallbackPath || g.SignOutURI != site+"/" {
			t.Errorf("config.json = %s", raw)
		}

		client := named(t, m, "aws:cognito/userPoolClient:UserPoolClient", "auth-client").Inputs
		if !slices.Equal(client["callbackUrls"].([]any), []any{site + hosting.CallbackPath}) || !slices.Equal(client["logoutUrls"].([]any), []any{site + "/"}) ||
			!slices.Equal(client["allowedOauthFlows"].([]any), []any{"code"}) || client["generateSecret"] != false {
			t.Errorf("app client = %v", client)
		}
		apiCORS := get(named(t, m, "aws:apigatewayv2/api:Api", "api-api").Inputs, "corsConfiguration", "allowOrigins").([]any)
		rule := named(t, m, "aws:s3/bucketCorsConfigurationV2:BucketCorsConfigurationV2", "images-cors").Inputs["corsRules"].([]any)[0].(map[string]any)
		for what, origins := range map[string][]any{"API": apiCORS, "images bucket": rule["allowedOrigins"].([]any)} {
			if !slices.Contains(origins, any(site)) {
				t.Errorf("%s CORS origins %v lack the site", what, origins)
			}
			for _, o := range origins {
				if s := o.(string); s != site && !strings.HasPrefix(s, "http://localhost:") {
					t.Errorf("%s CORS allows %q, neither the site nor a local storefront", what, s)
				}
			}
		}
	})
}

func TestPolicySignInHardenedInProd(t *testing.T) {
	for stack, want := range map[string]struct {
		mfa, security string
	}{"prod": {"ON", "ENFORCED"}, "dev": {"OPTIONAL", ""}} {
		pool := named(t, graphOf(t, stack), "aws:cognito/userPool:UserPool", "auth-pool").Inputs
		got, _ := get(pool, "userPoolAddOns", "advancedSecurityMode").(string)
		if pool["mfaConfiguration"] != want.mfa || got != want.security || get(pool, "softwareTokenMfaConfiguration", "enabled") != true {
			t.Errorf("%s: MFA %v, threat protection %q, TOTP %v", stack, pool["mfaConfiguration"], got, pool["softwareTokenMfaConfiguration"])
		}
	}
}

func TestSiteObjectsFromTheFixtureBuild(t *testing.T) {
	m := graphOf(t, "dev")
	var keys []string
	for _, r := range m.OfType("aws:s3/bucketObjectv2:BucketObjectv2") {
		keys = append(keys, r.Inputs["key"].(string))
		if r.Inputs["cacheControl"] != hosting.CacheControl(r.Inputs["key"].(string)) || r.Inputs["contentType"] != hosting.ContentType(r.Inputs["key"].(string)) {
			t.Errorf("%s: %v", r.Name, r.Inputs)
		}
	}
	slices.Sort(keys)
	if !slices.Equal(keys, []string{"assets/index-3f2a9c1b.js", "assets/index-77aa01fe.css", "config.json", "favicon.svg", "index.html"}) {
		t.Errorf("objects = %v", keys)
	}
}

// TestSiteCustomDomainIsTheOrigin checks that with a custom domain, the domain (not the
// distribution's) is what the CORS rules, the sign-in callbacks and config.json name.
func TestSiteCustomDomainIsTheOrigin(t *testing.T) {
	cfg, secrets := stackConfig(t, "prod")
	cfg["shop:site"] = `{"enabled":true,"priceClass":"PriceClass_All","domain":{"name":"shop.example.com","certificateArn":"arn:aws:acm:us-east-1:123456789012:certificate/0b1f6c2e-9d3a-4c55-8f0e-2a7d8e1c4b90","hostedZoneId":"Z0123456789ABCDEFGHIJ"}}`
	m, out := runWithConfig(t, "prod", cfg, secrets)
	const site = "https://shop.example.com"
	if out["siteUrl"] != site {
		t.Errorf("siteUrl = %v", out["siteUrl"])
	}
	apiCORS := get(named(t, m, "aws:apigatewayv2/api:Api", "api-api").Inputs, "corsConfiguration", "allowOrigins").([]any)
	rule := named(t, m, "aws:s3/bucketCorsConfigurationV2:BucketCorsConfigurationV2", "images-cors").Inputs["corsRules"].([]any)[0].(map[string]any)
	if !slices.Equal(apiCORS, []any{site}) || !slices.Equal(rule["allowedOrigins"].([]any), []any{site}) {
		t.Errorf("CORS origins: API %v, images %v", apiCORS, rule["allowedOrigins"])
	}
	client := named(t, m, "aws:cognito/userPoolClient:UserPoolClient", "auth-client").Inputs
	if !slices.Equal(client["callbackUrls"].([]any), []any{site + hosting.CallbackPath}) {
		t.Errorf("callbacks = %v", client["callbackUrls"])
	}
	var c hosting.Config
	if err := json.Unmarshal([]byte(named(t, m, "aws:s3/bucketObjectv2:BucketObjectv2", "site-content-config.json").Inputs["content"].(string)), &c); err != nil || c.Auth.Cognito.RedirectURI != site+hosting.CallbackPath {
		t.Errorf("config.json redirect = %+v, %v", c.Auth.Cognito, err)
	}
	if _, ok := m.Named("aws:route53/record:Record", "site-dns-aaaa"); !ok {
		t.Error("no AAAA record for the custom domain")
	}
}
