// Package network declares the shop's VPC: private subnets for the functions and the cache in
// every availability zone, gateway endpoints so DynamoDB and S3 traffic never leaves AWS's
// network, security groups that let only the functions reach the cache, and flow logs.
// Public subnets and NAT gateways exist only when NAT is on: the functions need none, because
// everything they call is behind a gateway endpoint or inside the VPC.
package network

import (
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/shop-serverless/shop/components/internal/iampolicy"
)

// NAT modes.
const (
	// NATNone: no internet egress at all; the cheapest and the default.
	NATNone = "none"
	// NATSingle: one NAT gateway for every zone; egress fails with that zone.
	NATSingle = "single"
	// NATPerAZ: one NAT gateway per zone, so losing a zone loses only its egress.
	NATPerAZ = "perAz"
)

// FlowLogTrafficTypes are what a flow log may record: all traffic, or only the accepted or
// the rejected.
var FlowLogTrafficTypes = []string{"ALL", "ACCEPT", "REJECT"}

// subnetBits splits the VPC range into 16 equal subnets: privates take the first eight,
// publics the last eight, so adding zones never renumbers a subnet.
const subnetBits = 4

// NetworkArgs configures a Network.
type NetworkArgs struct {
	// CIDR is the VPC's IPv4 range, /16 to /24; empty: 10.0.0.0/16.
	CIDR string
	// AvailabilityZones get one private (and with NAT one public) subnet each; 1..8.
	AvailabilityZones []string
	// NATMode is NATNone (default), NATSingle or NATPerAZ.
	NATMode string
	// Region names the gateway endpoint services (com.amazonaws.<region>.dynamodb).
	Region string
	// CachePort is the only port on which the functions may reach the cache; 0: 6379.
	CachePort int
	// FlowLogRetentionDays is how long flow logs are kept; CloudWatch's allowed values.
	FlowLogRetentionDays int
	// LogKMSKeyArn encrypts the flow log group with a customer managed key; nil: CloudWatch
	// Logs' own encryption.
	LogKMSKeyArn pulumi.StringPtrInput
	// FlowLogTrafficType is one of FlowLogTrafficTypes; empty: ALL.
	FlowLogTrafficType string
	// TableArns are the only DynamoDB tables (with their indexes) the DynamoDB endpoint
	// reaches; at least one.
	TableArns []pulumi.StringInput
	// BucketArns are the only S3 buckets the S3 endpoint reaches; at least one.
	BucketArns []pulumi.StringInput
	// Tags are added to every resource that takes tags.
	Tags pulumi.StringMapInput
}

// Network is the VPC and everything in it.
type Network struct {
	pulumi.ResourceState

	// VpcID is the VPC's id.
	VpcID pulumi.StringOutput `pulumi:"vpcId"`
	// PrivateSubnetIDs are the functions' and the cache's subnets, one per zone.
	PrivateSubnetIDs pulumi.StringArrayOutput `pulumi:"privateSubnetIds"`
	// PublicSubnetIDs hold the NAT gateways; empty without NAT.
	PublicSubnetIDs pulumi.StringArrayOutput `pulumi:"publicSubnetIds"`
	// PrivateRouteTableIDs are the private subnets' route tables, one per zone.
	PrivateRouteTableIDs pulumi.StringArrayOutput `pulumi:"privateRouteTableIds"`
	// FunctionSecurityGroupID is attached to functions that run in the VPC.
	FunctionSecurityGroupID pulumi.StringOutput `pulumi:"functionSecurityGroupId"`
	// CacheSecurityGroupID is attached to the cache.
	CacheSecurityGroupID pulumi.StringOutput `pulumi:"cacheSecurityGroupId"`
}

