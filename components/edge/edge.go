// Package edge declares the API's front door: a CloudFront distribution in front of the
// HTTP API with an AWS WAF web ACL (AWS managed rule groups, a rate rule per client address
// for every route and a tighter one for checkout), WAF logs in CloudWatch Logs, and a secret
// header CloudFront adds to every origin request, by which the functions tell requests that
// passed the edge from requests sent to the API's own endpoint.
//
// An HTTP API accepts neither a resource policy nor a web ACL, so this is the only place a
// WAF can stand; a caller who finds the execute-api endpoint meets only API Gateway's
// throttles and the functions' refusal of requests without the header.
package edge

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudfront"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/wafv2"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/shop-serverless/shop/components/bucket"
	"github.com/shop-serverless/shop/components/internal/cdn"
)

// CloudFront's managed policies for an API: nothing cached, and every viewer header but Host
// (API Gateway answers only its own host name) forwarded, Authorization included.
const (
	CachingDisabled           = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
	AllViewerExceptHostHeader = "b689b0a8-53d0-40ab-baf2-68738e2966ac"
)

// ManagedRuleGroups are the AWS managed rule groups the web ACL applies, in order: addresses
// with a bad reputation, then the common rule set (OWASP-style), then known bad inputs.
var ManagedRuleGroups = []string{
	"AWSManagedRulesAmazonIpReputationList",
	"AWSManagedRulesCommonRuleSet",
	"AWSManagedRulesKnownBadInputsRuleSet",
}

// Rule names of the rate-based rules.
const (
	RuleRatePerAddress       = "rate-per-address"
	RuleOrdersRatePerAddress = "orders-rate-per-address"
)

// rateLimitedBody is the key of the custom response body of a rate-limited request.
const rateLimitedBody = "rate-limited"

// Evaluation windows AWS WAF accepts for a rate-based rule, in seconds.
var windows = []int{60, 120, 300, 600}

// Rates are the rate-based rules' limits: requests one client address may send in Window.
type Rates struct {
	// WindowSeconds is the evaluation window: 60, 120, 300 or 600.
	WindowSeconds int
	// PerAddress applies to every route.
	PerAddress int
	// OrdersPerAddress applies to POST /orders, checkout, and is the tighter one.
	OrdersPerAddress int
}

// Domain is a custom domain for the edge; it brings the TLS 1.2 minimum CloudFront's own
// domain cannot have.
type Domain = cdn.Domain

// EdgeArgs configures an Edge.
type EdgeArgs struct {
	// Name names the web ACL and the WAF log group ("shop-prod").
	Name string
	// USEast1 is an aws provider for us-east-1, where CloudFront's web ACLs and their log
	// groups must be.
	USEast1 pulumi.ProviderResource
	// OriginURL is the API's own endpoint, "https://<id>.execute-api.<region>.amazonaws.com".
	OriginURL pulumi.StringInput
	// OriginHeader is the name of the header CloudFront adds to every origin request.
	OriginHeader string
	// OriginSecret is its value, a secret.
	OriginSecret pulumi.StringInput
	// Rates are the per-address limits.
	Rates Rates
	// RateLimitedBody is the JSON body of a request refused by a rate rule (429).
	RateLimitedBody string
	// Domain is an optional custom domain; nil: the distribution's own domain.
	Domain *Domain
	// PriceClass is the CloudFront price class; empty: PriceClass_100.
	PriceClass string
	// AccessLogs, when set, turns on the distribution's standard logs.
	AccessLogs *bucket.AccessLogs
	// LogRetentionDays keeps WAF logs this long.
	LogRetentionDays int
	// LogKMSKeyArn, when set, is a KMS key in us-east-1 that encrypts the WAF log group.
	LogKMSKeyArn pulumi.StringPtrInput
	// Tags are added to every resource.
	Tags pulumi.StringMapInput
}

// Edge is the distribution, its web ACL and the WAF log group.
type Edge struct {
	pulumi.ResourceState

	// URL is the API's public base URL, "https://<custom or distribution domain>".
	URL            pulumi.StringOutput `pulumi:"url"`
	DistributionID pulumi.StringOutput `pulumi:"distributionId"`
	WebACLArn      pulumi.StringOutput `pulumi:"webAclArn"`
	// LogGroupName is the CloudWatch log group of the WAF's logs (in us-east-1).
	LogGroupName pulumi.StringOutput `pulumi:"logGroupName"`
}

