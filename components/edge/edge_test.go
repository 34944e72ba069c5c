package edge_test

import (
	"strings"
	"testing"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/shop-serverless/shop/components/awsmock"
	"github.com/shop-serverless/shop/components/edge"
)

const apiEndpoint = "https://abc123defg.execute-api.eu-central-1.amazonaws.com"

// deploy runs an Edge under mocks with args completed by valid defaults.
func deploy(t *testing.T, edit func(*edge.EdgeArgs)) (*awsmock.Mocks, string, error) {
	t.Helper()
	m := awsmock.New("shop", "test")
	var url string
	err := m.Run(func(ctx *pulumi.Context) error {
		east, err := aws.NewProvider(ctx, "us-east-1", &aws.ProviderArgs{Region: pulumi.String("us-east-1")})
		if err != nil {
			return err
		}
		args := &edge.EdgeArgs{
			Name:             "shop-test",
			USEast1:          east,
			OriginURL:        pulumi.String(apiEndpoint),
			OriginHeader:     "X-Origin",
			OriginSecret:     pulumi.ToSecret(pulumi.String("a-secret-value")).(pulumi.StringOutput),
			Rates:            edge.Rates{WindowSeconds: 60, PerAddress: 1000, OrdersPerAddress: 100},
			RateLimitedBody:  `{"error":{"code":"rate_limited","message":"slow down"}}`,
			LogRetentionDays: 7,
		}
		if edit != nil {
			edit(args)
		}
		e, err := edge.NewEdge(ctx, "edge", args)
		if err != nil {
			return err
		}
		awsmock.Capture(ctx, "url", e.URL, &url)
		return nil
	})
	return m, url, err
}

func TestEdgeGuardsTheAPI(t *testing.T) {
	m, url, err := deploy(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	acl, _ := m.Named("aws:wafv2/webAcl:WebAcl", "edge-acl")
	cdn, _ := m.Named("aws:cloudfront/distribution:Distribution", "edge-cdn")
	logs, _ := m.Named("aws:cloudwatch/logGroup:LogGroup", "edge-waf-logs")
	if acl.Region != "us-east-1" || logs.Region != "us-east-1" {
		t.Errorf("web ACL in %q, its logs in %q: CloudFront's are in us-east-1", acl.Region, logs.Region)
	}
	if cdn.Inputs["webAclId"] != acl.Outputs["arn"] || url != "https://"+cdn.Outputs["domainName"].(string) {
		t.Errorf("distribution webAclId %v (ACL %v), URL %s", cdn.Inputs["webAclId"], acl.Outputs["arn"], url)
	}
	origin := cdn.Inputs["origins"].([]any)[0].(map[string]any)
	if origin["domainName"] != strings.TrimPrefix(apiEndpoint, "https://") {
		t.Errorf("origin %v", origin["domainName"])
	}
	if h := origin["customHeaders"].([]any)[0].(map[string]any); h["name"] != "X-Origin" || h["value"] != awsmock.Secret {
		t.Errorf("origin header %v", h)
	}
	if !strings.HasPrefix(logs.Inputs["name"].(string), "aws-waf-logs-") || logs.Inputs["retentionInDays"] != float64(7) {
		t.Errorf("WAF log group %v", logs.Inputs)
	}
}

func TestEdgeRefusesBadArgs(t *testing.T) {
	for _, tt := range []struct {
		name string
		edit func(*edge.EdgeArgs)
		want string
	}{
		{"no us-east-1 provider", func(a *edge.EdgeArgs) { a.USEast1 = nil }, "provider for us-east-1"},
		{"a window WAF lacks", func(a *edge.EdgeArgs) { a.Rates.WindowSeconds = 30 }, "rate window 30"},
		{"a limit below WAF's", func(a *edge.EdgeArgs) { a.Rates.OrdersPerAddress = 5 }, "rate limit 5"},
		{"checkout looser than all", func(a *edge.EdgeArgs) { a.Rates.OrdersPerAddress = 2000 }, "must not exceed"},
		{"no secret", func(a *edge.EdgeArgs) { a.OriginSecret = nil }, "origin URL, header and secret"},
		{"a certificate outside us-east-1", func(a *edge.EdgeArgs) {
			a.Domain = &edge.Domain{Name: "api.example.com", CertificateArn: "arn:aws:acm:eu-central-1:123456789012:certificate/x"}
		}, "must be an ACM certificate in us-east-1"},
		{"logs kept forever", func(a *edge.EdgeArgs) { a.LogRetentionDays = 0 }, "retention"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, err := deploy(t, tt.edit); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want %q", err, tt.want)
			}
		})
	}
}

func TestEdgeCustomDomainRequiresTLS12(t *testing.T) {
	m, url, err := deploy(t, func(a *edge.EdgeArgs) {
		a.Domain = &edge.Domain{Name: "api.example.com", CertificateArn: "arn:aws:acm:us-east-1:123456789012:certificate/x"}
	})
	if err != nil {
		t.Fatal(err)
	}
	cdn, _ := m.Named("aws:cloudfront/distribution:Distribution", "edge-cdn")
	if awsmock.Get(cdn.Inputs, "viewerCertificate", "minimumProtocolVersion") != "TLSv1.2_2021" || url != "https://api.example.com" {
		t.Errorf("viewer certificate %v, URL %s", cdn.Inputs["viewerCertificate"], url)
	}
}
