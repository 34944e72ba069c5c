package bucket

import (
	"errors"
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudfront"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/s3"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/shop-serverless/shop/components/internal/iampolicy"
	"github.com/shop-serverless/shop/components/internal/privatebucket"
)

// Where each kind of access log lands in the log bucket, under "<prefix>/<source name>/".
const (
	ServerAccessLogsPrefix = "s3"
	CloudFrontLogsPrefix   = "cloudfront"
)

// LogBucketArgs configures a LogBucket.
type LogBucketArgs struct {
	// ExpireDays deletes logs (and, with versioning, their old versions) after this many days.
	ExpireDays int
	// Versioning keeps overwritten or deleted logs until they expire.
	Versioning bool
	// Protect marks the bucket protect and retain-on-delete.
	Protect bool
	// Tags are added to the bucket.
	Tags pulumi.StringMapInput
}

// LogBucket is the stack's private bucket for S3 server access logs and CloudFront standard
// logs. S3 log delivery writes through the bucket policy; CloudFront's standard logging
// writes with an ACL grant it adds itself, so the bucket keeps ACLs enabled
// (BucketOwnerPreferred: the bucket still owns every object).
type LogBucket struct {
	pulumi.ResourceState

	// BucketName is the bucket's name (a server access logging target).
	BucketName pulumi.StringOutput `pulumi:"bucketName"`
	Arn        pulumi.StringOutput `pulumi:"arn"`
	// DomainName is "<bucket>.s3.amazonaws.com", what CloudFront logging names.
	DomainName pulumi.StringOutput `pulumi:"domainName"`
}

// AccessLogs is where a bucket or distribution sends its access logs.
type AccessLogs struct {
	BucketName pulumi.StringInput
	DomainName pulumi.StringInput
}

// AccessLogs points a bucket or distribution (this stack's or another component's) at the
// log bucket.
func (l *LogBucket) AccessLogs() *AccessLogs {
	return &AccessLogs{BucketName: l.BucketName, DomainName: l.DomainName}
}

// CloudFront is a distribution's standard logging into the log bucket, under
// "cloudfront/<name>/"; nil without access logs.
func (l *AccessLogs) CloudFront(name string) *cloudfront.DistributionLoggingConfigArgs {
	if l == nil {
		return nil
	}
	return &cloudfront.DistributionLoggingConfigArgs{
		Bucket:         l.DomainName,
		Prefix:         pulumi.String(CloudFrontLogsPrefix + "/" + name + "/"),
		IncludeCookies: pulumi.Bool(false),
	}
}

// S3 declares name+"-access-logs": the bucket's server access logs into the log bucket,
// under "s3/<name>/"; nothing without access logs.
func (l *AccessLogs) S3(ctx *pulumi.Context, name string, bucket pulumi.StringInput, parent pulumi.ResourceOption) error {
	if l == nil {
		return nil
	}
	_, err := s3.NewBucketLoggingV2(ctx, name+"-access-logs", &s3.BucketLoggingV2Args{
		Bucket:       bucket,
		TargetBucket: l.BucketName,
		TargetPrefix: pulumi.Sprintf("%s/%s/", ServerAccessLogsPrefix, name),
	}, parent)
	return err
}

// NewLogBucket declares the log bucket.
func NewLogBucket(ctx *pulumi.Context, name string, args *LogBucketArgs, opts ...pulumi.ResourceOption) (*LogBucket, error) {
	if args == nil {
		return nil, fmt.Errorf("log bucket %q: args are required", name)
	}
	a := *args
	if a.ExpireDays < 1 {
		return nil, fmt.Errorf("log bucket %q: %w", name, errors.New("logs must expire: ExpireDays of at least 1"))
	}
	l := &LogBucket{}
	if err := ctx.RegisterComponentResource("shop:bucket:LogBucket", name, l, opts...); err != nil {
		return nil, fmt.Errorf("log bucket %q: %w", name, err)
	}
	if err := l.declare(ctx, name, &a); err != nil {
		return nil, fmt.Errorf("log bucket %q: %w", name, err)
	}
	if err := ctx.RegisterResourceOutputs(l, pulumi.Map{
		"bucketName": l.BucketName,
		"arn":        l.Arn,
		"domainName": l.DomainName,
	}); err != nil {
		return nil, fmt.Errorf("log bucket %q: %w", name, err)
	}
	return l, nil
}

func (l *LogBucket) declare(ctx *pulumi.Context, name string, a *LogBucketArgs) error {
	parent := pulumi.Parent(l)
	bkt, versioning, err := declarePrivate(ctx, name, private{
		Versioning: a.Versioning, Ownership: privatebucket.LogDeliveryACLs, Protect: a.Protect, Tags: a.Tags,
	}, parent)
	if err != nil {
		return err
	}
	expire := &s3.BucketLifecycleConfigurationV2RuleArgs{
		Id:         pulumi.String("expire-logs"),
		Status:     pulumi.String("Enabled"),
		Filter:     &s3.BucketLifecycleConfigurationV2RuleFilterArgs{},
		Expiration: &s3.BucketLifecycleConfigurationV2RuleExpirationArgs{Days: pulumi.Int(a.ExpireDays)},
		AbortIncompleteMultipartUpload: &s3.BucketLifecycleConfigurationV2RuleAbortIncompleteMultipartUploadArgs{
			DaysAfterInitiation: pulumi.Int(1),
		},
	}
	if a.Versioning {
		expire.NoncurrentVersionExpiration = &s3.BucketLifecycleConfigurationV2RuleNoncurrentVersionExpirationArgs{
			NoncurrentDays: pulumi.Int(a.ExpireDays),
		}
	}
	if _, err := s3.NewBucketLifecycleConfigurationV2(ctx, name+"-lifecycle", &s3.BucketLifecycleConfigurationV2Args{
		Bucket: bkt.ID(),
		Rules:  s3.BucketLifecycleConfigurationV2RuleArray{expire},
	}, parent, pulumi.DependsOn([]pulumi.Resource{versioning})); err != nil {
		return err
	}

	// S3 log delivery writes only server access logs, only for this account's buckets.
	account := aws.GetCallerIdentityOutput(ctx, aws.GetCallerIdentityOutputArgs{}).AccountId()
	if err := bkt.Policy(ctx, name, parent,
		iampolicy.Statement{
			Sid:        "S3ServerAccessLogs",
			Principal:  map[string][]string{"Service": {"logging.s3.amazonaws.com"}},
			Actions:    []string{"s3:PutObject"},
			Resources:  []pulumi.StringInput{pulumi.Sprintf("%s/%s/*", bkt.Arn, ServerAccessLogsPrefix)},
			Conditions: []iampolicy.Condition{iampolicy.SourceAccount(account)},
		},
	); err != nil {
		return err
	}

	l.BucketName = bkt.Bucket
	l.Arn = bkt.Arn
	l.DomainName = bkt.BucketDomainName
	return nil
}