// NewNetwork declares the VPC.
func NewNetwork(ctx *pulumi.Context, name string, args *NetworkArgs, opts ...pulumi.ResourceOption) (*Network, error) {
	if args == nil {
		return nil, fmt.Errorf("network %q: args are required", name)
	}
	a := *args
	if a.CIDR == "" {
		a.CIDR = "10.0.0.0/16"
	}
	if a.NATMode == "" {
		a.NATMode = NATNone
	}
	if a.CachePort == 0 {
		a.CachePort = 6379
	}
	if a.FlowLogTrafficType == "" {
		a.FlowLogTrafficType = "ALL"
	}
	private, public, err := a.validate()
	if err != nil {
		return nil, fmt.Errorf("network %q: %w", name, err)
	}

	n := &Network{}
	if err := ctx.RegisterComponentResource("shop:network:Network", name, n, opts...); err != nil {
		return nil, fmt.Errorf("network %q: %w", name, err)
	}
	if err := n.declare(ctx, name, &a, private, public); err != nil {
		return nil, fmt.Errorf("network %q: %w", name, err)
	}
	if err := ctx.RegisterResourceOutputs(n, pulumi.Map{
		"vpcId":                   n.VpcID,
		"privateSubnetIds":        n.PrivateSubnetIDs,
		"publicSubnetIds":         n.PublicSubnetIDs,
		"privateRouteTableIds":    n.PrivateRouteTableIDs,
		"functionSecurityGroupId": n.FunctionSecurityGroupID,
		"cacheSecurityGroupId":    n.CacheSecurityGroupID,
	}); err != nil {
		return nil, fmt.Errorf("network %q: %w", name, err)
	}
	return n, nil
}

func (n *Network) declare(ctx *pulumi.Context, name string, a *NetworkArgs, privateCIDRs, publicCIDRs []string) error {
	b := &builder{ctx: ctx, name: name, args: a, parent: pulumi.Parent(n)}
	vpc, err := b.createVpc()
	if err != nil {
		return err
	}
	if err := b.adoptDefaultSecurityGroup(vpc); err != nil {
		return err
	}
	private, err := b.createPrivateSubnets(vpc, privateCIDRs)
	if err != nil {
		return err
	}
	var public pulumi.StringArray
	if a.NATMode != NATNone {
		igw, err := b.createInternetGateway(vpc)
		if err != nil {
			return err
		}
		subnets, err := b.createPublicSubnets(vpc, igw, publicCIDRs)
		if err != nil {
			return err
		}
		nats, err := b.createNatGateways(igw, subnets)
		if err != nil {
			return err
		}
		if err := b.routePrivateSubnetsToNat(private.routeTables, nats); err != nil {
			return err
		}
		for _, s := range subnets {
			public = append(public, s.ID())
		}
	}
	endpoints, err := b.createGatewayEndpoints(vpc, private.routeTables)
	if err != nil {
		return err
	}
	groups, err := b.createSecurityGroups(vpc, endpoints)
	if err != nil {
		return err
	}
	if err := b.createFlowLogs(vpc); err != nil {
		return err
	}

	n.VpcID = vpc.ID().ToStringOutput()
	n.PrivateSubnetIDs = private.subnets.ToStringArrayOutput()
	n.PublicSubnetIDs = public.ToStringArrayOutput()
	n.PrivateRouteTableIDs = private.routeTables.ToStringArrayOutput()
	n.FunctionSecurityGroupID = groups.functions.ID().ToStringOutput()
	n.CacheSecurityGroupID = groups.cache.ID().ToStringOutput()
	return nil
}

// builder declares a Network's children, one step of the VPC per method.
type builder struct {
	ctx    *pulumi.Context
	name   string
	args   *NetworkArgs
	parent pulumi.ResourceOption
}

// child is the name of the child with the role, also its Name tag.
func (b *builder) child(role string) string { return b.name + "-" + role }

// tags are the caller's tags with the child's Name.
func (b *builder) tags(role string) pulumi.StringMapInput {
	name := pulumi.StringMap{"Name": pulumi.String(b.child(role))}
	if b.args.Tags == nil {
		return name
	}
	return pulumi.All(b.args.Tags, name).ApplyT(func(v []any) map[string]string {
		out := map[string]string{}
		for _, m := range v {
			for k, s := range m.(map[string]string) {
				out[k] = s
			}
		}
		return out
	}).(pulumi.StringMapOutput)
}

func (b *builder) createVpc() (*ec2.Vpc, error) {
	return ec2.NewVpc(b.ctx, b.child("vpc"), &ec2.VpcArgs{
		CidrBlock:          pulumi.String(b.args.CIDR),
		EnableDnsSupport:   pulumi.Bool(true),
		EnableDnsHostnames: pulumi.Bool(true),
		Tags:               b.tags("vpc"),
	}, b.parent)
}

// adoptDefaultSecurityGroup: adopting the default security group with no rules removes its
// allow-all rules, so nothing can be attached to it by accident and be reachable.
func (b *builder) adoptDefaultSecurityGroup(vpc *ec2.Vpc) error {
	_, err := ec2.NewDefaultSecurityGroup(b.ctx, b.child("default-sg"), &ec2.DefaultSecurityGroupArgs{
		VpcId: vpc.ID(),
		Tags:  b.tags("default-sg"),
	}, b.parent)
	return err
}

