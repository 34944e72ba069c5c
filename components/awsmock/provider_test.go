package awsmock

import (
	"regexp"
	"testing"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/wafv2"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// TestExplicitProviderRegion: a resource managed by an explicit provider lives in that
// provider's region, and its ARN says so; the others stay in the stack's region.
func TestExplicitProviderRegion(t *testing.T) {
	m := New("shop", "test")
	var aclArn string
	err := m.Run(func(ctx *pulumi.Context) error {
		east, err := aws.NewProvider(ctx, "us-east-1", &aws.ProviderArgs{Region: pulumi.String("us-east-1")})
		if err != nil {
			return err
		}
		acl, err := wafv2.NewWebAcl(ctx, "acl", &wafv2.WebAclArgs{
			Name:          pulumi.String("shop-test-edge"),
			Scope:         pulumi.String("CLOUDFRONT"),
			DefaultAction: &wafv2.WebAclDefaultActionArgs{Allow: &wafv2.WebAclDefaultActionAllowArgs{}},
			VisibilityConfig: &wafv2.WebAclVisibilityConfigArgs{
				CloudwatchMetricsEnabled: pulumi.Bool(true), MetricName: pulumi.String("edge"), SampledRequestsEnabled: pulumi.Bool(true),
			},
		}, pulumi.Provider(east))
		if err != nil {
			return err
		}
		if _, err := cloudwatch.NewLogGroup(ctx, "home", &cloudwatch.LogGroupArgs{Name: pulumi.String("home")}); err != nil {
			return err
		}
		Capture(ctx, "acl", acl.Arn, &aclArn)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	const uuid = `[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}`
	if !regexp.MustCompile(`^arn:aws:wafv2:us-east-1:` + DefaultAccount + `:global/webacl/shop-test-edge/` + uuid + `$`).MatchString(aclArn) {
		t.Errorf("web ACL ARN %q is not a global (CloudFront) ACL's in us-east-1", aclArn)
	}
	acl, _ := m.Named("aws:wafv2/webAcl:WebAcl", "acl")
	provider, _ := m.Named("pulumi:providers:aws", "us-east-1")
	if acl.Region != "us-east-1" || acl.Provider != provider.URN {
		t.Errorf("web ACL: region %q, provider %q; want us-east-1 through %s", acl.Region, acl.Provider, provider.URN)
	}
	if home, _ := m.Named("aws:cloudwatch/logGroup:LogGroup", "home"); home.Region != DefaultRegion || home.Provider != "" {
		t.Errorf("log group without a provider: region %q, provider %q", home.Region, home.Provider)
	}
}
