package main

// Policy tests of the API's edge: the CloudFront distribution in front of the HTTP API, its
// WAF web ACL and logs, and the secret origin header the functions check.

import (
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/shop-serverless/shop/components/awsmock"
	"github.com/shop-serverless/shop/components/edge"
	"github.com/shop-serverless/shop/functions/manifest"
	"github.com/shop-serverless/shop/storefront/hosting"
)

// edgeSettings is the stack file's shop:edge, as the program reads it.
func edgeSettings(t *testing.T, stack string) EdgeConfig {
	t.Helper()
	cfg, _ := stackConfig(t, stack)
	var e EdgeConfig
	if err := json.Unmarshal([]byte(cfg["shop:edge"]), &e); err != nil {
		t.Fatalf("shop:edge of %s: %v", stack, err)
	}
	return e
}

// rulesByName are the web ACL's rules by name.
func rulesByName(t *testing.T, acl awsmock.Resource) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	rules, _ := acl.Inputs["rules"].([]any)
	for _, r := range rules {
		rule := r.(map[string]any)
		out[rule["name"].(string)] = rule
	}
	return out
}

// TestPolicyEdgeWebACL: the API's distribution is guarded by a CloudFront-scoped web ACL in
// us-east-1 with the managed groups and both per-address rate rules at the stack's limits,
// which refuse with 429, the contract's body and Retry-After.
func TestPolicyEdgeWebACL(t *testing.T) {
	forEachStack(t, func(t *testing.T, stack string, m *awsmock.Mocks) {
		acl := named(t, m, "aws:wafv2/webAcl:WebAcl", "edge-acl")
		provider, ok := m.Named("pulumi:providers:aws", "us-east-1")
		if !ok || provider.Inputs["region"] != wafRegion || acl.Provider != provider.URN || acl.Region != wafRegion {
			t.Fatalf("web ACL managed by %q in %q, want the explicit us-east-1 provider", acl.Provider, acl.Region)
		}
		if acl.Inputs["scope"] != "CLOUDFRONT" || get(acl.Inputs, "defaultAction", "allow") == nil {
			t.Errorf("web ACL scope %v, default action %v", acl.Inputs["scope"], acl.Inputs["defaultAction"])
		}
		cdn := named(t, m, "aws:cloudfront/distribution:Distribution", "edge-cdn")
		if cdn.Inputs["webAclId"] != acl.Outputs["arn"] {
			t.Errorf("distribution's webAclId %v is not the web ACL's ARN %v", cdn.Inputs["webAclId"], acl.Outputs["arn"])
		}
		api := named(t, m, "aws:apigatewayv2/api:Api", "api-api")
		origins := cdn.Inputs["origins"].([]any)
		if len(origins) != 1 || "https://"+origins[0].(map[string]any)["domainName"].(string) != api.Outputs["apiEndpoint"] {
			t.Errorf("distribution's origins %v are not the API's endpoint %v", origins, api.Outputs["apiEndpoint"])
		}

		rules := rulesByName(t, acl)
		for _, group := range edge.ManagedRuleGroups {
			r, ok := rules[group]
			st := get(r, "statement", "managedRuleGroupStatement")
			if !ok || get(st.(map[string]any), "vendorName") != "AWS" || get(st.(map[string]any), "name") != group {
				t.Errorf("managed rule group %s missing: %v", group, r)
				continue
			}
			if get(r, "overrideAction", "none") == nil {
				t.Errorf("%s only counts (override %v): its blocks must apply", group, r["overrideAction"])
			}
		}
		for _, want := range []string{"AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet", "AWSManagedRulesAmazonIpReputationList"} {
			if _, ok := rules[want]; !ok {
				t.Errorf("no %s rule", want)
			}
		}

		settings := edgeSettings(t, stack)
		bodies := map[string]string{}
		for _, b := range acl.Inputs["customResponseBodies"].([]any) {
			body := b.(map[string]any)
			if body["contentType"] == "APPLICATION_JSON" {
				bodies[body["key"].(string)] = body["content"].(string)
			}
		}
		for name, limit := range map[string]int{edge.RuleRatePerAddress: settings.RatePerAddress, edge.RuleOrdersRatePerAddress: settings.OrdersRatePerAddress} {
			r, ok := rules[name]
			if !ok {
				t.Errorf("no rate rule %s", name)
				continue
			}
			rate, _ := get(r, "statement", "rateBasedStatement").(map[string]any)
			if rate["aggregateKeyType"] != "IP" || rate["limit"] != float64(limit) || rate["evaluationWindowSec"] != float64(settings.WindowSeconds) {
				t.Errorf("%s: %v, want per IP %d in %d s", name, rate, limit, settings.WindowSeconds)
			}
			scoped := rate["scopeDownStatement"] != nil
			if scoped != (name == edge.RuleOrdersRatePerAddress) {
				t.Errorf("%s scoped down: %v", name, scoped)
			}
			checkTooMany(t, name, get(r, "action", "block", "customResponse"), bodies, settings.WindowSeconds)
		}
		if r := rules[edge.RuleOrdersRatePerAddress]; r != nil {
			var matches []string
			and, _ := get(r, "statement", "rateBasedStatement", "scopeDownStatement", "andStatement", "statements").([]any)
			for _, s := range and {
				bm := get(s.(map[string]any), "byteMatchStatement").(map[string]any)
				field := mustJSON(t, bm["fieldToMatch"])
				matches = append(matches, field+"="+bm["positionalConstraint"].(string)+":"+bm["searchString"].(string))
			}
			slices.Sort(matches)
			want := []string{`{"method":{}}=EXACTLY:POST`, `{"uriPath":{}}=EXACTLY:/orders`}
			if !slices.Equal(matches, want) {
				t.Errorf("checkout rule scoped to %v, want %v", matches, want)
			}
		}
		if settings.OrdersRatePerAddress >= settings.RatePerAddress {
			t.Errorf("checkout's rate %d is not tighter than %d", settings.OrdersRatePerAddress, settings.RatePerAddress)
		}
	})
}

