// Package bucket declares the shop's private images bucket and the CloudFront distribution
// that serves it. Browsers read images only through CloudFront (origin access control);
// admins upload from the browser with presigned POST policies, which is what the bucket's
// CORS rule allows.
package bucket

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudfront"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/s3"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/shop-serverless/shop/components/cors"
	"github.com/shop-serverless/shop/components/internal/privatebucket"
)

// cachingOptimized is CloudFront's managed "CachingOptimized" cache policy.
const cachingOptimized = "658327ea-f89d-4fab-a63d-7e88639e58f6"

// BucketArgs configures a Bucket.
type BucketArgs struct {
	// BucketName is the physical name; empty: Pulumi's auto-name (globally unique).
	BucketName string
	// Versioning keeps overwritten and deleted images recoverable.
	Versioning bool
	// NoncurrentVersionDays expires overwritten versions after this many days; 0: keep them.
	NoncurrentVersionDays int
	// AbortIncompleteUploadDays aborts unfinished multipart uploads; 0 means 1 day.
	AbortIncompleteUploadDays int
	// CORSOrigins may POST presigned uploads from a browser; none and no SiteOrigin: no CORS
	// rule.
	CORSOrigins []string
	// SiteOrigin is the storefront's origin, allowed beside CORSOrigins; nil: none.
	SiteOrigin pulumi.StringInput
	// ServedPrefix is the only key prefix CloudFront may read ("products/"); empty: every key.
	ServedPrefix string
	// UploadPrefix is where browser uploads wait for their check; what is left there (an
	// upload the check could not finish) expires after a day. Empty: no such prefix.
	UploadPrefix string
	// PriceClass is the CloudFront price class; empty: PriceClass_100 (cheapest).
	PriceClass string
	// Protect marks the bucket protect and retain-on-delete, so `pulumi destroy` cannot take
	// the images.
	Protect bool
	// AccessLogs, when set, receives the bucket's server access logs and the distribution's
	// standard logs.
	AccessLogs *AccessLogs
	// Tags are added to the bucket and the distribution.
	Tags pulumi.StringMapInput
}

// Bucket is the images bucket and its CDN.
type Bucket struct {
	pulumi.ResourceState

	BucketName      pulumi.StringOutput `pulumi:"bucketName"`
	Arn             pulumi.StringOutput `pulumi:"arn"`
	DistributionArn pulumi.StringOutput `pulumi:"distributionArn"`
	DistributionID  pulumi.StringOutput `pulumi:"distributionId"`
	// BaseURL is the public base URL of images, "https://<distribution domain>", no trailing slash.
	BaseURL pulumi.StringOutput `pulumi:"baseUrl"`
	// UploadOrigin is the origin browsers post presigned uploads to, the bucket's regional
	// endpoint.
	UploadOrigin pulumi.StringOutput `pulumi:"uploadOrigin"`
}

// NewBucket declares the bucket, its protections and its distribution.
func NewBucket(ctx *pulumi.Context, name string, args *BucketArgs, opts ...pulumi.ResourceOption) (*Bucket, error) {
	if args == nil {
		args = &BucketArgs{}
	}
	a := *args
	if a.AbortIncompleteUploadDays == 0 {
		a.AbortIncompleteUploadDays = 1
	}
	if a.PriceClass == "" {
		a.PriceClass = CheapestPriceClass
	}
	if err := a.validate(); err != nil {
		return nil, fmt.Errorf("bucket %q: %w", name, err)
	}

	b := &Bucket{}
	if err := ctx.RegisterComponentResource("shop:bucket:Bucket", name, b, opts...); err != nil {
		return nil, fmt.Errorf("bucket %q: %w", name, err)
	}
	if err := b.declare(ctx, name, &a); err != nil {
		return nil, fmt.Errorf("bucket %q: %w", name, err)
	}
	if err := ctx.RegisterResourceOutputs(b, pulumi.Map{
		"bucketName":      b.BucketName,
		"arn":             b.Arn,
		"distributionArn": b.DistributionArn,
		"distributionId":  b.DistributionID,
		"baseUrl":         b.BaseURL,
		"uploadOrigin":    b.UploadOrigin,
	}); err != nil {
		return nil, fmt.Errorf("bucket %q: %w", name, err)
	}
	return b, nil
}

