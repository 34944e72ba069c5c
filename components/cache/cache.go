// Package cache declares the shop's ElastiCache (Valkey or Redis OSS) in the private subnets,
// either serverless or as a replication group of nodes, always with TLS and encryption at rest.
//
// There is no static password anywhere: the cache's RBAC user group holds a disabled
// "default" user and one IAM-authenticated user per function, whose access string allows
// only that function's keys and commands; each function is granted elasticache:Connect on
// exactly this cache and its own user and signs its own 15-minute tokens
// (functions/internal/redisauth).
package cache

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/elasticache"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Engines.
const (
	Valkey = "valkey"
	Redis  = "redis"
)

// Modes.
const (
	// Nodes is a replication group of provisioned nodes: a fixed price per hour.
	Nodes = "nodes"
	// Serverless scales by itself and bills per GB stored and per request unit; it is always
	// cluster mode.
	Serverless = "serverless"
)

var (
	cacheID  = regexp.MustCompile(`^[a-z]([a-z0-9]|-[a-z0-9]){0,31}$`)
	userName = regexp.MustCompile(`^[a-z][a-z0-9]*$`)
)

// User is one IAM-authenticated RBAC user of the cache.
type User struct {
	// Name tells the users apart (a function's name): lower-case letters and digits. The
	// user's id and user name, equal as IAM authentication requires, are "<CacheID>-<Name>".
	Name string
	// AccessString is the user's ACL: "on", its key patterns and commands.
	AccessString string
}

// UserRef is a deployed user: what a function connects as and is granted.
type UserRef struct {
	ID  pulumi.StringOutput
	Arn pulumi.StringOutput
}

// CacheArgs configures a Cache.
type CacheArgs struct {
	// CacheID is the replication group id or serverless cache name, and the prefix of the
	// RBAC user ids: a lower-case letter, then up to 31 letters, digits or single hyphens.
	CacheID string
	// Engine is Valkey (default) or Redis; IAM authentication needs Valkey 7.2+ or Redis 7+.
	Engine string
	// EngineVersion: nodes mode "8.0" (valkey) or "7.1" (redis) by default; serverless
	// uses the major version only.
	EngineVersion string
	// Mode is Nodes (default) or Serverless.
	Mode string
	// NodeType is the node class in Nodes mode; default cache.t4g.micro.
	NodeType string
	// NodeCount is the number of nodes (primary plus replicas) in Nodes mode, 1..6; more
	// than one turns on automatic failover and Multi-AZ.
	NodeCount int
	// SnapshotRetentionDays keeps daily snapshots; 0: none.
	SnapshotRetentionDays int
	// MaxDataGB and MaxECPUPerSecond cap a serverless cache (and so its cost); 0: no cap.
	MaxDataGB, MaxECPUPerSecond int
	// SubnetIDs are the private subnets, one per zone.
	SubnetIDs pulumi.StringArrayInput
	// SecurityGroupIDs admit the functions on Port.
	SecurityGroupIDs pulumi.StringArrayInput
	// Port is the node port in Nodes mode; 0: 6379. Serverless always listens on 6379.
	Port int
	// Users are the cache's users besides the disabled default one; at least one.
	Users []User
	// SlowLogRetentionDays, when > 0, delivers the slow log (Nodes mode) to a log group
	// kept that long.
	SlowLogRetentionDays int
	// LogKMSKeyArn encrypts the log group with a customer managed key; nil: CloudWatch
	// Logs' own encryption.
	LogKMSKeyArn pulumi.StringPtrInput
	// Tags are added to every resource that takes tags.
	Tags pulumi.StringMapInput
}

// Cache is an ElastiCache deployment and its RBAC users.
type Cache struct {
	pulumi.ResourceState

	// Address is the primary endpoint's host name.
	Address pulumi.StringOutput `pulumi:"address"`
	Port    pulumi.IntOutput    `pulumi:"port"`
	// Endpoint is "host:port" of the primary endpoint.
	Endpoint pulumi.StringOutput `pulumi:"endpoint"`
	// Arn is the replication group's or serverless cache's ARN.
	Arn pulumi.StringOutput `pulumi:"arn"`
	// UserIDs are the users' ids by User.Name.
	UserIDs pulumi.StringMapOutput `pulumi:"userIds"`

	// CacheID is the replication group id or serverless cache name (the IAM token's host).
	CacheID string
	// Serverless reports the mode; a serverless cache is always cluster mode.
	Serverless bool
	// Users are the deployed users by User.Name.
	Users map[string]UserRef
	// NodeIDs are the member clusters of a replication group (the CloudWatch CacheClusterId
	// dimension); empty when serverless.
	NodeIDs []string
}

