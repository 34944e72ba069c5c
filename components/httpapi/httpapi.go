// Package httpapi declares the shop's API Gateway HTTP API from the shared route table
// (functions/manifest): one Lambda proxy integration (payload 2.0) per function, one route per
// table entry, the JWT authorizer on every user and admin route, a $default stage with JSON
// access logs and throttling, CORS, and an optional custom domain (domain.go). The JWT
// authorizer is in authorizer.go.
package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/apigatewayv2"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/lambda"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/shop-serverless/shop/components/cors"
	"github.com/shop-serverless/shop/functions/manifest"
)

// MaxIntegrationTimeoutSeconds is API Gateway's limit for HTTP API integrations.
const MaxIntegrationTimeoutSeconds = 30

// MaxFunctionTimeoutSeconds is the longest timeout of a function behind the API: its
// integration waits a second longer, within API Gateway's limit.
const MaxFunctionTimeoutSeconds = MaxIntegrationTimeoutSeconds - 1

// StageName is the stage every request goes to; auto-deployed.
const StageName = "$default"

// Target is the function behind some routes.
type Target struct {
	InvokeArn    pulumi.StringInput
	FunctionName pulumi.StringInput
	// TimeoutSeconds is the function's timeout; the integration waits one second longer so
	// the function, not the gateway, decides when a request has failed.
	TimeoutSeconds int
}

// APIArgs configures an API.
type APIArgs struct {
	// APIName is the API's name; empty: the component name.
	APIName string
	// Routes are the routes to declare; at least one.
	Routes []manifest.Route
	// Targets holds the function behind the routes, by function name.
	Targets map[string]Target
	// Issuer and Audiences configure the JWT authorizer of user and admin routes.
	Issuer    pulumi.StringInput
	Audiences pulumi.StringArrayInput
	// Throttle is the stage's default for every route without its own.
	Throttle manifest.Throttle
	// RouteThrottles override the route table's per-route throttles, by route key.
	RouteThrottles map[string]manifest.Throttle
	// CORSOrigins may call the API from a browser; none and no SiteOrigin: no CORS
	// configuration.
	CORSOrigins []string
	// SiteOrigin is the storefront's origin, allowed beside CORSOrigins; nil: none.
	SiteOrigin pulumi.StringInput
	// LogRetentionDays is how long access logs are kept.
	LogRetentionDays int
	// LogKMSKeyArn encrypts the log group with a customer managed key; nil: CloudWatch
	// Logs' own encryption.
	LogKMSKeyArn pulumi.StringPtrInput
	// DetailedMetrics publishes per-route metrics; CloudWatch bills them as custom metrics
	// (several per route), so it is worth it where someone reads them.
	DetailedMetrics bool
	// Domain is an optional custom domain.
	Domain *Domain
	// Tags are added to every resource that takes tags.
	Tags pulumi.StringMapInput
}

// API is the deployed HTTP API.
type API struct {
	pulumi.ResourceState

	// ID is the API's id (the ApiId metric dimension).
	ID pulumi.StringOutput `pulumi:"id"`
	// Endpoint is the API's default execute-api URL.
	Endpoint pulumi.StringOutput `pulumi:"endpoint"`
	// URL is where clients call the API: the custom domain when set, else Endpoint.
	URL pulumi.StringOutput `pulumi:"url"`
	// ExecutionArn is the API's execute-api ARN.
	ExecutionArn pulumi.StringOutput `pulumi:"executionArn"`
}

// accessLogFormat is API Gateway's JSON access log line: one object per request, with the
// request id the functions log too.
var accessLogFormat = jsonString(map[string]string{
	"requestId":          "$context.requestId",
	"ip":                 "$context.identity.sourceIp",
	"requestTime":        "$context.requestTime",
	"routeKey":           "$context.routeKey",
	"status":             "$context.status",
	"protocol":           "$context.protocol",
	"responseLength":     "$context.responseLength",
	"responseLatency":    "$context.responseLatency",
	"integrationLatency": "$context.integrationLatency",
	"integrationStatus":  "$context.integrationStatus",
	"integrationError":   "$context.integrationErrorMessage",
	"authorizerError":    "$context.authorizer.error",
	"userAgent":          "$context.identity.userAgent",
})

