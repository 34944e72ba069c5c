package bucket

import (
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/s3"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/shop-serverless/shop/components/internal/privatebucket"
)

// private is what the images and log buckets share beyond privatebucket's settings:
// versioning on or suspended, and protection of the data.
type private struct {
	BucketName string
	Versioning bool
	// Ownership is privatebucket.NoACLs unless a writer needs ACLs.
	Ownership string
	Protect   bool
	Tags      pulumi.StringMapInput
}

// declarePrivate declares a private bucket and its versioning; a lifecycle must wait for the
// versioning.
func declarePrivate(ctx *pulumi.Context, name string, p private, parent pulumi.ResourceOption) (*privatebucket.Bucket, *s3.BucketVersioningV2, error) {
	var dataOpts []pulumi.ResourceOption
	if p.Protect {
		dataOpts = append(dataOpts, pulumi.Protect(true), pulumi.RetainOnDelete(true))
	}
	bucketArgs := &s3.BucketV2Args{Tags: p.Tags}
	if p.BucketName != "" {
		bucketArgs.Bucket = pulumi.String(p.BucketName)
	}
	bkt, err := privatebucket.Declare(ctx, name, bucketArgs, p.Ownership, parent, dataOpts...)
	if err != nil {
		return nil, nil, err
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
		return nil, nil, err
	}
	return bkt, versioning, nil
}