func (b *Bucket) declare(ctx *pulumi.Context, name string, a *BucketArgs) error {
	parent := pulumi.Parent(b)
	bkt, versioning, err := declarePrivate(ctx, name, private{
		BucketName: a.BucketName, Versioning: a.Versioning, Ownership: privatebucket.NoACLs, Protect: a.Protect, Tags: a.Tags,
	}, parent)
	if err != nil {
		return err
	}
	if err := a.AccessLogs.S3(ctx, name, bkt.ID(), parent); err != nil {
		return err
	}
	rules := s3.BucketLifecycleConfigurationV2RuleArray{
		&s3.BucketLifecycleConfigurationV2RuleArgs{
			Id:     pulumi.String("abort-incomplete-uploads"),
			Status: pulumi.String("Enabled"),
			Filter: &s3.BucketLifecycleConfigurationV2RuleFilterArgs{},
			AbortIncompleteMultipartUpload: &s3.BucketLifecycleConfigurationV2RuleAbortIncompleteMultipartUploadArgs{
				DaysAfterInitiation: pulumi.Int(a.AbortIncompleteUploadDays),
			},
		},
	}
	if a.Versioning && a.NoncurrentVersionDays > 0 {
		rules = append(rules, &s3.BucketLifecycleConfigurationV2RuleArgs{
			Id:     pulumi.String("expire-noncurrent-versions"),
			Status: pulumi.String("Enabled"),
			Filter: &s3.BucketLifecycleConfigurationV2RuleFilterArgs{},
			NoncurrentVersionExpiration: &s3.BucketLifecycleConfigurationV2RuleNoncurrentVersionExpirationArgs{
				NoncurrentDays: pulumi.Int(a.NoncurrentVersionDays),
			},
		})
	}
	if a.UploadPrefix != "" {
		rules = append(rules, &s3.BucketLifecycleConfigurationV2RuleArgs{
			Id:         pulumi.String("expire-unchecked-uploads"),
			Status:     pulumi.String("Enabled"),
			Filter:     &s3.BucketLifecycleConfigurationV2RuleFilterArgs{Prefix: pulumi.String(a.UploadPrefix)},
			Expiration: &s3.BucketLifecycleConfigurationV2RuleExpirationArgs{Days: pulumi.Int(1)},
		})
	}
	// The lifecycle configuration waits for versioning: S3 validates rules against it.
	if _, err := s3.NewBucketLifecycleConfigurationV2(ctx, name+"-lifecycle", &s3.BucketLifecycleConfigurationV2Args{
		Bucket: bkt.ID(),
		Rules:  rules,
	}, parent, pulumi.DependsOn([]pulumi.Resource{versioning})); err != nil {
		return err
	}
	if len(a.CORSOrigins) > 0 || a.SiteOrigin != nil {
		origins := pulumi.ToStringArray(a.CORSOrigins)
		if a.SiteOrigin != nil {
			origins = append(origins, a.SiteOrigin)
		}
		if _, err := s3.NewBucketCorsConfigurationV2(ctx, name+"-cors", &s3.BucketCorsConfigurationV2Args{
			Bucket: bkt.ID(),
			CorsRules: s3.BucketCorsConfigurationV2CorsRuleArray{
				&s3.BucketCorsConfigurationV2CorsRuleArgs{
					Id:             pulumi.String("presigned-uploads"),
					AllowedMethods: pulumi.ToStringArray([]string{"POST"}),
					AllowedOrigins: origins,
					AllowedHeaders: pulumi.ToStringArray([]string{"content-type"}),
					ExposeHeaders:  pulumi.ToStringArray([]string{"etag"}),
					MaxAgeSeconds:  pulumi.Int(3600),
				},
			},
		}, parent); err != nil {
			return err
		}
	}

	oac, err := privatebucket.OriginAccessControl(ctx, name, "CloudFront reads the private images bucket", parent)
	if err != nil {
		return err
	}
	const originID = "images-bucket"
	cdnArgs := &cloudfront.DistributionArgs{
		Enabled:       pulumi.Bool(true),
		Comment:       pulumi.String("shop images"),
		HttpVersion:   pulumi.String("http2and3"),
		IsIpv6Enabled: pulumi.Bool(true),
		PriceClass:    pulumi.String(a.PriceClass),
		Origins: cloudfront.DistributionOriginArray{
			&cloudfront.DistributionOriginArgs{
				OriginId:              pulumi.String(originID),
				DomainName:            bkt.BucketRegionalDomainName,
				OriginAccessControlId: oac.ID(),
			},
		},
		DefaultCacheBehavior: &cloudfront.DistributionDefaultCacheBehaviorArgs{
			TargetOriginId:       pulumi.String(originID),
			ViewerProtocolPolicy: pulumi.String("https-only"),
			AllowedMethods:       pulumi.ToStringArray([]string{"GET", "HEAD"}),
			CachedMethods:        pulumi.ToStringArray([]string{"GET", "HEAD"}),
			CachePolicyId:        pulumi.String(cachingOptimized),
			Compress:             pulumi.Bool(true),
		},
		Restrictions: &cloudfront.DistributionRestrictionsArgs{
			GeoRestriction: &cloudfront.DistributionRestrictionsGeoRestrictionArgs{RestrictionType: pulumi.String("none")},
		},
		ViewerCertificate: &cloudfront.DistributionViewerCertificateArgs{CloudfrontDefaultCertificate: pulumi.Bool(true)},
		LoggingConfig:     a.AccessLogs.CloudFront(name),
		Tags:              a.Tags,
	}
	cdn, err := cloudfront.NewDistribution(ctx, name+"-cdn", cdnArgs, parent)
	if err != nil {
		return err
	}

	if err := bkt.Policy(ctx, name, parent,
		privatebucket.CloudFrontMay("AllowCloudFrontRead", cdn.Arn, []string{"s3:GetObject"}, pulumi.Sprintf("%s/%s*", bkt.Arn, a.ServedPrefix)),
	); err != nil {
		return err
	}

	b.BucketName = bkt.Bucket
	b.Arn = bkt.Arn
	b.DistributionArn = cdn.Arn
	b.DistributionID = cdn.ID().ToStringOutput()
	b.BaseURL = pulumi.Sprintf("https://%s", cdn.DomainName)
	b.UploadOrigin = pulumi.Sprintf("https://%s", bkt.BucketRegionalDomainName)
	return nil
}