// NewEdge declares the web ACL and its logs in us-east-1, then the distribution it guards.
func NewEdge(ctx *pulumi.Context, name string, args *EdgeArgs, opts ...pulumi.ResourceOption) (*Edge, error) {
	if args == nil {
		return nil, fmt.Errorf("edge %q: args are required", name)
	}
	a := *args
	if a.PriceClass == "" {
		a.PriceClass = bucket.CheapestPriceClass
	}
	if err := a.validate(); err != nil {
		return nil, fmt.Errorf("edge %q: %w", name, err)
	}
	e := &Edge{}
	if err := ctx.RegisterComponentResource("shop:edge:Edge", name, e, opts...); err != nil {
		return nil, fmt.Errorf("edge %q: %w", name, err)
	}
	if err := e.declare(ctx, name, &a); err != nil {
		return nil, fmt.Errorf("edge %q: %w", name, err)
	}
	if err := ctx.RegisterResourceOutputs(e, pulumi.Map{
		"url":            e.URL,
		"distributionId": e.DistributionID,
		"webAclArn":      e.WebACLArn,
		"logGroupName":   e.LogGroupName,
	}); err != nil {
		return nil, fmt.Errorf("edge %q: %w", name, err)
	}
	return e, nil
}

func (e *Edge) declare(ctx *pulumi.Context, name string, a *EdgeArgs) error {
	parent := pulumi.Parent(e)
	east := pulumi.Provider(a.USEast1)

	acl, err := wafv2.NewWebAcl(ctx, name+"-acl", &wafv2.WebAclArgs{
		Name:          pulumi.String(a.Name + "-api"),
		Description:   pulumi.String("the API's edge: managed rules and per-address rates"),
		Scope:         pulumi.String("CLOUDFRONT"),
		DefaultAction: &wafv2.WebAclDefaultActionArgs{Allow: &wafv2.WebAclDefaultActionAllowArgs{}},
		CustomResponseBodies: wafv2.WebAclCustomResponseBodyArray{&wafv2.WebAclCustomResponseBodyArgs{
			Key:         pulumi.String(rateLimitedBody),
			ContentType: pulumi.String("APPLICATION_JSON"),
			Content:     pulumi.String(a.RateLimitedBody),
		}},
		Rules:            a.rules(),
		VisibilityConfig: &wafv2.WebAclVisibilityConfigArgs{CloudwatchMetricsEnabled: pulumi.Bool(true), MetricName: pulumi.String(a.Name + "-api"), SampledRequestsEnabled: pulumi.Bool(true)},
		Tags:             a.Tags,
	}, parent, east)
	if err != nil {
		return err
	}

	// WAF writes only to log groups whose names start with aws-waf-logs-, in the ACL's region.
	logs, err := cloudwatch.NewLogGroup(ctx, name+"-waf-logs", &cloudwatch.LogGroupArgs{
		Name:            pulumi.String("aws-waf-logs-" + a.Name + "-api"),
		RetentionInDays: pulumi.Int(a.LogRetentionDays),
		KmsKeyId:        a.LogKMSKeyArn,
		Tags:            a.Tags,
	}, parent, east)
	if err != nil {
		return err
	}
	if _, err := wafv2.NewWebAclLoggingConfiguration(ctx, name+"-waf-logging", &wafv2.WebAclLoggingConfigurationArgs{
		ResourceArn:           acl.Arn,
		LogDestinationConfigs: pulumi.StringArray{logs.Arn},
		// Bearer tokens stay out of the logs.
		RedactedFields: wafv2.WebAclLoggingConfigurationRedactedFieldArray{&wafv2.WebAclLoggingConfigurationRedactedFieldArgs{
			SingleHeader: &wafv2.WebAclLoggingConfigurationRedactedFieldSingleHeaderArgs{Name: pulumi.String("authorization")},
		}},
	}, parent, east); err != nil {
		return err
	}

	const originID = "api"
	host := pulumi.ToOutput(a.OriginURL).ApplyT(func(u any) string {
		return strings.TrimSuffix(strings.TrimPrefix(u.(string), "https://"), "/")
	}).(pulumi.StringOutput)
	cdnArgs := &cloudfront.DistributionArgs{
		Enabled:       pulumi.Bool(true),
		Comment:       pulumi.String("shop API"),
		HttpVersion:   pulumi.String("http2and3"),
		IsIpv6Enabled: pulumi.Bool(true),
		PriceClass:    pulumi.String(a.PriceClass),
		WebAclId:      acl.Arn,
		Origins: cloudfront.DistributionOriginArray{&cloudfront.DistributionOriginArgs{
			OriginId:   pulumi.String(originID),
			DomainName: host,
			CustomOriginConfig: &cloudfront.DistributionOriginCustomOriginConfigArgs{
				HttpPort:             pulumi.Int(80),
				HttpsPort:            pulumi.Int(443),
				OriginProtocolPolicy: pulumi.String("https-only"),
				OriginSslProtocols:   pulumi.ToStringArray([]string{"TLSv1.2"}),
			},
			CustomHeaders: cloudfront.DistributionOriginCustomHeaderArray{&cloudfront.DistributionOriginCustomHeaderArgs{
				Name:  pulumi.String(a.OriginHeader),
				Value: pulumi.ToSecret(a.OriginSecret).(pulumi.StringOutput),
			}},
		}},
		// Every method reaches the API; nothing is cached, so no answer meant for one
		// shopper is served to another. The origin's headers (X-Cache, Retry-After, CORS)
		// pass unchanged: no response headers policy rewrites them.
		DefaultCacheBehavior: &cloudfront.DistributionDefaultCacheBehaviorArgs{
			TargetOriginId:        pulumi.String(originID),
			ViewerProtocolPolicy:  pulumi.String("https-only"),
			AllowedMethods:        pulumi.ToStringArray([]string{"GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"}),
			CachedMethods:         pulumi.ToStringArray([]string{"GET", "HEAD"}),
			CachePolicyId:         pulumi.String(CachingDisabled),
			OriginRequestPolicyId: pulumi.String(AllViewerExceptHostHeader),
			Compress:              pulumi.Bool(true),
		},
		Restrictions: &cloudfront.DistributionRestrictionsArgs{
			GeoRestriction: &cloudfront.DistributionRestrictionsGeoRestrictionArgs{RestrictionType: pulumi.String("none")},
		},
		Aliases:           a.Domain.Aliases(),
		ViewerCertificate: a.Domain.ViewerCertificate(),
		LoggingConfig:     a.AccessLogs.CloudFront(name),
		Tags:              a.Tags,
	}
	dist, err := cloudfront.NewDistribution(ctx, name+"-cdn", cdnArgs, parent)
	if err != nil {
		return err
	}
	if err := a.Domain.AliasRecords(ctx, name, dist, parent); err != nil {
		return err
	}

	e.URL = a.Domain.Origin(dist)
	e.DistributionID = dist.ID().ToStringOutput()
	e.WebACLArn = acl.Arn
	e.LogGroupName = logs.Name
	return nil
}