// NewAPI declares the API.
func NewAPI(ctx *pulumi.Context, name string, args *APIArgs, opts ...pulumi.ResourceOption) (*API, error) {
	if args == nil {
		return nil, fmt.Errorf("api %q: args are required", name)
	}
	a := *args
	if a.APIName == "" {
		a.APIName = name
	}
	if err := a.validate(); err != nil {
		return nil, fmt.Errorf("api %q: %w", name, err)
	}

	api := &API{}
	if err := ctx.RegisterComponentResource("shop:httpapi:API", name, api, opts...); err != nil {
		return nil, fmt.Errorf("api %q: %w", name, err)
	}
	if err := api.declare(ctx, name, &a); err != nil {
		return nil, fmt.Errorf("api %q: %w", name, err)
	}
	if err := ctx.RegisterResourceOutputs(api, pulumi.Map{
		"id":           api.ID,
		"endpoint":     api.Endpoint,
		"url":          api.URL,
		"executionArn": api.ExecutionArn,
	}); err != nil {
		return nil, fmt.Errorf("api %q: %w", name, err)
	}
	return api, nil
}

func (api *API) declare(ctx *pulumi.Context, name string, a *APIArgs) error {
	b := &builder{ctx: ctx, name: name, args: a, parent: pulumi.Parent(api)}
	gw, err := b.createAPI()
	if err != nil {
		return err
	}
	authorizer, err := b.createAuthorizer(gw)
	if err != nil {
		return err
	}
	integrations, err := b.createIntegrations(gw)
	if err != nil {
		return err
	}
	if err := b.allowInvocations(gw); err != nil {
		return err
	}
	declared, err := b.createRoutes(gw, integrations, authorizer)
	if err != nil {
		return err
	}
	stage, err := b.createStage(gw, declared)
	if err != nil {
		return err
	}

	api.ID = gw.ID().ToStringOutput()
	api.Endpoint = gw.ApiEndpoint
	api.URL = gw.ApiEndpoint
	api.ExecutionArn = gw.ExecutionArn
	if a.Domain != nil {
		if api.URL, err = b.createDomain(gw, stage); err != nil {
			return err
		}
	}
	return nil
}

// builder declares an API's children, one step per method.
type builder struct {
	ctx    *pulumi.Context
	name   string
	args   *APIArgs
	parent pulumi.ResourceOption
}

// child is the name of the child with the role.
func (b *builder) child(role string) string { return b.name + "-" + role }

// createAPI declares the API, with CORS when it has origins to allow.
func (b *builder) createAPI() (*apigatewayv2.Api, error) {
	a := b.args
	apiArgs := &apigatewayv2.ApiArgs{
		Name:         pulumi.String(a.APIName),
		ProtocolType: pulumi.String("HTTP"),
		Description:  pulumi.String("shop HTTP API"),
		Tags:         a.Tags,
	}
	if len(a.CORSOrigins) > 0 || a.SiteOrigin != nil {
		origins := pulumi.ToStringArray(a.CORSOrigins)
		if a.SiteOrigin != nil {
			origins = append(origins, a.SiteOrigin)
		}
		apiArgs.CorsConfiguration = &apigatewayv2.ApiCorsConfigurationArgs{
			AllowOrigins:  origins,
			AllowMethods:  pulumi.ToStringArray(manifest.CORSMethods(a.Routes)),
			AllowHeaders:  pulumi.ToStringArray(manifest.CORSAllowHeaders),
			ExposeHeaders: pulumi.ToStringArray(manifest.CORSExposeHeaders),
			MaxAge:        pulumi.Int(manifest.CORSMaxAge),
		}
	}
	return apigatewayv2.NewApi(b.ctx, b.child("api"), apiArgs, b.parent)
}

// createIntegrations declares one Lambda proxy integration (payload 2.0) per function.
func (b *builder) createIntegrations(gw *apigatewayv2.Api) (map[string]*apigatewayv2.Integration, error) {
	integrations := map[string]*apigatewayv2.Integration{}
	for _, fn := range functionsOf(b.args.Routes) {
		t := b.args.Targets[fn]
		integration, err := apigatewayv2.NewIntegration(b.ctx, b.child(fn+"-integration"), &apigatewayv2.IntegrationArgs{
			ApiId:                gw.ID(),
			Description:          pulumi.String("function " + fn),
			IntegrationType:      pulumi.String("AWS_PROXY"),
			IntegrationMethod:    pulumi.String("POST"),
			IntegrationUri:       t.InvokeArn,
			PayloadFormatVersion: pulumi.String("2.0"),
			TimeoutMilliseconds:  pulumi.Int(IntegrationTimeoutMillis(t.TimeoutSeconds)),
		}, b.parent)
		if err != nil {
			return nil, err
		}
		integrations[fn] = integration
	}
	return integrations, nil
}

// allowInvocations lets only this API's stage invoke a function, and only through the
// function's own routes.
func (b *builder) allowInvocations(gw *apigatewayv2.Api) error {
	for _, r := range b.args.Routes {
		if _, err := lambda.NewPermission(b.ctx, b.child("permission-"+slug(r.Key())), &lambda.PermissionArgs{
			Action:    pulumi.String("lambda:InvokeFunction"),
			Function:  b.args.Targets[r.Function].FunctionName,
			Principal: pulumi.String("apigateway.amazonaws.com"),
			SourceArn: pulumi.Sprintf("%s/%s", gw.ExecutionArn, RouteSourcePath(r)),
		}, b.parent); err != nil {
			return err
		}
	}
	return nil
}