// checkTooMany: a rate rule's block is a 429 with the contract's rate_limited body and a
// Retry-After of the window.
func checkTooMany(t *testing.T, rule string, resp any, bodies map[string]string, window int) {
	t.Helper()
	r, _ := resp.(map[string]any)
	if r["responseCode"] != float64(429) {
		t.Errorf("%s answers %v, want 429", rule, r["responseCode"])
	}
	var body struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	key, _ := r["customResponseBodyKey"].(string)
	if err := json.Unmarshal([]byte(bodies[key]), &body); err != nil || body.Error.Code != "rate_limited" || body.Error.Message == "" {
		t.Errorf("%s body %q is not the contract's rate_limited error (%v)", rule, bodies[key], err)
	}
	var retry string
	headers, _ := r["responseHeaders"].([]any)
	for _, h := range headers {
		if h := h.(map[string]any); h["name"] == "Retry-After" {
			retry, _ = h["value"].(string)
		}
	}
	if retry != strconv.Itoa(window) {
		t.Errorf("%s Retry-After %q, want %d", rule, retry, window)
	}
}

// TestPolicyEdgeLogs: the web ACL logs to a CloudWatch log group WAF accepts (aws-waf-logs-
// prefix, the ACL's region) with the stack's retention, without bearer tokens.
func TestPolicyEdgeLogs(t *testing.T) {
	forEachStack(t, func(t *testing.T, stack string, m *awsmock.Mocks) {
		acl := named(t, m, "aws:wafv2/webAcl:WebAcl", "edge-acl")
		logging := named(t, m, "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration", "edge-waf-logging")
		group := named(t, m, "aws:cloudwatch/logGroup:LogGroup", "edge-waf-logs")
		if logging.Inputs["resourceArn"] != acl.Outputs["arn"] || logging.Region != wafRegion {
			t.Errorf("logging configuration of %v in %s, want the web ACL's in %s", logging.Inputs["resourceArn"], logging.Region, wafRegion)
		}
		if dest := logging.Inputs["logDestinationConfigs"].([]any); len(dest) != 1 || dest[0] != group.Outputs["arn"] {
			t.Errorf("WAF logs to %v, want the log group %v", dest, group.Outputs["arn"])
		}
		if name, _ := group.Inputs["name"].(string); !strings.HasPrefix(name, "aws-waf-logs-") || group.Region != wafRegion {
			t.Errorf("log group %q in %s: WAF needs the aws-waf-logs- prefix in %s", name, group.Region, wafRegion)
		}
		cfg, _ := stackConfig(t, stack)
		if days, _ := strconv.Atoi(cfg["shop:logRetentionDays"]); group.Inputs["retentionInDays"] != float64(days) {
			t.Errorf("WAF logs kept %v days, want the stack's %d", group.Inputs["retentionInDays"], days)
		}
		if mustJSON(t, logging.Inputs["redactedFields"]) != `[{"singleHeader":{"name":"authorization"}}]` {
			t.Errorf("redacted fields %v: bearer tokens must not reach the logs", logging.Inputs["redactedFields"])
		}
	})
}