// NewCache declares the cache.
func NewCache(ctx *pulumi.Context, name string, args *CacheArgs, opts ...pulumi.ResourceOption) (*Cache, error) {
	if args == nil {
		return nil, fmt.Errorf("cache %q: args are required", name)
	}
	a := *args
	if a.Engine == "" {
		a.Engine = Valkey
	}
	if a.Mode == "" {
		a.Mode = Nodes
	}
	if a.EngineVersion == "" {
		a.EngineVersion = map[string]string{Valkey: "8.0", Redis: "7.1"}[a.Engine]
	}
	if a.NodeType == "" {
		a.NodeType = "cache.t4g.micro"
	}
	if a.NodeCount == 0 {
		a.NodeCount = 1
	}
	if a.Port == 0 || a.Mode == Serverless {
		a.Port = 6379
	}
	if err := a.validate(); err != nil {
		return nil, fmt.Errorf("cache %q: %w", name, err)
	}

	c := &Cache{CacheID: a.CacheID, Serverless: a.Mode == Serverless}
	if err := ctx.RegisterComponentResource("shop:cache:Cache", name, c, opts...); err != nil {
		return nil, fmt.Errorf("cache %q: %w", name, err)
	}
	if err := c.declare(ctx, name, &a); err != nil {
		return nil, fmt.Errorf("cache %q: %w", name, err)
	}
	if err := ctx.RegisterResourceOutputs(c, pulumi.Map{
		"address":  c.Address,
		"port":     c.Port,
		"endpoint": c.Endpoint,
		"arn":      c.Arn,
		"userIds":  c.UserIDs,
	}); err != nil {
		return nil, fmt.Errorf("cache %q: %w", name, err)
	}
	return c, nil
}

func (c *Cache) declare(ctx *pulumi.Context, name string, a *CacheArgs) error {
	parent := pulumi.Parent(c)

	// A user group must hold a user named "default"; this one can never log in.
	defaultUser, err := elasticache.NewUser(ctx, name+"-default-user", &elasticache.UserArgs{
		UserId:             pulumi.String(a.CacheID + "-default"),
		UserName:           pulumi.String("default"),
		Engine:             pulumi.String(a.Engine),
		AccessString:       pulumi.String("off -@all"),
		AuthenticationMode: &elasticache.UserAuthenticationModeArgs{Type: pulumi.String("no-password-required")},
		Tags:               a.Tags,
	}, parent)
	if err != nil {
		return err
	}
	userIDs := pulumi.StringArray{defaultUser.UserId}
	ids := pulumi.StringMap{}
	c.Users = map[string]UserRef{}
	for _, u := range a.Users {
		// IAM authentication requires the user id and user name to be equal.
		id := a.CacheID + "-" + u.Name
		user, err := elasticache.NewUser(ctx, name+"-user-"+u.Name, &elasticache.UserArgs{
			UserId:             pulumi.String(id),
			UserName:           pulumi.String(id),
			Engine:             pulumi.String(a.Engine),
			AccessString:       pulumi.String(u.AccessString),
			AuthenticationMode: &elasticache.UserAuthenticationModeArgs{Type: pulumi.String("iam")},
			Tags:               a.Tags,
		}, parent)
		if err != nil {
			return err
		}
		userIDs = append(userIDs, user.UserId)
		ids[u.Name] = user.UserId
		c.Users[u.Name] = UserRef{ID: user.UserId, Arn: user.Arn}
	}
	group, err := elasticache.NewUserGroup(ctx, name+"-users", &elasticache.UserGroupArgs{
		UserGroupId: pulumi.String(a.CacheID + "-users"),
		Engine:      pulumi.String(a.Engine),
		UserIds:     userIDs,
		Tags:        a.Tags,
	}, parent)
	if err != nil {
		return err
	}
	c.UserIDs = ids.ToStringMapOutput()

	if a.Mode == Serverless {
		return c.declareServerless(ctx, name, a, group)
	}
	return c.declareNodes(ctx, name, a, group)
}