// rules are the web ACL's rules in priority order: the rate rules first, so a flood is
// refused before the managed groups inspect it, then the managed groups.
func (a *EdgeArgs) rules() wafv2.WebAclRuleArray {
	visible := func(metric string) *wafv2.WebAclRuleVisibilityConfigArgs {
		return &wafv2.WebAclRuleVisibilityConfigArgs{
			CloudwatchMetricsEnabled: pulumi.Bool(true), MetricName: pulumi.String(metric), SampledRequestsEnabled: pulumi.Bool(true),
		}
	}
	tooMany := &wafv2.WebAclRuleActionArgs{Block: &wafv2.WebAclRuleActionBlockArgs{
		CustomResponse: &wafv2.WebAclRuleActionBlockCustomResponseArgs{
			ResponseCode:          pulumi.Int(429),
			CustomResponseBodyKey: pulumi.String(rateLimitedBody),
			ResponseHeaders: wafv2.WebAclRuleActionBlockCustomResponseResponseHeaderArray{
				// A blocked address is counted again only after the window, so that is
				// when trying again makes sense.
				&wafv2.WebAclRuleActionBlockCustomResponseResponseHeaderArgs{
					Name: pulumi.String("Retry-After"), Value: pulumi.Sprintf("%d", a.Rates.WindowSeconds),
				},
			},
		},
	}}
	exactly := func(field *wafv2.WebAclRuleStatementByteMatchStatementFieldToMatchArgs, value string) *wafv2.WebAclRuleStatementArgs {
		return &wafv2.WebAclRuleStatementArgs{ByteMatchStatement: &wafv2.WebAclRuleStatementByteMatchStatementArgs{
			FieldToMatch:         field,
			PositionalConstraint: pulumi.String("EXACTLY"),
			SearchString:         pulumi.String(value),
			TextTransformations: wafv2.WebAclRuleStatementByteMatchStatementTextTransformationArray{
				&wafv2.WebAclRuleStatementByteMatchStatementTextTransformationArgs{Priority: pulumi.Int(0), Type: pulumi.String("NONE")},
			},
		}}
	}
	rules := wafv2.WebAclRuleArray{
		&wafv2.WebAclRuleArgs{
			Name:     pulumi.String(RuleOrdersRatePerAddress),
			Priority: pulumi.Int(0),
			Action:   tooMany,
			Statement: &wafv2.WebAclRuleStatementArgs{RateBasedStatement: &wafv2.WebAclRuleStatementRateBasedStatementArgs{
				AggregateKeyType:    pulumi.String("IP"),
				Limit:               pulumi.Int(a.Rates.OrdersPerAddress),
				EvaluationWindowSec: pulumi.Int(a.Rates.WindowSeconds),
				ScopeDownStatement: &wafv2.WebAclRuleStatementRateBasedStatementScopeDownStatementArgs{
					AndStatement: &wafv2.WebAclRuleStatementRateBasedStatementScopeDownStatementAndStatementArgs{
						Statements: wafv2.WebAclRuleStatementArray{
							exactly(&wafv2.WebAclRuleStatementByteMatchStatementFieldToMatchArgs{Method: &wafv2.WebAclRuleStatementByteMatchStatementFieldToMatchMethodArgs{}}, "POST"),
							exactly(&wafv2.WebAclRuleStatementByteMatchStatementFieldToMatchArgs{UriPath: &wafv2.WebAclRuleStatementByteMatchStatementFieldToMatchUriPathArgs{}}, "/orders"),
						},
					},
				},
			}},
			VisibilityConfig: visible(RuleOrdersRatePerAddress),
		},
		&wafv2.WebAclRuleArgs{
			Name:     pulumi.String(RuleRatePerAddress),
			Priority: pulumi.Int(1),
			Action:   tooMany,
			Statement: &wafv2.WebAclRuleStatementArgs{RateBasedStatement: &wafv2.WebAclRuleStatementRateBasedStatementArgs{
				AggregateKeyType:    pulumi.String("IP"),
				Limit:               pulumi.Int(a.Rates.PerAddress),
				EvaluationWindowSec: pulumi.Int(a.Rates.WindowSeconds),
			}},
			VisibilityConfig: visible(RuleRatePerAddress),
		},
	}
	for i, group := range ManagedRuleGroups {
		statement := &wafv2.WebAclRuleStatementManagedRuleGroupStatementArgs{
			VendorName: pulumi.String("AWS"),
			Name:       pulumi.String(group),
		}
		if group == "AWSManagedRulesCommonRuleSet" {
			// The rule set blocks bodies over 8 KB; the image route takes base64 images of
			// up to 5 MiB, whose size the function checks (413). Counted, not blocked.
			statement.RuleActionOverrides = wafv2.WebAclRuleStatementManagedRuleGroupStatementRuleActionOverrideArray{
				&wafv2.WebAclRuleStatementManagedRuleGroupStatementRuleActionOverrideArgs{
					Name: pulumi.String("SizeRestrictions_BODY"),
					ActionToUse: &wafv2.WebAclRuleStatementManagedRuleGroupStatementRuleActionOverrideActionToUseArgs{
						Count: &wafv2.WebAclRuleStatementManagedRuleGroupStatementRuleActionOverrideActionToUseCountArgs{},
					},
				},
			}
		}
		rules = append(rules, &wafv2.WebAclRuleArgs{
			Name:             pulumi.String(group),
			Priority:         pulumi.Int(2 + i),
			OverrideAction:   &wafv2.WebAclRuleOverrideActionArgs{None: &wafv2.WebAclRuleOverrideActionNoneArgs{}},
			Statement:        &wafv2.WebAclRuleStatementArgs{ManagedRuleGroupStatement: statement},
			VisibilityConfig: visible(group),
		})
	}
	return rules
}

