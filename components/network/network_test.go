package network_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/shop-serverless/shop/components/awsmock"
	"github.com/shop-serverless/shop/components/network"
)

var zones = []string{"eu-central-1a", "eu-central-1b", "eu-central-1c"}

func TestNetwork(t *testing.T) {
	tests := []struct {
		name        string
		args        network.NetworkArgs
		wantPrivate []string
		wantPublic  int
		wantNATs    int
	}{
		{
			name:        "one zone, no NAT",
			args:        network.NetworkArgs{AvailabilityZones: zones[:1], CIDR: "10.20.0.0/16"},
			wantPrivate: []string{"10.20.0.0/20"},
		},
		{
			name:        "two zones, single NAT",
			args:        network.NetworkArgs{AvailabilityZones: zones[:2], CIDR: "10.30.0.0/20", NATMode: network.NATSingle},
			wantPrivate: []string{"10.30.0.0/24", "10.30.1.0/24"},
			wantPublic:  2,
			wantNATs:    1,
		},
		{
			name:        "three zones, NAT per zone",
			args:        network.NetworkArgs{AvailabilityZones: zones, NATMode: network.NATPerAZ},
			wantPrivate: []string{"10.0.0.0/20", "10.0.16.0/20", "10.0.32.0/20"},
			wantPublic:  3,
			wantNATs:    3,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.args.Region = "eu-central-1"
			tt.args.FlowLogRetentionDays = 7
			tt.args.TableArns = []pulumi.StringInput{pulumi.String(tableArn)}
			tt.args.BucketArns = []pulumi.StringInput{pulumi.String(bucketArn)}
			m := awsmock.New("shop", "test")
			if err := m.Run(func(ctx *pulumi.Context) error {
				_, err := network.NewNetwork(ctx, "net", &tt.args)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			m.CheckChildren(t, "shop:network:Network", "net")

			var private []string
			public := 0
			for _, s := range m.OfType("aws:ec2/subnet:Subnet") {
				if s.Inputs["mapPublicIpOnLaunch"] != false {
					t.Errorf("%s maps public IPs", s.Name)
				}
				if strings.Contains(s.Name, "-private-") {
					private = append(private, s.Inputs["cidrBlock"].(string))
				} else {
					public++
				}
			}
			if strings.Join(private, " ") != strings.Join(tt.wantPrivate, " ") {
				t.Errorf("private subnets %v, want %v", private, tt.wantPrivate)
			}
			if public != tt.wantPublic {
				t.Errorf("%d public subnets, want %d", public, tt.wantPublic)
			}
			if got := len(m.OfType("aws:ec2/natGateway:NatGateway")); got != tt.wantNATs {
				t.Errorf("%d NAT gateways, want %d", got, tt.wantNATs)
			}
			if got, want := len(m.OfType("aws:ec2/internetGateway:InternetGateway")), min(tt.wantNATs, 1); got != want {
				t.Errorf("%d internet gateways, want %d", got, want)
			}
			// Each private route table routes to the internet only through NAT, and to
			// DynamoDB and S3 through both gateway endpoints.
			natRoutes := 0
			for _, r := range m.OfType("aws:ec2/route:Route") {
				if r.Inputs["natGatewayId"] != nil {
					natRoutes++
				}
			}
			if tt.wantNATs > 0 && natRoutes != len(tt.args.AvailabilityZones) {
				t.Errorf("%d NAT routes for %d zones", natRoutes, len(tt.args.AvailabilityZones))
			}
			endpoints := m.OfType("aws:ec2/vpcEndpoint:VpcEndpoint")
			if len(endpoints) != 2 {
				t.Fatalf("%d endpoints", len(endpoints))
			}
			for _, ep := range endpoints {
				if ep.Inputs["vpcEndpointType"] != "Gateway" || len(ep.Inputs["routeTableIds"].([]any)) != len(tt.args.AvailabilityZones) {
					t.Errorf("endpoint %s = %v", ep.Name, ep.Inputs)
				}
			}
			checkEndpointPolicies(t, m)

			for _, r := range m.OfType("aws:ec2/securityGroupRule:SecurityGroupRule") {
				in := r.Inputs
				if in["type"] == "ingress" {
					if in["cidrBlocks"] != nil || in["sourceSecurityGroupId"] == nil || in["fromPort"] != 6379.0 || in["toPort"] != 6379.0 {
						t.Errorf("ingress rule %s = %v", r.Name, in)
					}
				}
				if cidrs, _ := in["cidrBlocks"].([]any); len(cidrs) > 0 && tt.wantNATs == 0 {
					t.Errorf("internet egress without NAT: %s", r.Name)
				}
			}
			if ds := m.OfType("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"); len(ds) != 1 || ds[0].Inputs["ingress"] != nil {
				t.Errorf("default security group not locked down: %v", ds)
			}

			fl := m.OfType("aws:ec2/flowLog:FlowLog")
			if len(fl) != 1 || fl[0].Inputs["trafficType"] != "ALL" {
				t.Fatalf("flow logs = %v", fl)
			}
			lg, _ := m.Named("aws:cloudwatch/logGroup:LogGroup", "net-flow-logs")
			if lg.Inputs["retentionInDays"] != 7.0 {
				t.Errorf("flow log retention = %v", lg.Inputs["retentionInDays"])
			}
			role, _ := m.Named("aws:iam/role:Role", "net-flow-logs-role")
			trust := awsmock.ParsePolicy(t, role.Inputs["assumeRolePolicy"])
			if got, _ := json.Marshal(trust.Statement[0].Principal); string(got) != `{"Service":["vpc-flow-logs.amazonaws.com"]}` {
				t.Errorf("flow logs role trusts %s", got)
			}
			// Only this account's flow logs may assume it (confused deputy).
			cond := trust.Statement[0].Condition
			if !slices.Equal(cond["StringEquals"]["aws:SourceAccount"], []string{"123456789012"}) ||
				!slices.Equal(cond["ArnLike"]["aws:SourceArn"], []string{"arn:aws:ec2:eu-central-1:123456789012:vpc-flow-log/*"}) {
				t.Errorf("flow logs role trust conditions = %v", cond)
			}
		})
	}
}

const (
	tableArn  = "arn:aws:dynamodb:eu-central-1:123456789012:table/shop-test-orders"
	bucketArn = "arn:aws:s3:::shop-test-images"
)

// checkEndpointPolicies: the DynamoDB endpoint reaches only the given tables and their
// indexes, the S3 endpoint only the given buckets' objects, both for the account's principals.
func checkEndpointPolicies(t *testing.T, m *awsmock.Mocks) {
	t.Helper()
	for svc, want := range map[string][]string{
		"dynamodb": {tableArn, tableArn + "/index/*"},
		"s3":       {bucketArn + "/*"},
	} {
		ep, _ := m.Named("aws:ec2/vpcEndpoint:VpcEndpoint", "net-"+svc+"-endpoint")
		if ep.Inputs["policy"] == nil {
			t.Errorf("%s endpoint has no policy: it reaches every %s resource of every account", svc, svc)
			continue
		}
		doc := awsmock.ParsePolicy(t, ep.Inputs["policy"])
		if len(doc.Statement) != 1 {
			t.Fatalf("%s endpoint policy = %+v", svc, doc)
		}
		st := doc.Statement[0]
		if !slices.Equal(st.Resource, want) || !slices.Equal(st.Condition["StringEquals"]["aws:PrincipalAccount"], []string{"123456789012"}) {
			t.Errorf("%s endpoint reaches %v on %v, want %v", svc, st.Resource, st.Condition, want)
		}
		for _, a := range st.Action {
			if strings.Contains(a, "*") || !strings.HasPrefix(a, svc+":") {
				t.Errorf("%s endpoint allows %s", svc, a)
			}
		}
	}
}

func TestNetworkValidation(t *testing.T) {
	ok := network.NetworkArgs{AvailabilityZones: zones[:1], Region: "eu-central-1", FlowLogRetentionDays: 7,
		TableArns: []pulumi.StringInput{pulumi.String(tableArn)}, BucketArns: []pulumi.StringInput{pulumi.String(bucketArn)}}
	tests := []struct {
		name   string
		mutate func(a *network.NetworkArgs)
		want   string
	}{
		{"bad CIDR", func(a *network.NetworkArgs) { a.CIDR = "10.0.0.0" }, "CIDR"},
		{"too small", func(a *network.NetworkArgs) { a.CIDR = "10.0.0.0/26" }, "/16 to /24"},
		{"host bits", func(a *network.NetworkArgs) { a.CIDR = "10.0.1.0/16" }, "did you mean 10.0.0.0/16"},
		{"no zones", func(a *network.NetworkArgs) { a.AvailabilityZones = nil }, "availability zones"},
		{"duplicate zones", func(a *network.NetworkArgs) { a.AvailabilityZones = []string{"x", "x"} }, "distinct"},
		{"bad NAT", func(a *network.NetworkArgs) { a.NATMode = "many" }, "NAT mode"},
		{"no retention", func(a *network.NetworkArgs) { a.FlowLogRetentionDays = 0 }, "retention"},
		{"no tables", func(a *network.NetworkArgs) { a.TableArns = nil }, "table and bucket ARNs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := ok
			tt.mutate(&a)
			err := awsmock.New("shop", "test").Run(func(ctx *pulumi.Context) error {
				_, err := network.NewNetwork(ctx, "net", &a)
				return err
			})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want %q", err, tt.want)
			}
		})
	}
}