// privateSubnets are the subnets of the functions and the cache, and a route table each.
type privateSubnets struct {
	subnets, routeTables pulumi.StringArray
}

func (b *builder) createPrivateSubnets(vpc *ec2.Vpc, cidrs []string) (privateSubnets, error) {
	var out privateSubnets
	for i, az := range b.args.AvailabilityZones {
		role := fmt.Sprintf("private-%d", i)
		subnet, err := b.createSubnet(vpc, role, az, cidrs[i])
		if err != nil {
			return out, err
		}
		rt, err := ec2.NewRouteTable(b.ctx, b.child(role+"-rt"), &ec2.RouteTableArgs{
			VpcId: vpc.ID(),
			Tags:  b.tags(role + "-rt"),
		}, b.parent)
		if err != nil {
			return out, err
		}
		if err := b.associate(role, subnet, rt.ID()); err != nil {
			return out, err
		}
		out.subnets = append(out.subnets, subnet.ID())
		out.routeTables = append(out.routeTables, rt.ID())
	}
	return out, nil
}

// createSubnet declares a subnet in which nothing launched gets a public address: only the
// NAT gateways' Elastic IPs are public.
func (b *builder) createSubnet(vpc *ec2.Vpc, role, az, cidr string) (*ec2.Subnet, error) {
	return ec2.NewSubnet(b.ctx, b.child(role), &ec2.SubnetArgs{
		VpcId:               vpc.ID(),
		AvailabilityZone:    pulumi.String(az),
		CidrBlock:           pulumi.String(cidr),
		MapPublicIpOnLaunch: pulumi.Bool(false),
		Tags:                b.tags(role),
	}, b.parent)
}

func (b *builder) associate(role string, subnet *ec2.Subnet, routeTable pulumi.IDOutput) error {
	_, err := ec2.NewRouteTableAssociation(b.ctx, b.child(role+"-rta"), &ec2.RouteTableAssociationArgs{
		SubnetId:     subnet.ID(),
		RouteTableId: routeTable,
	}, b.parent)
	return err
}

func (b *builder) createInternetGateway(vpc *ec2.Vpc) (*ec2.InternetGateway, error) {
	return ec2.NewInternetGateway(b.ctx, b.child("igw"), &ec2.InternetGatewayArgs{
		VpcId: vpc.ID(),
		Tags:  b.tags("igw"),
	}, b.parent)
}

// createPublicSubnets declares the NAT gateways' subnets, one per zone, sharing one route
// table whose default route is the internet gateway.
func (b *builder) createPublicSubnets(vpc *ec2.Vpc, igw *ec2.InternetGateway, cidrs []string) ([]*ec2.Subnet, error) {
	rt, err := ec2.NewRouteTable(b.ctx, b.child("public-rt"), &ec2.RouteTableArgs{
		VpcId: vpc.ID(),
		Tags:  b.tags("public-rt"),
	}, b.parent)
	if err != nil {
		return nil, err
	}
	if _, err := ec2.NewRoute(b.ctx, b.child("public-default-route"), &ec2.RouteArgs{
		RouteTableId:         rt.ID(),
		DestinationCidrBlock: pulumi.String("0.0.0.0/0"),
		GatewayId:            igw.ID(),
	}, b.parent); err != nil {
		return nil, err
	}
	var subnets []*ec2.Subnet
	for i, az := range b.args.AvailabilityZones {
		role := fmt.Sprintf("public-%d", i)
		subnet, err := b.createSubnet(vpc, role, az, cidrs[i])
		if err != nil {
			return nil, err
		}
		if err := b.associate(role, subnet, rt.ID()); err != nil {
			return nil, err
		}
		subnets = append(subnets, subnet)
	}
	return subnets, nil
}

