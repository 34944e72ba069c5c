package site

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudfront"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/s3"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/shop-serverless/shop/storefront/hosting"
)

// maxStoredValue is the largest value a CloudFront key value store holds, in bytes.
const maxStoredValue = 1024

// Origins are the origins the Content-Security-Policy allows besides the site's own; each
// is "scheme://host[:port]", empty to allow none for that role (see hosting.Origins).
type Origins struct {
	API, Images, Uploads, Cognito pulumi.StringInput
}

// ContentArgs configures a Content.
type ContentArgs struct {
	// Site is where the content is served.
	Site *Site
	// Dir is the built app (Vite's dist/); it must hold index.html. A config.json in it is
	// replaced by Config.
	Dir string
	// Config is config.json, built from the stack's outputs (hosting.Config.Marshal).
	Config pulumi.StringInput
	// Origins are what the Content-Security-Policy allows.
	Origins Origins
}

// Content is the storefront as served by a Site: every file of the build, config.json and
// the Content-Security-Policy.
type Content struct {
	pulumi.ResourceState

	// Files are the uploaded keys in upload order, config.json last.
	Files []string
	// ContentSecurityPolicy is the policy the site's viewer-response function sets.
	ContentSecurityPolicy pulumi.StringOutput `pulumi:"contentSecurityPolicy"`
}

// file is one file of the build to upload.
type file struct {
	key, path, sha256 string
}

// NewContent uploads the build and config.json to the site's bucket and stores the
// Content-Security-Policy. The same build gives the same resources: files in lexical order,
// named by key, their content hash as sourceHash, nothing taken from the clock.
func NewContent(ctx *pulumi.Context, name string, args *ContentArgs, opts ...pulumi.ResourceOption) (*Content, error) {
	if args == nil || args.Site == nil || args.Config == nil {
		return nil, fmt.Errorf("content %q: a site and a config are required", name)
	}
	files, err := buildFiles(args.Dir)
	if err != nil {
		return nil, fmt.Errorf("content %q: %w", name, err)
	}
	c := &Content{}
	if err := ctx.RegisterComponentResource("shop:site:Content", name, c, opts...); err != nil {
		return nil, fmt.Errorf("content %q: %w", name, err)
	}
	if err := c.declare(ctx, name, args, files); err != nil {
		return nil, fmt.Errorf("content %q: %w", name, err)
	}
	if err := ctx.RegisterResourceOutputs(c, pulumi.Map{
		"contentSecurityPolicy": c.ContentSecurityPolicy,
	}); err != nil {
		return nil, fmt.Errorf("content %q: %w", name, err)
	}
	return c, nil
}

func (c *Content) declare(ctx *pulumi.Context, name string, a *ContentArgs, files []file) error {
	parent := pulumi.Parent(c)
	bucket := a.Site.BucketName
	// index.html goes up after the assets it names, so no shopper loads a page whose scripts
	// are not there yet.
	var assets []pulumi.Resource
	var index *file
	for i := range files {
		f := &files[i]
		if f.key == "index.html" {
			index = f
			continue
		}
		obj, err := c.upload(ctx, name, bucket, f, parent)
		if err != nil {
			return err
		}
		assets = append(assets, obj)
	}
	if _, err := c.upload(ctx, name, bucket, index, parent, pulumi.DependsOn(assets)); err != nil {
		return err
	}
	if _, err := s3.NewBucketObjectv2(ctx, name+"-"+hosting.ConfigFile, &s3.BucketObjectv2Args{
		Bucket:       bucket,
		Key:          pulumi.String(hosting.ConfigFile),
		Content:      a.Config,
		ContentType:  pulumi.String(hosting.ContentType(hosting.ConfigFile)),
		CacheControl: pulumi.String(hosting.CacheControl(hosting.ConfigFile)),
	}, parent); err != nil {
		return err
	}
	c.Files = append(c.Files, hosting.ConfigFile)

	o := a.Origins
	orEmpty := func(in pulumi.StringInput) pulumi.StringInput {
		if in == nil {
			return pulumi.String("")
		}
		return in
	}
	policy := pulumi.All(orEmpty(o.API), orEmpty(o.Images), orEmpty(o.Uploads), orEmpty(o.Cognito)).ApplyT(func(v []any) (string, error) {
		h, err := hosting.Security(hosting.Origins{API: v[0].(string), Images: v[1].(string), Uploads: v[2].(string), Cognito: v[3].(string)})
		if err == nil && len(h.ContentSecurityPolicy) > maxStoredValue {
			err = fmt.Errorf("the Content-Security-Policy of %d bytes: a key value store holds at most %d", len(h.ContentSecurityPolicy), maxStoredValue)
		}
		return h.ContentSecurityPolicy, err
	}).(pulumi.StringOutput)
	if _, err := cloudfront.NewKeyvaluestoreKey(ctx, name+"-csp", &cloudfront.KeyvaluestoreKeyArgs{
		KeyValueStoreArn: a.Site.SettingsArn,
		Key:              pulumi.String(hosting.CSPKey),
		Value:            policy,
	}, parent); err != nil {
		return err
	}
	c.ContentSecurityPolicy = policy
	return nil
}

func (c *Content) upload(ctx *pulumi.Context, name string, bucket pulumi.StringInput, f *file, opts ...pulumi.ResourceOption) (*s3.BucketObjectv2, error) {
	c.Files = append(c.Files, f.key)
	return s3.NewBucketObjectv2(ctx, name+"-"+f.key, &s3.BucketObjectv2Args{
		Bucket:       bucket,
		Key:          pulumi.String(f.key),
		Source:       pulumi.NewFileAsset(f.path),
		SourceHash:   pulumi.String(f.sha256),
		ContentType:  pulumi.String(hosting.ContentType(f.key)),
		CacheControl: pulumi.String(hosting.CacheControl(f.key)),
	}, opts...)
}

// buildFiles lists the build's regular files in lexical order with their hashes, leaving out
// a config.json at the root (the stage writes its own).
func buildFiles(dir string) ([]file, error) {
	if dir == "" {
		return nil, errors.New("no build directory")
	}
	if _, err := os.Stat(filepath.Join(dir, "index.html")); err != nil {
		return nil, fmt.Errorf("build directory %s has no index.html: %w", dir, err)
	}
	var files []file
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		key := filepath.ToSlash(rel)
		if key == hosting.ConfigFile {
			return nil
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(raw)
		files = append(files, file{key: key, path: path, sha256: hex.EncodeToString(sum[:])})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("build directory %s: %w", dir, err)
	}
	return files, nil
}