func (a *EdgeArgs) validate() error {
	var errs []error
	if a.Name == "" {
		errs = append(errs, errors.New("a name is required"))
	}
	if a.USEast1 == nil {
		errs = append(errs, errors.New("an aws provider for us-east-1 is required: CloudFront's web ACLs live there"))
	}
	if a.OriginURL == nil || a.OriginSecret == nil || a.OriginHeader == "" {
		errs = append(errs, errors.New("the origin URL, header and secret are required"))
	}
	r := a.Rates
	if !slices.Contains(windows, r.WindowSeconds) {
		errs = append(errs, fmt.Errorf("rate window %d s is not one of %v", r.WindowSeconds, windows))
	}
	// AWS WAF's bounds of a rate-based rule's limit.
	for _, l := range []int{r.PerAddress, r.OrdersPerAddress} {
		if l < 10 || l > 2_000_000_000 {
			errs = append(errs, fmt.Errorf("rate limit %d must be 10..2000000000", l))
		}
	}
	if r.OrdersPerAddress > r.PerAddress {
		errs = append(errs, fmt.Errorf("the checkout rate %d must not exceed the rate of every route %d", r.OrdersPerAddress, r.PerAddress))
	}
	if a.RateLimitedBody == "" {
		errs = append(errs, errors.New("the rate-limited response body is required"))
	}
	if err := bucket.CheckPriceClass(a.PriceClass); err != nil {
		errs = append(errs, err)
	}
	if err := a.Domain.Validate(); err != nil {
		errs = append(errs, err)
	}
	if a.LogRetentionDays < 1 {
		errs = append(errs, errors.New("WAF logs need a retention (LogRetentionDays of at least 1)"))
	}
	if l := a.AccessLogs; l != nil && (l.BucketName == nil || l.DomainName == nil) {
		errs = append(errs, errors.New("access logs need the log bucket's name and domain name"))
	}
	return errors.Join(errs...)
}