// createNatGateways declares one NAT gateway in the first public subnet (NATSingle) or one
// in each (NATPerAZ), each with its Elastic IP.
func (b *builder) createNatGateways(igw *ec2.InternetGateway, public []*ec2.Subnet) ([]*ec2.NatGateway, error) {
	if b.args.NATMode == NATSingle {
		public = public[:1]
	}
	var nats []*ec2.NatGateway
	for i, subnet := range public {
		role := fmt.Sprintf("nat-%d", i)
		eip, err := ec2.NewEip(b.ctx, b.child(role+"-eip"), &ec2.EipArgs{
			Domain: pulumi.String("vpc"),
			Tags:   b.tags(role + "-eip"),
		}, b.parent)
		if err != nil {
			return nil, err
		}
		nat, err := ec2.NewNatGateway(b.ctx, b.child(role), &ec2.NatGatewayArgs{
			AllocationId: eip.ID(),
			SubnetId:     subnet.ID(),
			Tags:         b.tags(role),
		}, b.parent, pulumi.DependsOn([]pulumi.Resource{igw}))
		if err != nil {
			return nil, err
		}
		nats = append(nats, nat)
	}
	return nats, nil
}

// routePrivateSubnetsToNat gives each private route table a default route through its
// zone's NAT gateway, or the single one.
func (b *builder) routePrivateSubnetsToNat(routeTables pulumi.StringArray, nats []*ec2.NatGateway) error {
	for i, rt := range routeTables {
		nat := nats[min(i, len(nats)-1)]
		if _, err := ec2.NewRoute(b.ctx, b.child(fmt.Sprintf("private-%d-default-route", i)), &ec2.RouteArgs{
			RouteTableId:         rt,
			DestinationCidrBlock: pulumi.String("0.0.0.0/0"),
			NatGatewayId:         nat.ID(),
		}, b.parent); err != nil {
			return err
		}
	}
	return nil
}

// createGatewayEndpoints: gateway endpoints are free and keep DynamoDB and S3 traffic off
// NAT and the internet. Their policies let the VPC reach the stack's own tables and buckets
// and nothing else, so stolen credentials used from inside cannot copy data to another
// account's bucket.
func (b *builder) createGatewayEndpoints(vpc *ec2.Vpc, routeTables pulumi.StringArray) (map[string]*ec2.VpcEndpoint, error) {
	account := aws.GetCallerIdentityOutput(b.ctx, aws.GetCallerIdentityOutputArgs{}).AccountId()
	endpoints := map[string]*ec2.VpcEndpoint{}
	for _, svc := range []string{"dynamodb", "s3"} {
		ep, err := ec2.NewVpcEndpoint(b.ctx, b.child(svc+"-endpoint"), &ec2.VpcEndpointArgs{
			VpcId:           vpc.ID(),
			ServiceName:     pulumi.Sprintf("com.amazonaws.%s.%s", b.args.Region, svc),
			VpcEndpointType: pulumi.String("Gateway"),
			RouteTableIds:   routeTables,
			Policy:          endpointPolicy(svc, b.args, account),
			Tags:            b.tags(svc + "-endpoint"),
		}, b.parent)
		if err != nil {
			return nil, err
		}
		endpoints[svc] = ep
	}
	return endpoints, nil
}

// securityGroups are the functions' group and the cache's.
type securityGroups struct {
	functions, cache *ec2.SecurityGroup
}

func (b *builder) createSecurityGroups(vpc *ec2.Vpc, endpoints map[string]*ec2.VpcEndpoint) (securityGroups, error) {
	var g securityGroups
	var err error
	if g.functions, err = ec2.NewSecurityGroup(b.ctx, b.child("functions-sg"), &ec2.SecurityGroupArgs{
		VpcId:       vpc.ID(),
		Description: pulumi.String("shop functions: egress to the cache and AWS APIs only"),
		Tags:        b.tags("functions-sg"),
	}, b.parent); err != nil {
		return g, err
	}
	if g.cache, err = ec2.NewSecurityGroup(b.ctx, b.child("cache-sg"), &ec2.SecurityGroupArgs{
		VpcId:       vpc.ID(),
		Description: pulumi.String("shop cache: ingress from the functions on the cache port only"),
		Tags:        b.tags("cache-sg"),
	}, b.parent); err != nil {
		return g, err
	}
	// Rules are separate resources because the two groups reference each other.
	rules := b.securityGroupRules(g, endpoints)
	for _, role := range slices.Sorted(maps.Keys(rules)) {
		if _, err := ec2.NewSecurityGroupRule(b.ctx, b.child(role), rules[role], b.parent); err != nil {
			return g, err
		}
	}
	return g, nil
}