// TestPolicyEdgeHTTPSAndNothingCachedPerUser: viewers and the origin speak HTTPS only (the
// origin TLS 1.2, a custom domain TLS 1.2 at least), Authorization and every other viewer
// header but Host reach the API, nothing is cached, and the API's response headers pass.
func TestPolicyEdgeHTTPSAndNothingCachedPerUser(t *testing.T) {
	forEachStack(t, func(t *testing.T, stack string, m *awsmock.Mocks) {
		cdn := named(t, m, "aws:cloudfront/distribution:Distribution", "edge-cdn").Inputs
		checkEdgeDistribution(t, cdn)
		if _, ok := cdn["orderedCacheBehaviors"]; ok {
			t.Error("ordered cache behaviors: every path must be the default, uncached one")
		}
		if get(cdn, "loggingConfig", "bucket") != get(named(t, m, "aws:s3/bucketV2:BucketV2", "logs-bucket").Outputs, "bucketDomainName") ||
			get(cdn, "loggingConfig", "prefix") != "cloudfront/edge/" {
			t.Errorf("access logs %v, want the log bucket under cloudfront/edge/", cdn["loggingConfig"])
		}
		if cert := cdn["viewerCertificate"].(map[string]any); cert["cloudfrontDefaultCertificate"] != true {
			t.Errorf("without a domain, the distribution's own certificate: %v", cert)
		}
	})
}

func checkEdgeDistribution(t *testing.T, cdn map[string]any) {
	t.Helper()
	b := cdn["defaultCacheBehavior"].(map[string]any)
	if b["viewerProtocolPolicy"] != "https-only" {
		t.Errorf("viewer protocol policy %v, want https-only", b["viewerProtocolPolicy"])
	}
	origin := cdn["origins"].([]any)[0].(map[string]any)
	if get(origin, "customOriginConfig", "originProtocolPolicy") != "https-only" ||
		mustJSON(t, get(origin, "customOriginConfig", "originSslProtocols")) != `["TLSv1.2"]` {
		t.Errorf("origin connection %v, want HTTPS with TLS 1.2 only", origin["customOriginConfig"])
	}
	if cert := cdn["viewerCertificate"].(map[string]any); cert["acmCertificateArn"] != nil && cert["minimumProtocolVersion"] != "TLSv1.2_2021" {
		t.Errorf("custom domain's minimum protocol %v, want TLSv1.2_2021", cert["minimumProtocolVersion"])
	}
	if b["cachePolicyId"] != edge.CachingDisabled {
		t.Errorf("cache policy %v, want the managed CachingDisabled", b["cachePolicyId"])
	}
	// AllViewerExceptHostHeader forwards every viewer header, Authorization included, and
	// is not part of a cache key.
	if b["originRequestPolicyId"] != edge.AllViewerExceptHostHeader {
		t.Errorf("origin request policy %v, want the managed AllViewerExceptHostHeader", b["originRequestPolicyId"])
	}
	if _, legacy := b["forwardedValues"]; legacy {
		t.Error("legacy forwarded values alongside the policies")
	}
	if _, ok := b["responseHeadersPolicyId"]; ok {
		t.Error("a response headers policy could strip X-Cache or Retry-After")
	}
	if got := mustJSON(t, b["allowedMethods"]); got != `["GET","HEAD","OPTIONS","PUT","POST","PATCH","DELETE"]` {
		t.Errorf("allowed methods %s: the API needs every one", got)
	}
}