func (c *Cache) declareServerless(ctx *pulumi.Context, name string, a *CacheArgs, group *elasticache.UserGroup) error {
	limits := &elasticache.ServerlessCacheCacheUsageLimitsArgs{}
	if a.MaxDataGB > 0 {
		limits.DataStorage = &elasticache.ServerlessCacheCacheUsageLimitsDataStorageArgs{
			Maximum: pulumi.Int(a.MaxDataGB),
			Unit:    pulumi.String("GB"),
		}
	}
	if a.MaxECPUPerSecond > 0 {
		limits.EcpuPerSeconds = elasticache.ServerlessCacheCacheUsageLimitsEcpuPerSecondArray{
			&elasticache.ServerlessCacheCacheUsageLimitsEcpuPerSecondArgs{Maximum: pulumi.Int(a.MaxECPUPerSecond)},
		}
	}
	scArgs := &elasticache.ServerlessCacheArgs{
		Name:               pulumi.String(a.CacheID),
		Description:        pulumi.String("shop cache (serverless)"),
		Engine:             pulumi.String(a.Engine),
		MajorEngineVersion: pulumi.String(strings.SplitN(a.EngineVersion, ".", 2)[0]),
		SubnetIds:          a.SubnetIDs,
		SecurityGroupIds:   a.SecurityGroupIDs,
		UserGroupId:        group.UserGroupId,
		Tags:               a.Tags,
	}
	if a.MaxDataGB > 0 || a.MaxECPUPerSecond > 0 {
		scArgs.CacheUsageLimits = limits
	}
	if a.SnapshotRetentionDays > 0 {
		scArgs.SnapshotRetentionLimit = pulumi.Int(a.SnapshotRetentionDays)
		scArgs.DailySnapshotTime = pulumi.String("03:00")
	}
	sc, err := elasticache.NewServerlessCache(ctx, name+"-serverless", scArgs, pulumi.Parent(c))
	if err != nil {
		return err
	}
	primary := sc.Endpoints.Index(pulumi.Int(0))
	c.Address = primary.Address()
	c.Port = primary.Port()
	c.Endpoint = pulumi.Sprintf("%s:%d", c.Address, c.Port)
	c.Arn = sc.Arn
	return nil
}

func (c *Cache) declareNodes(ctx *pulumi.Context, name string, a *CacheArgs, group *elasticache.UserGroup) error {
	parent := pulumi.Parent(c)
	subnets, err := elasticache.NewSubnetGroup(ctx, name+"-subnets", &elasticache.SubnetGroupArgs{
		Name:        pulumi.String(a.CacheID + "-subnets"),
		Description: pulumi.String("shop cache private subnets"),
		SubnetIds:   a.SubnetIDs,
		Tags:        a.Tags,
	}, parent)
	if err != nil {
		return err
	}
	ha := a.NodeCount > 1
	rgArgs := &elasticache.ReplicationGroupArgs{
		ReplicationGroupId:       pulumi.String(a.CacheID),
		Description:              pulumi.String("shop cache"),
		Engine:                   pulumi.String(a.Engine),
		EngineVersion:            pulumi.String(a.EngineVersion),
		NodeType:                 pulumi.String(a.NodeType),
		NumCacheClusters:         pulumi.Int(a.NodeCount),
		Port:                     pulumi.Int(a.Port),
		SubnetGroupName:          subnets.Name,
		SecurityGroupIds:         a.SecurityGroupIDs,
		UserGroupIds:             pulumi.StringArray{group.UserGroupId},
		AtRestEncryptionEnabled:  pulumi.Bool(true),
		TransitEncryptionEnabled: pulumi.Bool(true),
		TransitEncryptionMode:    pulumi.String("required"),
		AutomaticFailoverEnabled: pulumi.Bool(ha),
		MultiAzEnabled:           pulumi.Bool(ha),
		AutoMinorVersionUpgrade:  pulumi.Bool(true),
		MaintenanceWindow:        pulumi.String("sun:05:00-sun:06:00"),
		SnapshotRetentionLimit:   pulumi.Int(a.SnapshotRetentionDays),
		Tags:                     a.Tags,
	}
	if a.SnapshotRetentionDays > 0 {
		rgArgs.SnapshotWindow = pulumi.String("03:00-04:00")
		rgArgs.FinalSnapshotIdentifier = pulumi.String(a.CacheID + "-final")
	}
	if a.SlowLogRetentionDays > 0 {
		slow, err := cloudwatch.NewLogGroup(ctx, name+"-slow-log", &cloudwatch.LogGroupArgs{
			Name:            pulumi.String("/shop/cache/" + a.CacheID + "/slow-log"),
			RetentionInDays: pulumi.Int(a.SlowLogRetentionDays),
			KmsKeyId:        a.LogKMSKeyArn,
			Tags:            a.Tags,
		}, parent)
		if err != nil {
			return err
		}
		rgArgs.LogDeliveryConfigurations = elasticache.ReplicationGroupLogDeliveryConfigurationArray{
			&elasticache.ReplicationGroupLogDeliveryConfigurationArgs{
				Destination:     slow.Name,
				DestinationType: pulumi.String("cloudwatch-logs"),
				LogFormat:       pulumi.String("json"),
				LogType:         pulumi.String("slow-log"),
			},
		}
	}
	rg, err := elasticache.NewReplicationGroup(ctx, name+"-nodes", rgArgs, parent)
	if err != nil {
		return err
	}
	for i := range a.NodeCount {
		c.NodeIDs = append(c.NodeIDs, fmt.Sprintf("%s-%03d", a.CacheID, i+1))
	}
	c.Address = rg.PrimaryEndpointAddress
	c.Port = rg.Port.Elem()
	c.Endpoint = pulumi.Sprintf("%s:%d", c.Address, c.Port)
	c.Arn = rg.Arn
	return nil
}

