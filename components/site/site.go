// Package site declares where the storefront is served from and what is served: Site is a
// private S3 bucket behind a CloudFront distribution (origin access control, HTTPS only,
// HTTP/2 and 3, compression, the security headers and SPA routing of storefront/hosting);
// Content is the built app's files, the stage's config.json and the Content-Security-Policy.
//
// They are two components because the stack's other parts sit between them: the API's CORS
// rule, the images bucket's upload CORS rule and the sign-in client's callback URLs need the
// site's origin, which exists once the distribution does, while config.json and the
// Content-Security-Policy need the API, images and sign-in origins. The policy therefore
// lives in the distribution's key value store, read by a viewer-response function, rather
// than in the response-headers policy the distribution is created with.
package site

import (
	"errors"
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudfront"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/s3"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/shop-serverless/shop/components/bucket"
	"github.com/shop-serverless/shop/components/internal/cdn"
	"github.com/shop-serverless/shop/components/internal/privatebucket"
	"github.com/shop-serverless/shop/storefront/hosting"
)

// cachingOptimized is CloudFront's managed "CachingOptimized" cache policy: no cookies, no
// query strings, compressed variants cached; files say how long through Cache-Control.
const cachingOptimized = "658327ea-f89d-4fab-a63d-7e88639e58f6"

// Domain is a custom domain for the site.
type Domain = cdn.Domain

// SiteArgs configures a Site.
type SiteArgs struct {
	// Domain is an optional custom domain; nil: the distribution's own domain.
	Domain *Domain
	// PriceClass is the CloudFront price class; empty: PriceClass_100.
	PriceClass string
	// AccessLogs, when set, turns on the bucket's server access logs and the distribution's
	// standard logs.
	AccessLogs *bucket.AccessLogs
	// Tags are added to the bucket and the distribution.
	Tags pulumi.StringMapInput
}

// Site is the storefront's bucket and distribution.
type Site struct {
	pulumi.ResourceState

	BucketName      pulumi.StringOutput `pulumi:"bucketName"`
	DistributionArn pulumi.StringOutput `pulumi:"distributionArn"`
	DistributionID  pulumi.StringOutput `pulumi:"distributionId"`
	// Origin is where shoppers open the site, "https://<custom or distribution domain>".
	Origin pulumi.StringOutput `pulumi:"origin"`
	// SettingsArn is the key value store the viewer-response function reads the
	// Content-Security-Policy from.
	SettingsArn pulumi.StringOutput `pulumi:"settingsArn"`
}

// NewSite declares the bucket, its protections, the CloudFront functions, the headers policy
// and the distribution.
func NewSite(ctx *pulumi.Context, name string, args *SiteArgs, opts ...pulumi.ResourceOption) (*Site, error) {
	if args == nil {
		args = &SiteArgs{}
	}
	a := *args
	if a.PriceClass == "" {
		a.PriceClass = bucket.CheapestPriceClass
	}
	if err := a.validate(); err != nil {
		return nil, fmt.Errorf("site %q: %w", name, err)
	}
	s := &Site{}
	if err := ctx.RegisterComponentResource("shop:site:Site", name, s, opts...); err != nil {
		return nil, fmt.Errorf("site %q: %w", name, err)
	}
	if err := s.declare(ctx, name, &a); err != nil {
		return nil, fmt.Errorf("site %q: %w", name, err)
	}
	if err := ctx.RegisterResourceOutputs(s, pulumi.Map{
		"bucketName":      s.BucketName,
		"distributionArn": s.DistributionArn,
		"distributionId":  s.DistributionID,
		"origin":          s.Origin,
		"settingsArn":     s.SettingsArn,
	}); err != nil {
		return nil, fmt.Errorf("site %q: %w", name, err)
	}
	return s, nil
}

