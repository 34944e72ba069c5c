package awsmock

import (
	"regexp"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// TestOutputShapes checks every mocked id and ARN against the shape the real service returns
// (as its API reference documents it), so a program tested under these mocks passes only
// values AWS would accept.
func TestOutputShapes(t *testing.T) {
	const (
		region  = `eu-central-1`
		account = `123456789012`
		uuid    = `[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}`
	)
	cases := []struct {
		typ    string
		inputs map[string]any
		id     string
		props  map[string]string
	}{
		{"aws:dynamodb/table:Table", map[string]any{"name": "shop-prod-products", "streamEnabled": true},
			`shop-prod-products`, map[string]string{
				"arn":       `arn:aws:dynamodb:` + region + `:` + account + `:table/shop-prod-products`,
				"streamArn": `arn:aws:dynamodb:` + region + `:` + account + `:table/shop-prod-products/stream/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}`,
			}},
		{"aws:sqs/queue:Queue", map[string]any{"name": "shop-prod-failures"},
			`https://sqs\.` + region + `\.amazonaws\.com/` + account + `/shop-prod-failures`, map[string]string{
				"arn": `arn:aws:sqs:` + region + `:` + account + `:shop-prod-failures`,
				"url": `https://sqs\.` + region + `\.amazonaws\.com/` + account + `/shop-prod-failures`,
			}},
		{"aws:kms/key:Key", nil, uuid, map[string]string{
			"keyId": uuid,
			"arn":   `arn:aws:kms:` + region + `:` + account + `:key/` + uuid,
		}},
		{"aws:kms/alias:Alias", map[string]any{"name": "alias/shop", "targetKeyId": "1234abcd-12ab-34cd-56ef-1234567890ab"},
			`alias/shop`, map[string]string{"arn": `arn:aws:kms:` + region + `:` + account + `:alias/shop`}},
		{"aws:cloudfront/distribution:Distribution", nil, `E[A-Z0-9]{13}`, map[string]string{
			"arn":        `arn:aws:cloudfront::` + account + `:distribution/E[A-Z0-9]{13}`,
			"domainName": `d[a-z0-9]{13}\.cloudfront\.net`,
		}},
		{"aws:cloudfront/originAccessControl:OriginAccessControl", nil, `E[A-Z0-9]{13}`, nil},
		{"aws:apigatewayv2/api:Api", nil, `[a-z0-9]{10}`, map[string]string{
			"executionArn": `arn:aws:execute-api:` + region + `:` + account + `:[a-z0-9]{10}`,
			"apiEndpoint":  `https://[a-z0-9]{10}\.execute-api\.` + region + `\.amazonaws\.com`,
		}},
		{"aws:apigatewayv2/authorizer:Authorizer", nil, `[a-z0-9]{6}`, nil},
		{"aws:apigatewayv2/integration:Integration", nil, `[a-z0-9]{7}`, nil},
		{"aws:apigatewayv2/route:Route", nil, `[a-z0-9]{7}`, nil},
		{"aws:apigatewayv2/stage:Stage", map[string]any{"apiId": "a1b2c3d4e5", "name": "$default"}, `\$default`, map[string]string{
			"executionArn": `arn:aws:execute-api:` + region + `:` + account + `:a1b2c3d4e5/\$default`,
		}},
		{"aws:cognito/userPool:UserPool", nil, region + `_[A-Za-z0-9]{9}`, map[string]string{
			"arn":      `arn:aws:cognito-idp:` + region + `:` + account + `:userpool/` + region + `_[A-Za-z0-9]{9}`,
			"endpoint": `cognito-idp\.` + region + `\.amazonaws\.com/` + region + `_[A-Za-z0-9]{9}`,
		}},
		{"aws:cognito/userPoolClient:UserPoolClient", nil, `[a-z0-9]{26}`, nil},
		{"aws:lambda/function:Function", map[string]any{"name": "shop-prod-invalidator"}, `shop-prod-invalidator`, map[string]string{
			"arn":       `arn:aws:lambda:` + region + `:` + account + `:function:shop-prod-invalidator`,
			"invokeArn": `arn:aws:apigateway:` + region + `:lambda:path/2015-03-31/functions/arn:aws:lambda:` + region + `:` + account + `:function:shop-prod-invalidator/invocations`,
		}},
		{"aws:lambda/eventSourceMapping:EventSourceMapping", nil, uuid, map[string]string{
			"uuid": uuid,
			"arn":  `arn:aws:lambda:` + region + `:` + account + `:event-source-mapping:` + uuid,
		}},
		{"aws:iam/role:Role", map[string]any{"name": "invalidator-role"}, `invalidator-role`, map[string]string{
			"arn":      `arn:aws:iam::` + account + `:role/invalidator-role`,
			"uniqueId": `AROA[A-Z0-9]{17}`,
		}},
		{"aws:cloudwatch/logGroup:LogGroup", map[string]any{"name": "/aws/lambda/shop-prod-cart"}, `/aws/lambda/shop-prod-cart`, map[string]string{
			"arn": `arn:aws:logs:` + region + `:` + account + `:log-group:/aws/lambda/shop-prod-cart`,
		}},
		{"aws:sns/topic:Topic", map[string]any{"name": "shop-prod-alarms"}, `arn:aws:sns:` + region + `:` + account + `:shop-prod-alarms`, nil},
		{"aws:s3/bucketV2:BucketV2", map[string]any{"bucket": "shop-prod-logs"}, `shop-prod-logs`, map[string]string{
			"arn":                      `arn:aws:s3:::shop-prod-logs`,
			"bucketDomainName":         `shop-prod-logs\.s3\.amazonaws\.com`,
			"bucketRegionalDomainName": `shop-prod-logs\.s3\.` + region + `\.amazonaws\.com`,
		}},
		{"aws:ec2/vpc:Vpc", nil, `vpc-[0-9a-f]{17}`, map[string]string{"arn": `arn:aws:ec2:` + region + `:` + account + `:vpc/vpc-[0-9a-f]{17}`}},
		{"aws:ec2/subnet:Subnet", nil, `subnet-[0-9a-f]{17}`, nil},
		{"aws:ec2/routeTable:RouteTable", nil, `rtb-[0-9a-f]{17}`, nil},
		{"aws:ec2/securityGroup:SecurityGroup", nil, `sg-[0-9a-f]{17}`, nil},
		{"aws:ec2/natGateway:NatGateway", nil, `nat-[0-9a-f]{17}`, nil},
		{"aws:ec2/internetGateway:InternetGateway", nil, `igw-[0-9a-f]{17}`, nil},
		{"aws:ec2/eip:Eip", nil, `eipalloc-[0-9a-f]{17}`, map[string]string{"allocationId": `eipalloc-[0-9a-f]{17}`}},
		{"aws:ec2/vpcEndpoint:VpcEndpoint", nil, `vpce-[0-9a-f]{17}`, map[string]string{"prefixListId": `pl-[0-9a-f]{8}`}},
		{"aws:ec2/flowLog:FlowLog", nil, `fl-[0-9a-f]{17}`, map[string]string{"arn": `arn:aws:ec2:` + region + `:` + account + `:vpc-flow-log/fl-[0-9a-f]{17}`}},
		{"aws:elasticache/replicationGroup:ReplicationGroup", map[string]any{"replicationGroupId": "shop-prod-cache"}, `shop-prod-cache`, map[string]string{
			"arn":                    `arn:aws:elasticache:` + region + `:` + account + `:replicationgroup:shop-prod-cache`,
			"primaryEndpointAddress": `master\.shop-prod-cache\.[a-z0-9]{6}\.euc1\.cache\.amazonaws\.com`,
		}},
		{"aws:wafv2/webAcl:WebAcl", map[string]any{"name": "shop-prod-api", "scope": "REGIONAL"}, uuid, map[string]string{
			"arn": `arn:aws:wafv2:` + region + `:` + account + `:regional/webacl/shop-prod-api/` + uuid,
		}},
		{"aws:ssm/parameter:Parameter", map[string]any{"name": "/shop-prod/origin-secret"}, `/shop-prod/origin-secret`, map[string]string{
			"arn": `arn:aws:ssm:` + region + `:` + account + `:parameter/shop-prod/origin-secret`,
		}},
	}
	m := New("shop", "test")
	for _, c := range cases {
		t.Run(c.typ, func(t *testing.T) {
			id, state, err := m.outputs(c.typ, "res", region, resource.NewPropertyMapFromMap(c.inputs))
			if err != nil {
				t.Fatal(err)
			}
			if !regexp.MustCompile(`^` + c.id + `$`).MatchString(id) {
				t.Errorf("id %q does not match %s", id, c.id)
			}
			again, _, _ := m.outputs(c.typ, "res", region, resource.NewPropertyMapFromMap(c.inputs))
			if again != id {
				t.Errorf("id %q then %q: not stable", id, again)
			}
			for prop, shape := range c.props {
				v := state[resource.PropertyKey(prop)]
				if !v.IsString() || !regexp.MustCompile(`^`+shape+`$`).MatchString(v.StringValue()) {
					t.Errorf("%s = %v does not match %s", prop, v, shape)
				}
			}
		})
	}
}

// TestOutputsDifferByName keeps two resources of a type from sharing an id.
func TestOutputsDifferByName(t *testing.T) {
	m := New("shop", "test")
	for _, typ := range []string{"aws:ec2/subnet:Subnet", "aws:kms/key:Key", "aws:apigatewayv2/route:Route", "aws:cloudfront/distribution:Distribution"} {
		a, _, _ := m.outputs(typ, "one", DefaultRegion, resource.PropertyMap{})
		b, _, _ := m.outputs(typ, "two", DefaultRegion, resource.PropertyMap{})
		if a == b {
			t.Errorf("%s: both resources got id %q", typ, a)
		}
	}
}

// TestUnknownTypeIsAnError: a type without a shape must not get an invented ARN.
func TestUnknownTypeIsAnError(t *testing.T) {
	if _, _, err := New("shop", "test").outputs("aws:ec2/instance:Instance", "vm", DefaultRegion, resource.PropertyMap{}); err == nil {
		t.Fatal("no error for a type without a shape")
	}
}