// createRoutes declares one route per table entry; user and admin routes need the JWT
// authorizer.
func (b *builder) createRoutes(gw *apigatewayv2.Api, integrations map[string]*apigatewayv2.Integration,
	authorizer *apigatewayv2.Authorizer) ([]pulumi.Resource, error) {
	var declared []pulumi.Resource
	for _, r := range b.args.Routes {
		routeArgs := &apigatewayv2.RouteArgs{
			ApiId:             gw.ID(),
			RouteKey:          pulumi.String(r.Key()),
			Target:            pulumi.Sprintf("integrations/%s", integrations[r.Function].ID()),
			AuthorizationType: pulumi.String("NONE"),
			OperationName:     pulumi.String(operationName(r)),
		}
		if r.Auth != manifest.Public {
			routeArgs.AuthorizationType = pulumi.String("JWT")
			routeArgs.AuthorizerId = authorizer.ID()
		}
		route, err := apigatewayv2.NewRoute(b.ctx, b.child("route-"+slug(r.Key())), routeArgs, b.parent)
		if err != nil {
			return nil, err
		}
		declared = append(declared, route)
	}
	return declared, nil
}

// createStage declares the auto-deployed $default stage with its JSON access logs and
// throttles. Route settings name routes by key: the stage comes after the routes.
func (b *builder) createStage(gw *apigatewayv2.Api, routes []pulumi.Resource) (*apigatewayv2.Stage, error) {
	a := b.args
	logs, err := cloudwatch.NewLogGroup(b.ctx, b.child("access-logs"), &cloudwatch.LogGroupArgs{
		Name:            pulumi.Sprintf("/shop/api/%s/access", a.APIName),
		RetentionInDays: pulumi.Int(a.LogRetentionDays),
		KmsKeyId:        a.LogKMSKeyArn,
		Tags:            a.Tags,
	}, b.parent)
	if err != nil {
		return nil, err
	}
	stageArgs := &apigatewayv2.StageArgs{
		ApiId:      gw.ID(),
		Name:       pulumi.String(StageName),
		AutoDeploy: pulumi.Bool(true),
		AccessLogSettings: &apigatewayv2.StageAccessLogSettingsArgs{
			DestinationArn: logs.Arn,
			Format:         pulumi.String(accessLogFormat),
		},
		DefaultRouteSettings: &apigatewayv2.StageDefaultRouteSettingsArgs{
			ThrottlingRateLimit:    pulumi.Float64(a.Throttle.RateLimit),
			ThrottlingBurstLimit:   pulumi.Int(a.Throttle.BurstLimit),
			DetailedMetricsEnabled: pulumi.Bool(a.DetailedMetrics),
		},
		Tags: a.Tags,
	}
	if settings := b.routeSettings(); len(settings) > 0 {
		stageArgs.RouteSettings = settings
	}
	return apigatewayv2.NewStage(b.ctx, b.child("stage"), stageArgs, b.parent, pulumi.DependsOn(routes))
}

// routeSettings are the throttles of the routes that have their own.
func (b *builder) routeSettings() apigatewayv2.StageRouteSettingArray {
	var settings apigatewayv2.StageRouteSettingArray
	for _, r := range b.args.Routes {
		if t, ok := routeThrottle(r, b.args.RouteThrottles); ok {
			settings = append(settings, &apigatewayv2.StageRouteSettingArgs{
				RouteKey:             pulumi.String(r.Key()),
				ThrottlingRateLimit:  pulumi.Float64(t.RateLimit),
				ThrottlingBurstLimit: pulumi.Int(t.BurstLimit),
			})
		}
	}
	return settings
}

// RouteSourcePath is the part of a request's execute-api ARN after the API id for one route:
// "$default/GET/products/*" for GET /products/{productId}. A path parameter becomes "*",
// which is what the request ARN holds there (the request's own value).
func RouteSourcePath(r manifest.Route) string {
	segments := strings.Split(strings.TrimPrefix(r.Path, "/"), "/")
	for i, seg := range segments {
		if strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") {
			segments[i] = "*"
		}
	}
	return StageName + "/" + r.Method + "/" + strings.Join(segments, "/")
}

// IntegrationTimeoutMillis is one second above the function's timeout, at most 30 s.
func IntegrationTimeoutMillis(functionTimeoutSeconds int) int {
	return min(functionTimeoutSeconds+1, MaxIntegrationTimeoutSeconds) * 1000
}