// securityGroupRules are the only traffic the groups allow, by role: the functions reach
// the cache on its port and AWS over HTTPS (through the gateway endpoints, or with NAT
// anywhere).
func (b *builder) securityGroupRules(g securityGroups, endpoints map[string]*ec2.VpcEndpoint) map[string]*ec2.SecurityGroupRuleArgs {
	port := pulumi.Int(b.args.CachePort)
	rules := map[string]*ec2.SecurityGroupRuleArgs{
		"cache-from-functions": {
			Type: pulumi.String("ingress"), SecurityGroupId: g.cache.ID(), SourceSecurityGroupId: g.functions.ID(),
			Protocol: pulumi.String("tcp"), FromPort: port, ToPort: port,
			Description: pulumi.String("functions to the cache"),
		},
		"functions-to-cache": {
			Type: pulumi.String("egress"), SecurityGroupId: g.functions.ID(), SourceSecurityGroupId: g.cache.ID(),
			Protocol: pulumi.String("tcp"), FromPort: port, ToPort: port,
			Description: pulumi.String("functions to the cache"),
		},
		"functions-to-aws": {
			Type: pulumi.String("egress"), SecurityGroupId: g.functions.ID(),
			PrefixListIds: pulumi.StringArray{endpoints["dynamodb"].PrefixListId, endpoints["s3"].PrefixListId},
			Protocol:      pulumi.String("tcp"), FromPort: pulumi.Int(443), ToPort: pulumi.Int(443),
			Description: pulumi.String("HTTPS to DynamoDB and S3 through the gateway endpoints"),
		},
	}
	if b.args.NATMode != NATNone {
		rules["functions-to-internet"] = &ec2.SecurityGroupRuleArgs{
			Type: pulumi.String("egress"), SecurityGroupId: g.functions.ID(), CidrBlocks: pulumi.ToStringArray([]string{"0.0.0.0/0"}),
			Protocol: pulumi.String("tcp"), FromPort: pulumi.Int(443), ToPort: pulumi.Int(443),
			Description: pulumi.String("HTTPS through NAT"),
		}
	}
	return rules
}

// createFlowLogs sends the VPC's flow logs to their own log group through a role that may
// write only there.
func (b *builder) createFlowLogs(vpc *ec2.Vpc) error {
	a := b.args
	group, err := cloudwatch.NewLogGroup(b.ctx, b.child("flow-logs"), &cloudwatch.LogGroupArgs{
		Name:            pulumi.Sprintf("/shop/vpc/%s", vpc.ID()),
		RetentionInDays: pulumi.Int(a.FlowLogRetentionDays),
		KmsKeyId:        a.LogKMSKeyArn,
		Tags:            a.Tags,
	}, b.parent)
	if err != nil {
		return err
	}
	// Only this account's flow logs may use the role (the flow log's own ARN is not known
	// before the role exists, so every flow log of the account and region).
	account := aws.GetCallerIdentityOutput(b.ctx, aws.GetCallerIdentityOutputArgs{}).AccountId()
	role, err := iam.NewRole(b.ctx, b.child("flow-logs-role"), &iam.RoleArgs{
		Description: pulumi.String("VPC flow logs write to their log group"),
		AssumeRolePolicy: iampolicy.AssumeRole("vpc-flow-logs.amazonaws.com",
			iampolicy.SourceAccount(account),
			iampolicy.SourceArnLike(pulumi.Sprintf("arn:aws:ec2:%s:%s:vpc-flow-log/*", a.Region, account))),
		Tags: a.Tags,
	}, b.parent)
	if err != nil {
		return err
	}
	policy, err := iam.NewRolePolicy(b.ctx, b.child("flow-logs-policy"), &iam.RolePolicyArgs{
		Role: role.ID(),
		Policy: iampolicy.Document(iampolicy.Statement{
			Sid:       "WriteFlowLogs",
			Actions:   []string{"logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"},
			Resources: []pulumi.StringInput{group.Arn, pulumi.Sprintf("%s:*", group.Arn)},
		}),
	}, b.parent)
	if err != nil {
		return err
	}
	_, err = ec2.NewFlowLog(b.ctx, b.child("flow-log"), &ec2.FlowLogArgs{
		VpcId:                  vpc.ID(),
		TrafficType:            pulumi.String(a.FlowLogTrafficType),
		LogDestinationType:     pulumi.String("cloud-watch-logs"),
		LogDestination:         group.Arn,
		IamRoleArn:             role.Arn,
		MaxAggregationInterval: pulumi.Int(600),
		Tags:                   a.Tags,
	}, b.parent, pulumi.DependsOn([]pulumi.Resource{policy}))
	return err
}

