// Package privatebucket declares the parts every S3 bucket of the shop served by CloudFront
// shares: no ACLs, public access blocked, SSE-S3 by default, a policy that refuses plain HTTP
// and lets one distribution read through origin access control.
package privatebucket

import (
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudfront"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/s3"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/shop-serverless/shop/components/internal/iampolicy"
)

// Bucket is a private bucket and the public access block its policy must wait for.
type Bucket struct {
	*s3.BucketV2
	publicAccess *s3.BucketPublicAccessBlock
}

// Object ownership settings: NoACLs turns ACLs off, so the policy alone decides access;
// LogDeliveryACLs keeps them for CloudFront standard logging, which writes with an ACL grant.
const (
	NoACLs          = "BucketOwnerEnforced"
	LogDeliveryACLs = "BucketOwnerPreferred"
)

// Declare declares name+"-bucket" from args (with bucketOpts besides parent, e.g. protect)
// and, under parent, name+"-public-access", name+"-ownership" (ownership: NoACLs or
// LogDeliveryACLs) and name+"-encryption" (SSE-S3, which CloudFront's origin access control
// reads and S3 and CloudFront log delivery write without a key policy; log delivery cannot
// use SSE-KMS).
func Declare(ctx *pulumi.Context, name string, args *s3.BucketV2Args, ownership string, parent pulumi.ResourceOption, bucketOpts ...pulumi.ResourceOption) (*Bucket, error) {
	bkt, err := s3.NewBucketV2(ctx, name+"-bucket", args, append([]pulumi.ResourceOption{parent}, bucketOpts...)...)
	if err != nil {
		return nil, err
	}
	pab, err := s3.NewBucketPublicAccessBlock(ctx, name+"-public-access", &s3.BucketPublicAccessBlockArgs{
		Bucket:                bkt.ID(),
		BlockPublicAcls:       pulumi.Bool(true),
		BlockPublicPolicy:     pulumi.Bool(true),
		IgnorePublicAcls:      pulumi.Bool(true),
		RestrictPublicBuckets: pulumi.Bool(true),
	}, parent)
	if err != nil {
		return nil, err
	}
	if _, err := s3.NewBucketOwnershipControls(ctx, name+"-ownership", &s3.BucketOwnershipControlsArgs{
		Bucket: bkt.ID(),
		Rule:   &s3.BucketOwnershipControlsRuleArgs{ObjectOwnership: pulumi.String(ownership)},
	}, parent); err != nil {
		return nil, err
	}
	if _, err := s3.NewBucketServerSideEncryptionConfigurationV2(ctx, name+"-encryption", &s3.BucketServerSideEncryptionConfigurationV2Args{
		Bucket: bkt.ID(),
		Rules: s3.BucketServerSideEncryptionConfigurationV2RuleArray{
			&s3.BucketServerSideEncryptionConfigurationV2RuleArgs{
				ApplyServerSideEncryptionByDefault: &s3.BucketServerSideEncryptionConfigurationV2RuleApplyServerSideEncryptionByDefaultArgs{
					SseAlgorithm: pulumi.String("AES256"),
				},
			},
		},
	}, parent); err != nil {
		return nil, err
	}
	return &Bucket{BucketV2: bkt, publicAccess: pab}, nil
}

// Objects is the ARN pattern of every object of the bucket.
func (b *Bucket) Objects() pulumi.StringOutput {
	return pulumi.Sprintf("%s/*", b.Arn)
}

// CloudFrontMay lets the distribution, and no other, call actions on resources.
func CloudFrontMay(sid string, distributionArn pulumi.StringInput, actions []string, resources ...pulumi.StringInput) iampolicy.Statement {
	return iampolicy.Statement{
		Sid:        sid,
		Principal:  map[string][]string{"Service": {"cloudfront.amazonaws.com"}},
		Actions:    actions,
		Resources:  resources,
		Conditions: []iampolicy.Condition{{Test: "StringEquals", Variable: "AWS:SourceArn", Values: []pulumi.StringInput{distributionArn}}},
	}
}

// Policy declares name+"-policy": plain HTTP denied to everyone, then the statements. It
// waits for the public access block so S3 never sees it on an unblocked bucket.
func (b *Bucket) Policy(ctx *pulumi.Context, name string, parent pulumi.ResourceOption, statements ...iampolicy.Statement) error {
	deny := iampolicy.Statement{
		Sid:          "DenyInsecureTransport",
		Effect:       "Deny",
		AnyPrincipal: true,
		Actions:      []string{"s3:*"},
		Resources:    []pulumi.StringInput{b.Arn, b.Objects()},
		Conditions:   []iampolicy.Condition{{Test: "Bool", Variable: "aws:SecureTransport", Values: iampolicy.Strings("false")}},
	}
	_, err := s3.NewBucketPolicy(ctx, name+"-policy", &s3.BucketPolicyArgs{
		Bucket: b.ID(),
		Policy: iampolicy.Document(append([]iampolicy.Statement{deny}, statements...)...),
	}, parent, pulumi.DependsOn([]pulumi.Resource{b.publicAccess}))
	return err
}

// OriginAccessControl declares name+"-oac": CloudFront signs every request to the bucket.
func OriginAccessControl(ctx *pulumi.Context, name, description string, parent pulumi.ResourceOption) (*cloudfront.OriginAccessControl, error) {
	return cloudfront.NewOriginAccessControl(ctx, name+"-oac", &cloudfront.OriginAccessControlArgs{
		Description:                   pulumi.String(description),
		OriginAccessControlOriginType: pulumi.String("s3"),
		SigningBehavior:               pulumi.String("always"),
		SigningProtocol:               pulumi.String("sigv4"),
	}, parent)
}