// TestEdgeCustomDomain: with shop:edge.domain the API is called at the domain, over TLS 1.2 at
// least, and DNS names the distribution.
func TestEdgeCustomDomain(t *testing.T) {
	cfg, secrets := stackConfig(t, "prod")
	cfg["shop:edge"] = `{"windowSeconds":300,"ratePerAddress":6000,"ordersRatePerAddress":300,"priceClass":"PriceClass_All","domain":{"name":"api.shop.example.com","certificateArn":"arn:aws:acm:us-east-1:123456789012:certificate/0b1f6c2e-9d3a-4c55-8f0e-2a7d8e1c4b90","hostedZoneId":"Z0123456789ABCDEFGHIJ"}}`
	m, out := runWithConfig(t, "prod", cfg, secrets)
	if out["apiUrl"] != "https://api.shop.example.com" {
		t.Errorf("apiUrl = %v", out["apiUrl"])
	}
	cdn := named(t, m, "aws:cloudfront/distribution:Distribution", "edge-cdn").Inputs
	checkEdgeDistribution(t, cdn)
	if get(cdn, "viewerCertificate", "minimumProtocolVersion") != "TLSv1.2_2021" || get(cdn, "viewerCertificate", "sslSupportMethod") != "sni-only" {
		t.Errorf("viewer certificate %v", cdn["viewerCertificate"])
	}
	if _, ok := m.Named("aws:route53/record:Record", "edge-dns-a"); !ok {
		t.Error("no A record for the edge's domain")
	}
}

// TestPolicyEdgeIsTheAPIAddress: clients (the stack's apiUrl, the storefront's config.json)
// call the distribution, not the execute-api endpoint.
func TestPolicyEdgeIsTheAPIAddress(t *testing.T) {
	forEachStack(t, func(t *testing.T, stack string, m *awsmock.Mocks) {
		graphOf(t, stack)
		out := exports[stack]
		cdn := named(t, m, "aws:cloudfront/distribution:Distribution", "edge-cdn")
		want := "https://" + cdn.Outputs["domainName"].(string)
		if out["apiUrl"] != want || out["edgeDistributionId"] != cdn.ID {
			t.Errorf("apiUrl %v, edgeDistributionId %v; want %s, %s", out["apiUrl"], out["edgeDistributionId"], want, cdn.ID)
		}
		if ep, _ := out["apiEndpoint"].(string); !strings.Contains(ep, ".execute-api.") {
			t.Errorf("apiEndpoint %q", ep)
		}
		var config hosting.Config
		if err := json.Unmarshal([]byte(named(t, m, "aws:s3/bucketObjectv2:BucketObjectv2", "site-content-config.json").Inputs["content"].(string)), &config); err != nil || config.APIBaseURL != want {
			t.Errorf("config.json calls the API at %q (%v), want %s", config.APIBaseURL, err, want)
		}
	})
}