// Data actions the endpoints pass: every item and object operation the functions may be
// granted, on the stack's resources only.
var (
	EndpointTableActions = []string{
		"dynamodb:BatchGetItem", "dynamodb:BatchWriteItem", "dynamodb:ConditionCheckItem", "dynamodb:DeleteItem",
		"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:Scan", "dynamodb:UpdateItem",
	}
	EndpointBucketActions = []string{"s3:DeleteObject", "s3:GetObject", "s3:PutObject"}
)

// endpointPolicy limits a gateway endpoint to the stack's tables or buckets, for principals
// of the stack's account.
func endpointPolicy(svc string, a *NetworkArgs, account pulumi.StringInput) pulumi.StringOutput {
	st := iampolicy.Statement{
		AnyPrincipal: true,
		Conditions:   []iampolicy.Condition{{Test: "StringEquals", Variable: "aws:PrincipalAccount", Values: []pulumi.StringInput{account}}},
	}
	switch svc {
	case "dynamodb":
		st.Sid, st.Actions = "StackTablesOnly", EndpointTableActions
		for _, t := range a.TableArns {
			st.Resources = append(st.Resources, t, pulumi.Sprintf("%s/index/*", t))
		}
	default:
		st.Sid, st.Actions = "StackBucketsOnly", EndpointBucketActions
		for _, b := range a.BucketArns {
			st.Resources = append(st.Resources, pulumi.Sprintf("%s/*", b))
		}
	}
	return iampolicy.Document(st)
}

// validate checks the arguments and carves the subnets' ranges.
func (a *NetworkArgs) validate() (private, public []string, err error) {
	var errs []error
	prefix, perr := netip.ParsePrefix(a.CIDR)
	switch {
	case perr != nil:
		errs = append(errs, fmt.Errorf("CIDR %q: %w", a.CIDR, perr))
	case !prefix.Addr().Is4():
		errs = append(errs, fmt.Errorf("CIDR %q must be IPv4", a.CIDR))
	case prefix.Bits() < 16 || prefix.Bits() > 24:
		errs = append(errs, fmt.Errorf("CIDR %q must be a /16 to /24 (VPC limits, and subnets of at least /28)", a.CIDR))
	case prefix.Masked() != prefix:
		errs = append(errs, fmt.Errorf("CIDR %q has host bits set; did you mean %s?", a.CIDR, prefix.Masked()))
	}
	if n := len(a.AvailabilityZones); n < 1 || n > 8 {
		errs = append(errs, fmt.Errorf("%d availability zones: want 1..8", n))
	}
	seen := map[string]bool{}
	for _, az := range a.AvailabilityZones {
		if az == "" || seen[az] {
			errs = append(errs, fmt.Errorf("availability zones must be distinct and non-empty: %v", a.AvailabilityZones))
			break
		}
		seen[az] = true
	}
	switch a.NATMode {
	case NATNone, NATSingle, NATPerAZ:
	default:
		errs = append(errs, fmt.Errorf("NAT mode %q must be %s, %s or %s", a.NATMode, NATNone, NATSingle, NATPerAZ))
	}
	if a.Region == "" {
		errs = append(errs, errors.New("region is required"))
	}
	if len(a.TableArns) == 0 || len(a.BucketArns) == 0 {
		errs = append(errs, errors.New("the endpoints need the stack's table and bucket ARNs"))
	}
	if a.CachePort < 1 || a.CachePort > 65535 {
		errs = append(errs, fmt.Errorf("cache port %d out of range", a.CachePort))
	}
	if a.FlowLogRetentionDays <= 0 {
		errs = append(errs, errors.New("flow log retention days must be set"))
	}
	if !slices.Contains(FlowLogTrafficTypes, a.FlowLogTrafficType) {
		errs = append(errs, fmt.Errorf("flow log traffic type %q must be one of %s",
			a.FlowLogTrafficType, strings.Join(FlowLogTrafficTypes, ", ")))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, nil, err
	}

	bits := prefix.Bits() + subnetBits
	size := uint32(1) << (32 - bits)
	base := prefix.Addr().As4()
	start := uint32(base[0])<<24 | uint32(base[1])<<16 | uint32(base[2])<<8 | uint32(base[3])
	subnet := func(i int) string {
		v := start + uint32(i)*size
		addr := netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
		return netip.PrefixFrom(addr, bits).String()
	}
	half := 1 << (subnetBits - 1)
	for i := range a.AvailabilityZones {
		private = append(private, subnet(i))
		public = append(public, subnet(half+i))
	}
	return private, public, nil
}
