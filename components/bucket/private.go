package bucket

import (
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/s3"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/shop-serverless/shop/components/internal/iampolicy"
)

// private is what every bucket of the shop shares: no public access, default encryption,
// versioning on or suspended, and one object ownership setting.
type private struct {
	BucketName string
	Versioning bool
	// Ownership is BucketOwnerEnforced (no ACLs) unless a writer needs ACLs.
	Ownership string
	Protect   bool
	Tags      pulumi.StringMapInput
}

// declarePrivate declares a private bucket and the settings every shop bucket has. A bucket
// policy must wait for the returned public access block; a lifecycle for the versioning.
func declarePrivate(ctx *pulumi.Context, name string, p private, parent pulumi.ResourceOption) (*s3.BucketV2, *s3.BucketPublicAccessBlock, *s3.BucketVersioningV2, error) {
	dataOpts := []pulumi.ResourceOption{parent}
	if p.Protect {
		dataOpts = append(dataOpts, pulumi.Protect(true), pulumi.RetainOnDelete(true))
	}
	bucketArgs := &s3.BucketV2Args{Tags: p.Tags}
	if p.BucketName != "" {
		bucketArgs.Bucket = pulumi.String(p.BucketName)
	}
	bkt, err := s3.NewBucketV2(ctx, name+"-bucket", bucketArgs, dataOpts...)
	if err != nil {
		return nil, nil, nil, err
	}
	pab, err := s3.NewBucketPublicAccessBlock(ctx, name+"-public-access", &s3.BucketPublicAccessBlockArgs{
		Bucket:                bkt.ID(),
		BlockPublicAcls:       pulumi.Bool(true),
		BlockPublicPolicy:     pulumi.Bool(true),
		IgnorePublicAcls:      pulumi.Bool(true),
		RestrictPublicBuckets: pulumi.Bool(true),
	}, parent)
	if err != nil {
		return nil, nil, nil, err
	}
	if _, err := s3.NewBucketOwnershipControls(ctx, name+"-ownership", &s3.BucketOwnershipControlsArgs{
		Bucket: bkt.ID(),
		Rule:   &s3.BucketOwnershipControlsRuleArgs{ObjectOwnership: pulumi.String(p.Ownership)},
	}, parent); err != nil {
		return nil, nil, nil, err
	}
	if _, err := s3.NewBucketServerSideEncryptionConfigurationV2(ctx, name+"-encryption", &s3.BucketServerSideEncryptionConfigurationV2Args{
		Bucket: bkt.ID(),
		Rules: s3.BucketServerSideEncryptionConfigurationV2RuleArray{
			// SSE-S3: CloudFront's origin access control reads it, and S3 and CloudFront log
			// delivery write it, without a KMS key policy (log delivery cannot use SSE-KMS).
			&s3.BucketServerSideEncryptionConfigurationV2RuleArgs{
				ApplyServerSideEncryptionByDefault: &s3.BucketServerSideEncryptionConfigurationV2RuleApplyServerSideEncryptionByDefaultArgs{
					SseAlgorithm: pulumi.String("AES256"),
				},
			},
		},
	}, parent); err != nil {
		return nil, nil, nil, err
	}
	status := "Suspended"
	if p.Versioning {
		status = "Enabled"
	}
	versioning, err := s3.NewBucketVersioningV2(ctx, name+"-versioning", &s3.BucketVersioningV2Args{
		Bucket:                  bkt.ID(),
		VersioningConfiguration: &s3.BucketVersioningV2VersioningConfigurationArgs{Status: pulumi.String(status)},
	}, parent)
	if err != nil {
		return nil, nil, nil, err
	}
	return bkt, pab, versioning, nil
}

// denyInsecureTransport refuses every request to the bucket that does not use TLS.
func denyInsecureTransport(bkt *s3.BucketV2) iampolicy.Statement {
	return iampolicy.Statement{
		Sid:          "DenyInsecureTransport",
		Effect:       "Deny",
		AnyPrincipal: true,
		Actions:      []string{"s3:*"},
		Resources:    []pulumi.StringInput{bkt.Arn, pulumi.Sprintf("%s/*", bkt.Arn)},
		Conditions:   []iampolicy.Condition{{Test: "Bool", Variable: "aws:SecureTransport", Values: iampolicy.Strings("false")}},
	}
}