// routeThrottle is the route's own throttle: the override, else the route table's.
func routeThrottle(r manifest.Route, overrides map[string]manifest.Throttle) (manifest.Throttle, bool) {
	if t, ok := overrides[r.Key()]; ok {
		return t, true
	}
	if r.Throttle != nil {
		return *r.Throttle, true
	}
	return manifest.Throttle{}, false
}

func (a *APIArgs) validate() error {
	var errs []error
	if len(a.Routes) == 0 {
		errs = append(errs, errors.New("routes are required"))
	}
	keys := map[string]bool{}
	for _, r := range a.Routes {
		if keys[r.Key()] {
			errs = append(errs, fmt.Errorf("route %q declared twice", r.Key()))
		}
		keys[r.Key()] = true
		switch r.Auth {
		case manifest.Public, manifest.User, manifest.Admin:
		default:
			errs = append(errs, fmt.Errorf("route %q: unknown auth %q", r.Key(), r.Auth))
		}
		if !strings.HasPrefix(r.Path, "/") {
			errs = append(errs, fmt.Errorf("route %q: path must start with /", r.Key()))
		}
		if r.Throttle != nil {
			errs = append(errs, checkThrottle("route "+r.Key(), *r.Throttle)...)
		}
	}
	for _, fn := range functionsOf(a.Routes) {
		t, ok := a.Targets[fn]
		switch {
		case !ok || t.InvokeArn == nil || t.FunctionName == nil:
			errs = append(errs, fmt.Errorf("function %q serves routes but has no target", fn))
		case t.TimeoutSeconds < 1 || t.TimeoutSeconds > MaxFunctionTimeoutSeconds:
			errs = append(errs, fmt.Errorf("function %q: timeout %d s must be 1..%d to finish within API Gateway's %d s",
				fn, t.TimeoutSeconds, MaxFunctionTimeoutSeconds, MaxIntegrationTimeoutSeconds))
		}
	}
	if needsAuthorizer(a.Routes) && (a.Issuer == nil || a.Audiences == nil) {
		errs = append(errs, errors.New("user and admin routes need an issuer and audiences"))
	}
	errs = append(errs, checkThrottle("stage", a.Throttle)...)
	overrides := make([]string, 0, len(a.RouteThrottles))
	for k := range a.RouteThrottles {
		overrides = append(overrides, k)
	}
	sort.Strings(overrides)
	for _, k := range overrides {
		if !keys[k] {
			errs = append(errs, fmt.Errorf("throttle for unknown route %q", k))
		}
		errs = append(errs, checkThrottle("route "+k, a.RouteThrottles[k])...)
	}
	if a.LogRetentionDays <= 0 {
		errs = append(errs, errors.New("access log retention days must be set"))
	}
	for _, o := range a.CORSOrigins {
		if err := cors.CheckOrigin(o); err != nil {
			errs = append(errs, fmt.Errorf("CORS origin %w", err))
		}
	}
	if d := a.Domain; d != nil {
		if d.Name == "" || !strings.Contains(d.Name, ".") || strings.ToLower(d.Name) != d.Name {
			errs = append(errs, fmt.Errorf("custom domain %q must be a lower-case host name", d.Name))
		}
		if d.CertificateArn == nil {
			errs = append(errs, errors.New("custom domain needs a certificate ARN"))
		}
	}
	return errors.Join(errs...)
}

func checkThrottle(what string, t manifest.Throttle) []error {
	if t.RateLimit <= 0 || t.BurstLimit <= 0 {
		return []error{fmt.Errorf("%s throttle needs a positive rate and burst (got %v/s, burst %d)", what, t.RateLimit, t.BurstLimit)}
	}
	return nil
}

// functionsOf lists the functions behind the routes, each once, in first-seen order.
func functionsOf(rs []manifest.Route) []string {
	var out []string
	seen := map[string]bool{}
	for _, r := range rs {
		if !seen[r.Function] {
			seen[r.Function] = true
			out = append(out, r.Function)
		}
	}
	return out
}

// slug turns a route key into a resource name part: "GET /products/{productId}" ->
// "get-products-productid".
func slug(key string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(key) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	return strings.TrimSuffix(b.String(), "-")
}

// operationName names a route in logs and SDKs: "GET /products/{productId}" ->
// "getProductsProductId".
func operationName(r manifest.Route) string {
	var b strings.Builder
	b.WriteString(strings.ToLower(r.Method))
	upper := true
	for _, c := range r.Path {
		switch {
		case c == '/' || c == '{' || c == '}' || c == '-':
			upper = true
		case upper:
			b.WriteString(strings.ToUpper(string(c)))
			upper = false
		default:
			b.WriteRune(c)
		}
	}
	return b.String()
}

func jsonString(v map[string]string) string {
	b, err := json.Marshal(v) // map keys are sorted: the format is stable
	if err != nil {
		return "{}"
	}
	return string(b)
}