func (s *Site) declare(ctx *pulumi.Context, name string, a *SiteArgs) error {
	parent := pulumi.Parent(s)
	bkt, err := privatebucket.Declare(ctx, name, &s3.BucketV2Args{Tags: a.Tags}, privatebucket.NoACLs, parent)
	if err != nil {
		return err
	}
	if err := a.AccessLogs.S3(ctx, name, bkt.ID(), parent); err != nil {
		return err
	}

	routing, err := cloudfront.NewFunction(ctx, name+"-routing", &cloudfront.FunctionArgs{
		Runtime: pulumi.String(hosting.FunctionRuntime),
		Comment: pulumi.String("storefront SPA routing: page paths to /index.html"),
		Code:    pulumi.String(hosting.ViewerRequestFunction),
		Publish: pulumi.Bool(true),
	}, parent)
	if err != nil {
		return err
	}
	settings, err := cloudfront.NewKeyValueStore(ctx, name+"-settings", &cloudfront.KeyValueStoreArgs{
		Comment: pulumi.String("storefront Content-Security-Policy"),
	}, parent)
	if err != nil {
		return err
	}
	csp, err := cloudfront.NewFunction(ctx, name+"-csp", &cloudfront.FunctionArgs{
		Runtime:                   pulumi.String(hosting.FunctionRuntime),
		Comment:                   pulumi.String("storefront Content-Security-Policy from the key value store"),
		Code:                      pulumi.String(hosting.ViewerResponseFunction),
		Publish:                   pulumi.Bool(true),
		KeyValueStoreAssociations: pulumi.StringArray{settings.Arn},
	}, parent)
	if err != nil {
		return err
	}

	// Every field of the shared rules except the Content-Security-Policy, which csp sets.
	h, err := hosting.Security(hosting.Origins{})
	if err != nil {
		return err
	}
	headers, err := cloudfront.NewResponseHeadersPolicy(ctx, name+"-headers", &cloudfront.ResponseHeadersPolicyArgs{
		Comment: pulumi.String("storefront security headers"),
		SecurityHeadersConfig: &cloudfront.ResponseHeadersPolicySecurityHeadersConfigArgs{
			StrictTransportSecurity: &cloudfront.ResponseHeadersPolicySecurityHeadersConfigStrictTransportSecurityArgs{
				AccessControlMaxAgeSec: pulumi.Int(h.HSTSMaxAge),
				IncludeSubdomains:      pulumi.Bool(true),
				Override:               pulumi.Bool(true),
			},
			ContentTypeOptions: &cloudfront.ResponseHeadersPolicySecurityHeadersConfigContentTypeOptionsArgs{
				Override: pulumi.Bool(true),
			},
			FrameOptions: &cloudfront.ResponseHeadersPolicySecurityHeadersConfigFrameOptionsArgs{
				FrameOption: pulumi.String(h.FrameOptions),
				Override:    pulumi.Bool(true),
			},
			ReferrerPolicy: &cloudfront.ResponseHeadersPolicySecurityHeadersConfigReferrerPolicyArgs{
				ReferrerPolicy: pulumi.String(h.ReferrerPolicy),
				Override:       pulumi.Bool(true),
			},
		},
	}, parent)
	if err != nil {
		return err
	}

	oac, err := privatebucket.OriginAccessControl(ctx, name, "CloudFront reads the private storefront bucket", parent)
	if err != nil {
		return err
	}
	const originID = "site-bucket"
	cdnArgs := &cloudfront.DistributionArgs{
		Enabled:           pulumi.Bool(true),
		Comment:           pulumi.String("shop storefront"),
		HttpVersion:       pulumi.String("http2and3"),
		IsIpv6Enabled:     pulumi.Bool(true),
		PriceClass:        pulumi.String(a.PriceClass),
		DefaultRootObject: pulumi.String("index.html"),
		Origins: cloudfront.DistributionOriginArray{
			&cloudfront.DistributionOriginArgs{
				OriginId:              pulumi.String(originID),
				DomainName:            bkt.BucketRegionalDomainName,
				OriginAccessControlId: oac.ID(),
			},
		},
		DefaultCacheBehavior: &cloudfront.DistributionDefaultCacheBehaviorArgs{
			TargetOriginId:          pulumi.String(originID),
			ViewerProtocolPolicy:    pulumi.String("redirect-to-https"),
			AllowedMethods:          pulumi.ToStringArray([]string{"GET", "HEAD"}),
			CachedMethods:           pulumi.ToStringArray([]string{"GET", "HEAD"}),
			CachePolicyId:           pulumi.String(cachingOptimized),
			ResponseHeadersPolicyId: headers.ID(),
			Compress:                pulumi.Bool(true),
			FunctionAssociations: cloudfront.DistributionDefaultCacheBehaviorFunctionAssociationArray{
				&cloudfront.DistributionDefaultCacheBehaviorFunctionAssociationArgs{EventType: pulumi.String("viewer-request"), FunctionArn: routing.Arn},
				&cloudfront.DistributionDefaultCacheBehaviorFunctionAssociationArgs{EventType: pulumi.String("viewer-response"), FunctionArn: csp.Arn},
			},
		},
		Restrictions: &cloudfront.DistributionRestrictionsArgs{
			GeoRestriction: &cloudfront.DistributionRestrictionsGeoRestrictionArgs{RestrictionType: pulumi.String("none")},
		},
		Aliases:           a.Domain.Aliases(),
		ViewerCertificate: a.Domain.ViewerCertificate(),
		LoggingConfig:     a.AccessLogs.CloudFront(name),
		Tags:              a.Tags,
	}
	cdn, err := cloudfront.NewDistribution(ctx, name+"-cdn", cdnArgs, parent)
	if err != nil {
		return err
	}

	if err := a.Domain.AliasRecords(ctx, name, cdn, parent); err != nil {
		return err
	}

	// CloudFront may read objects and list the bucket, so a missing file is S3's 404 rather
	// than its 403; the viewer-request function and the cache policy (no query strings) keep
	// viewers from ever asking for a listing.
	if err := bkt.Policy(ctx, name, parent,
		privatebucket.CloudFrontMay("AllowCloudFrontRead", cdn.Arn, []string{"s3:GetObject"}, bkt.Objects()),
		privatebucket.CloudFrontMay("AllowCloudFrontNotFound", cdn.Arn, []string{"s3:ListBucket"}, bkt.Arn),
	); err != nil {
		return err
	}

	s.BucketName = bkt.Bucket
	s.DistributionArn = cdn.Arn
	s.DistributionID = cdn.ID().ToStringOutput()
	s.Origin = a.Domain.Origin(cdn)
	s.SettingsArn = settings.Arn
	return nil
}

func (a *SiteArgs) validate() error {
	var errs []error
	if err := bucket.CheckPriceClass(a.PriceClass); err != nil {
		errs = append(errs, err)
	}
	if err := a.Domain.Validate(); err != nil {
		errs = append(errs, err)
	}
	if l := a.AccessLogs; l != nil && (l.BucketName == nil || l.DomainName == nil) {
		errs = append(errs, errors.New("access logs need the log bucket's name and domain name"))
	}
	return errors.Join(errs...)
}