func (a *BucketArgs) validate() error {
	var errs []error
	if a.NoncurrentVersionDays < 0 || a.AbortIncompleteUploadDays < 0 {
		errs = append(errs, errors.New("lifecycle days must not be negative"))
	}
	if err := CheckPriceClass(a.PriceClass); err != nil {
		errs = append(errs, err)
	}
	for _, p := range []string{a.ServedPrefix, a.UploadPrefix} {
		if p != "" && (!strings.HasSuffix(p, "/") || strings.ContainsAny(p, "*?")) {
			errs = append(errs, fmt.Errorf("prefix %q must end with / and hold no wildcard", p))
		}
	}
	if a.UploadPrefix != "" && a.UploadPrefix == a.ServedPrefix {
		errs = append(errs, errors.New("uploads must not land where CloudFront serves"))
	}
	for _, o := range a.CORSOrigins {
		if err := cors.CheckOrigin(o); err != nil {
			errs = append(errs, fmt.Errorf("CORS origin %w", err))
		}
	}
	return errors.Join(errs...)
}

// CheapestPriceClass is every distribution's default price class: the fewest edge locations.
const CheapestPriceClass = "PriceClass_100"

// PriceClasses are CloudFront's price classes, from the cheapest.
var PriceClasses = []string{CheapestPriceClass, "PriceClass_200", "PriceClass_All"}

// CheckPriceClass refuses what is not one of the PriceClasses.
func CheckPriceClass(pc string) error {
	if !slices.Contains(PriceClasses, pc) {
		return fmt.Errorf("price class %q must be one of %s", pc, strings.Join(PriceClasses, ", "))
	}
	return nil
}