// TestPolicyEdgeOriginSecret: CloudFront adds the origin header with a secret value; the
// functions the API invokes get the secret's verifiers in their environment (kept secret in
// the state), and no function may read anything of SSM: there is no parameter to read.
func TestPolicyEdgeOriginSecret(t *testing.T) {
	forEachStack(t, func(t *testing.T, stack string, m *awsmock.Mocks) {
		cdn := named(t, m, "aws:cloudfront/distribution:Distribution", "edge-cdn")
		headers := cdn.Inputs["origins"].([]any)[0].(map[string]any)["customHeaders"].([]any)
		if len(headers) != 1 || headers[0].(map[string]any)["name"] != manifest.OriginHeader || headers[0].(map[string]any)["value"] != awsmock.Secret {
			t.Errorf("origin custom headers %v, want %s with a secret value", headers, manifest.OriginHeader)
		}
		if params := m.OfType("aws:ssm/parameter:Parameter"); len(params) != 0 {
			t.Errorf("%d SSM parameters: the functions read none", len(params))
		}
		for _, spec := range manifest.Functions {
			fn := named(t, m, "aws:lambda/function:Function", spec.Name+"-function")
			env, _ := get(fn.Inputs, "environment", "variables").(map[string]any)
			for _, st := range parsePolicy(t, named(t, m, "aws:iam/rolePolicy:RolePolicy", spec.Name+"-policy"), "policy").Statement {
				for _, a := range st.Action {
					if strings.HasPrefix(a, "ssm:") {
						t.Errorf("%s may %s on %v", spec.Name, a, st.Resource)
					}
				}
			}
			if got, has := env[manifest.EnvOriginVerifiers]; has != spec.ChecksOrigin() || (has && got != awsmock.Secret) {
				t.Errorf("%s: %s = %v (checks the origin: %v; want a secret value)", spec.Name, manifest.EnvOriginVerifiers, got, spec.ChecksOrigin())
			}
		}
	})
}

// TestOriginVerifiers: the functions' verifiers are those of shop:originSecret and, while it
// is set, of shop:previousOriginSecret, and CloudFront sends the current secret alone.
func TestOriginVerifiers(t *testing.T) {
	const previous = "test-previous-origin-secret-0123456789"
	current := project + ":" + originSecretKey
	prev := project + ":" + previousOriginSecretKey
	for _, tt := range []struct {
		name string
		cfg  map[string]string
		want string
	}{
		{"one secret", map[string]string{current: testOriginSecret}, manifest.OriginVerifiers(testOriginSecret)},
		{"rotating", map[string]string{current: testOriginSecret, prev: previous}, manifest.OriginVerifiers(testOriginSecret, previous)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			secrets := slices.Sorted(maps.Keys(tt.cfg)) // every origin secret is set as a secret
			tt.cfg["aws:region"] = "eu-west-1"
			setEngineConfig(t, tt.cfg, secrets)
			got := make(chan string, 1)
			err := awsmock.New(project, "test").Run(func(ctx *pulumi.Context) error {
				cfg, err := loadConfig(ctx)
				if err != nil {
					return err
				}
				originVerifiers(cfg).ToStringOutput().ApplyT(func(v string) string { got <- v; return v })
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if v := <-got; v != tt.want {
				t.Errorf("verifiers %q, want %q", v, tt.want)
			}
		})
	}
}

// TestPolicyNoSecretInPlainText: the origin secret and the alarm address appear in no input
// of either graph nor in the committed snapshots: only as "[secret]".
func TestPolicyNoSecretInPlainText(t *testing.T) {
	forEachStack(t, func(t *testing.T, stack string, m *awsmock.Mocks) {
		cfg, _ := stackConfig(t, stack)
		secrets := []string{testOriginSecret}
		if email := cfg["shop:alarmEmail"]; email != "" {
			secrets = append(secrets, email)
		}
		for _, r := range m.Resources() {
			walkStrings(r.Inputs, nil, func(path []string, v string) {
				for _, s := range secrets {
					if strings.Contains(v, s) {
						t.Errorf("%s.%s holds a secret in plain text", r.Name, strings.Join(path, "."))
					}
				}
			})
		}
		snapshot, err := os.ReadFile(filepath.Join("testdata", stack+".graph.json"))
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range secrets {
			if strings.Contains(string(snapshot), s) {
				t.Errorf("the %s snapshot holds a secret in plain text", stack)
			}
		}
	})
}