func (a *CacheArgs) validate() error {
	var errs []error
	if !cacheID.MatchString(a.CacheID) {
		errs = append(errs, fmt.Errorf("cache id %q: want a lower-case letter, then up to 31 letters, digits or single hyphens", a.CacheID))
	}
	switch a.Engine {
	case Valkey, Redis:
	default:
		errs = append(errs, fmt.Errorf("engine %q must be %s or %s", a.Engine, Valkey, Redis))
	}
	switch a.Mode {
	case Nodes:
		if a.NodeCount < 1 || a.NodeCount > 6 {
			errs = append(errs, fmt.Errorf("node count %d must be 1..6", a.NodeCount))
		}
		if !strings.HasPrefix(a.NodeType, "cache.") {
			errs = append(errs, fmt.Errorf("node type %q must be a cache.* class", a.NodeType))
		}
	case Serverless:
		if a.MaxDataGB < 0 || a.MaxDataGB > 5000 {
			errs = append(errs, fmt.Errorf("max data %d GB must be 0..5000", a.MaxDataGB))
		}
		if a.MaxECPUPerSecond != 0 && (a.MaxECPUPerSecond < 1000 || a.MaxECPUPerSecond > 15000000) {
			errs = append(errs, fmt.Errorf("max ECPU/s %d must be 0 or 1000..15000000", a.MaxECPUPerSecond))
		}
	default:
		errs = append(errs, fmt.Errorf("mode %q must be %s or %s", a.Mode, Nodes, Serverless))
	}
	if a.SnapshotRetentionDays < 0 || a.SnapshotRetentionDays > 35 {
		errs = append(errs, fmt.Errorf("snapshot retention %d days must be 0..35", a.SnapshotRetentionDays))
	}
	if a.SubnetIDs == nil || a.SecurityGroupIDs == nil {
		errs = append(errs, errors.New("subnet and security group ids are required"))
	}
	if len(a.Users) == 0 {
		errs = append(errs, errors.New("at least one user is required"))
	}
	seen := map[string]bool{}
	for _, u := range a.Users {
		if !userName.MatchString(u.Name) || seen[u.Name] {
			errs = append(errs, fmt.Errorf("user name %q: want lower-case letters and digits, once", u.Name))
		}
		seen[u.Name] = true
		if !strings.HasPrefix(u.AccessString, "on ") || strings.Contains(u.AccessString, "~*") || strings.Contains(u.AccessString, "allkeys") {
			errs = append(errs, fmt.Errorf("user %s: access string %q must enable the user (\"on \") and name its own key patterns", u.Name, u.AccessString))
		}
	}
	return errors.Join(errs...)
}
