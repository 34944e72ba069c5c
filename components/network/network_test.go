package network_test

import (
	"encoding/json"
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
			m := awsmock.New("shop", "test")
			if err := m.Run(func(ctx *pulumi.Context) error {
				_, err := network.NewNetwork(ctx, "net", &tt.args)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			comp, _ := m.Named("shop:network:Network", "net")
			for _, r := range m.Resources() {
				if r.Custom && (r.Parent != comp.URN || !strings.HasPrefix(r.Name, "net-")) {
					t.Errorf("%s: parent %q", r.Name, r.Parent)
				}
			}

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
			var trust struct {
				Statement []struct{ Principal map[string][]string }
			}
			if err := json.Unmarshal([]byte(role.Inputs["assumeRolePolicy"].(string)), &trust); err != nil {
				t.Fatal(err)
			}
			if got := trust.Statement[0].Principal["Service"]; len(got) != 1 || got[0] != "vpc-flow-logs.amazonaws.com" {
				t.Errorf("flow logs role trusts %v", got)
			}
		})
	}
}

func TestNetworkValidation(t *testing.T) {
	ok := network.NetworkArgs{AvailabilityZones: zones[:1], Region: "eu-central-1", FlowLogRetentionDays: 7}
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
