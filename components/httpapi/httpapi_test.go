package httpapi_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/shop-serverless/shop/components/awsmock"
	"github.com/shop-serverless/shop/components/httpapi"
	"github.com/shop-serverless/shop/functions/manifest"
)

func targets(timeout int) map[string]httpapi.Target {
	out := map[string]httpapi.Target{}
	for _, f := range manifest.Functions {
		out[f.Name] = httpapi.Target{
			InvokeArn:      pulumi.String("arn:aws:apigateway:eu-central-1:lambda:path/2015-03-31/functions/arn:aws:lambda:eu-central-1:123456789012:function:" + f.Name + "/invocations"),
			FunctionName:   pulumi.String("shop-test-" + f.Name),
			TimeoutSeconds: timeout,
		}
	}
	return out
}

func baseArgs() httpapi.APIArgs {
	return httpapi.APIArgs{
		Routes:           manifest.All,
		Targets:          targets(10),
		Issuer:           pulumi.String("https://cognito-idp.eu-central-1.amazonaws.com/pool"),
		Audiences:        pulumi.ToStringArray([]string{"client"}),
		Throttle:         manifest.Throttle{RateLimit: 100, BurstLimit: 200},
		LogRetentionDays: 30,
	}
}

func TestAPI(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(a *httpapi.APIArgs)
		wantURL string
		check   func(t *testing.T, m *awsmock.Mocks)
	}{
		{
			name: "route table with CORS",
			mutate: func(a *httpapi.APIArgs) {
				a.CORSOrigins = []string{"https://shop.example.com"}
				a.SiteOrigin = pulumi.String("https://d111111abcdef8.cloudfront.net")
			},
			wantURL: "", // the API's own execute-api endpoint
			check: func(t *testing.T, m *awsmock.Mocks) {
				api, _ := m.Named("aws:apigatewayv2/api:Api", "api-api")
				cors := api.Inputs["corsConfiguration"].(map[string]any)
				if o := cors["allowOrigins"].([]any); len(o) != 2 || o[0] != "https://shop.example.com" || o[1] != "https://d111111abcdef8.cloudfront.net" {
					t.Errorf("cors = %v", cors)
				}
				if len(m.OfType("aws:apigatewayv2/domainName:DomainName")) != 0 {
					t.Error("domain without being asked")
				}
			},
		},
		{
			name: "custom domain with DNS and throttle override",
			mutate: func(a *httpapi.APIArgs) {
				a.Domain = &httpapi.Domain{Name: "api.shop.example.com", CertificateArn: pulumi.String("arn:aws:acm:eu-central-1:123456789012:certificate/x"), HostedZoneID: "Z123"}
				a.RouteThrottles = map[string]manifest.Throttle{"POST /orders": {RateLimit: 5, BurstLimit: 10}, "GET /cart": {RateLimit: 7, BurstLimit: 9}}
			},
			wantURL: "https://api.shop.example.com",
			check: func(t *testing.T, m *awsmock.Mocks) {
				dn, _ := m.Named("aws:apigatewayv2/domainName:DomainName", "api-domain")
				cfg := dn.Inputs["domainNameConfiguration"].(map[string]any)
				if cfg["securityPolicy"] != "TLS_1_2" || cfg["endpointType"] != "REGIONAL" {
					t.Errorf("domain = %v", cfg)
				}
				rec, ok := m.Named("aws:route53/record:Record", "api-dns")
				target := dn.Outputs["domainNameConfiguration"].(map[string]any)["targetDomainName"]
				if !ok || rec.Inputs["aliases"].([]any)[0].(map[string]any)["name"] != target {
					t.Errorf("dns = %v", rec.Inputs)
				}
				stage, _ := m.Named("aws:apigatewayv2/stage:Stage", "api-stage")
				got := map[string]float64{}
				for _, s := range stage.Inputs["routeSettings"].([]any) {
					s := s.(map[string]any)
					got[s["routeKey"].(string)] = s["throttlingRateLimit"].(float64)
				}
				if got["POST /orders"] != 5 || got["GET /cart"] != 7 || got["GET /products"] != 10000 {
					t.Errorf("route throttles = %v", got)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := baseArgs()
			tt.mutate(&args)
			m := awsmock.New("shop", "test")
			var url string
			if err := m.Run(func(ctx *pulumi.Context) error {
				api, err := httpapi.NewAPI(ctx, "api", &args)
				if err != nil {
					return err
				}
				awsmock.Capture(ctx, "url", api.URL, &url)
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			if tt.wantURL == "" {
				gw, _ := m.Named("aws:apigatewayv2/api:Api", "api-api")
				tt.wantURL = "https://" + gw.ID + ".execute-api.eu-central-1.amazonaws.com"
			}
			if url != tt.wantURL {
				t.Errorf("url = %q, want %q", url, tt.wantURL)
			}
			comp, _ := m.Named("shop:httpapi:API", "api")
			for _, r := range m.Resources() {
				if r.Custom && (r.Parent != comp.URN || !strings.HasPrefix(r.Name, "api-")) {
					t.Errorf("%s: parent %q", r.Name, r.Parent)
				}
			}
			checkRoutes(t, m)
			checkStage(t, m)
			tt.check(t, m)
		})
	}
}

// checkRoutes: every route of the table exists once, protected ones behind the authorizer.
func checkRoutes(t *testing.T, m *awsmock.Mocks) {
	t.Helper()
	integrations := map[string]string{} // function -> integration id
	for _, in := range m.OfType("aws:apigatewayv2/integration:Integration") {
		integrations[strings.TrimPrefix(in.Inputs["description"].(string), "function ")] = in.ID
	}
	authz, _ := m.Named("aws:apigatewayv2/authorizer:Authorizer", "api-jwt")
	gw, _ := m.Named("aws:apigatewayv2/api:Api", "api-api")
	declared := map[string]map[string]any{}
	for _, r := range m.OfType("aws:apigatewayv2/route:Route") {
		declared[r.Inputs["routeKey"].(string)] = r.Inputs
	}
	if len(declared) != len(manifest.All) {
		t.Errorf("%d routes, want %d", len(declared), len(manifest.All))
	}
	for _, r := range manifest.All {
		in, ok := declared[r.Key()]
		if !ok {
			t.Errorf("route %s missing", r.Key())
			continue
		}
		if want := "integrations/" + integrations[r.Function]; in["target"] != want {
			t.Errorf("%s target %v, want %s", r.Key(), in["target"], want)
		}
		if r.Auth == manifest.Public {
			if in["authorizationType"] != "NONE" || in["authorizerId"] != nil {
				t.Errorf("public route %s: %v", r.Key(), in)
			}
		} else if in["authorizationType"] != "JWT" || in["authorizerId"] != authz.ID {
			t.Errorf("protected route %s not behind the authorizer: %v", r.Key(), in)
		}
	}
	jwt := authz.Inputs["jwtConfiguration"].(map[string]any)
	if authz.Inputs["authorizerType"] != "JWT" || jwt["issuer"] != "https://cognito-idp.eu-central-1.amazonaws.com/pool" {
		t.Errorf("authorizer = %v", authz.Inputs)
	}
	for _, in := range m.OfType("aws:apigatewayv2/integration:Integration") {
		if in.Inputs["payloadFormatVersion"] != "2.0" || in.Inputs["integrationType"] != "AWS_PROXY" || in.Inputs["timeoutMilliseconds"] != 11000.0 {
			t.Errorf("integration %s = %v", in.Name, in.Inputs)
		}
	}
	// One permission per route, for its function, from that route of this API's stage only.
	permitted := map[string]string{} // source ARN -> function
	for _, p := range m.OfType("aws:lambda/permission:Permission") {
		if p.Inputs["principal"] != "apigateway.amazonaws.com" || p.Inputs["action"] != "lambda:InvokeFunction" {
			t.Errorf("permission %s = %v", p.Name, p.Inputs)
		}
		permitted[p.Inputs["sourceArn"].(string)] = p.Inputs["function"].(string)
	}
	if len(permitted) != len(manifest.All) {
		t.Errorf("%d permissions for %d routes", len(permitted), len(manifest.All))
	}
	base := "arn:aws:execute-api:eu-central-1:123456789012:" + gw.ID + "/$default/"
	for _, want := range []struct{ arn, fn string }{
		{base + "GET/health", "shop-test-health"},
		{base + "GET/products/*", "shop-test-catalog"},
		{base + "POST/products/*/image-upload-url", "shop-test-catalogadmin"},
		{base + "PUT/cart/items/*", "shop-test-cart"},
		{base + "POST/orders", "shop-test-orders"},
	} {
		if permitted[want.arn] != want.fn {
			t.Errorf("%s may invoke %q, want %q", want.arn, permitted[want.arn], want.fn)
		}
	}
}

func checkStage(t *testing.T, m *awsmock.Mocks) {
	t.Helper()
	stage, _ := m.Named("aws:apigatewayv2/stage:Stage", "api-stage")
	in := stage.Inputs
	if in["name"] != "$default" || in["autoDeploy"] != true {
		t.Errorf("stage = %v", in)
	}
	def := in["defaultRouteSettings"].(map[string]any)
	if def["throttlingRateLimit"] != 100.0 || def["throttlingBurstLimit"] != 200.0 {
		t.Errorf("default throttle = %v", def)
	}
	logs := in["accessLogSettings"].(map[string]any)
	var format map[string]string
	if err := json.Unmarshal([]byte(logs["format"].(string)), &format); err != nil || format["requestId"] != "$context.requestId" {
		t.Errorf("access log format %v: %v", logs["format"], err)
	}
	if !strings.HasSuffix(logs["destinationArn"].(string), "log-group:/shop/api/api/access") {
		t.Errorf("access log destination = %v", logs["destinationArn"])
	}
}

func TestIntegrationTimeout(t *testing.T) {
	for fn, want := range map[int]int{1: 2000, 10: 11000, 29: 30000} {
		if got := httpapi.IntegrationTimeoutMillis(fn); got != want {
			t.Errorf("timeout %d s -> %d ms, want %d", fn, got, want)
		}
	}
}

func TestAPIValidation(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(a *httpapi.APIArgs)
		want   string
	}{
		{"function too slow for the gateway", func(a *httpapi.APIArgs) { a.Targets = targets(30) }, "timeout 30 s"},
		{"missing target", func(a *httpapi.APIArgs) { delete(a.Targets, manifest.Cart) }, `function "cart"`},
		{"no issuer", func(a *httpapi.APIArgs) { a.Issuer = nil }, "issuer"},
		{"unknown route throttle", func(a *httpapi.APIArgs) {
			a.RouteThrottles = map[string]manifest.Throttle{"GET /nope": {RateLimit: 1, BurstLimit: 1}}
		}, `unknown route "GET /nope"`},
		{"zero stage throttle", func(a *httpapi.APIArgs) { a.Throttle = manifest.Throttle{} }, "stage throttle"},
		{"wildcard CORS", func(a *httpapi.APIArgs) { a.CORSOrigins = []string{"*"} }, "CORS origin"},
		{"no routes", func(a *httpapi.APIArgs) { a.Routes = nil }, "routes are required"},
		{"origin with a path", func(a *httpapi.APIArgs) { a.CORSOrigins = []string{"https://shop.example.com/"} }, "must be an origin"},
		{"bad domain", func(a *httpapi.APIArgs) { a.Domain = &httpapi.Domain{Name: "API", CertificateArn: pulumi.String("c")} }, "custom domain"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := baseArgs()
			tt.mutate(&args)
			err := awsmock.New("shop", "test").Run(func(ctx *pulumi.Context) error {
				_, err := httpapi.NewAPI(ctx, "api", &args)
				return err
			})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want %q", err, tt.want)
			}
		})
	}
}
