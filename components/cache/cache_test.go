package cache_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/shop-serverless/shop/components/awsmock"
	"github.com/shop-serverless/shop/components/cache"
)

func TestCache(t *testing.T) {
	tests := []struct {
		name         string
		args         cache.CacheArgs
		wantType     string
		wantEndpoint string
		wantNodes    []string
		check        func(t *testing.T, in map[string]any)
	}{
		{
			name:         "single node valkey (dev)",
			args:         cache.CacheArgs{CacheID: "shop-dev-cache"},
			wantType:     "aws:elasticache/replicationGroup:ReplicationGroup",
			wantEndpoint: `master\.shop-dev-cache\.[a-z0-9]{6}\.euc1\.cache\.amazonaws\.com:6379`,
			wantNodes:    []string{"shop-dev-cache-001"},
			check: func(t *testing.T, in map[string]any) {
				expect(t, in, map[string]any{
					"engine": "valkey", "engineVersion": "8.0", "nodeType": "cache.t4g.micro", "numCacheClusters": 1.0,
					"automaticFailoverEnabled": false, "multiAzEnabled": false, "snapshotRetentionLimit": 0.0,
				})
				if in["snapshotWindow"] != nil || in["logDeliveryConfigurations"] != nil {
					t.Errorf("no snapshots or slow log by default: %v", in)
				}
			},
		},
		{
			name:         "multi-AZ redis with failover, snapshots and slow log (prod)",
			args:         cache.CacheArgs{CacheID: "shop-prod-cache", Engine: cache.Redis, NodeType: "cache.r7g.large", NodeCount: 2, SnapshotRetentionDays: 7, SlowLogRetentionDays: 30},
			wantType:     "aws:elasticache/replicationGroup:ReplicationGroup",
			wantEndpoint: `master\.shop-prod-cache\.[a-z0-9]{6}\.euc1\.cache\.amazonaws\.com:6379`,
			wantNodes:    []string{"shop-prod-cache-001", "shop-prod-cache-002"},
			check: func(t *testing.T, in map[string]any) {
				expect(t, in, map[string]any{
					"engine": "redis", "engineVersion": "7.1", "numCacheClusters": 2.0,
					"automaticFailoverEnabled": true, "multiAzEnabled": true, "snapshotRetentionLimit": 7.0,
					"finalSnapshotIdentifier": "shop-prod-cache-final",
				})
				if len(in["logDeliveryConfigurations"].([]any)) != 1 {
					t.Errorf("slow log = %v", in["logDeliveryConfigurations"])
				}
			},
		},
		{
			name:         "serverless with caps",
			args:         cache.CacheArgs{CacheID: "shop-x-cache", Mode: cache.Serverless, MaxDataGB: 5, MaxECPUPerSecond: 5000, SnapshotRetentionDays: 1},
			wantType:     "aws:elasticache/serverlessCache:ServerlessCache",
			wantEndpoint: `shop-x-cache-[a-z0-9]{6}\.serverless\.euc1\.cache\.amazonaws\.com:6379`,
			check: func(t *testing.T, in map[string]any) {
				expect(t, in, map[string]any{"engine": "valkey", "majorEngineVersion": "8", "userGroupId": "shop-x-cache-users", "snapshotRetentionLimit": 1.0})
				limits := in["cacheUsageLimits"].(map[string]any)
				if limits["dataStorage"].(map[string]any)["maximum"] != 5.0 {
					t.Errorf("limits = %v", limits)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.args.SubnetIDs = pulumi.ToStringArray([]string{"subnet-a", "subnet-b"})
			tt.args.SecurityGroupIDs = pulumi.ToStringArray([]string{"sg-cache"})
			tt.args.Users = testUsers
			m := awsmock.New("shop", "test")
			var endpoint, userArn string
			var c *cache.Cache
			if err := m.Run(func(ctx *pulumi.Context) error {
				var err error
				c, err = cache.NewCache(ctx, "cache", &tt.args)
				if err != nil {
					return err
				}
				awsmock.Capture(ctx, "endpoint", c.Endpoint, &endpoint)
				awsmock.Capture(ctx, "userArn", c.Users["reader"].Arn, &userArn)
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			m.CheckChildren(t, "shop:cache:Cache", "cache")
			main := m.OfType(tt.wantType)
			if len(main) != 1 {
				t.Fatalf("%d %s", len(main), tt.wantType)
			}
			in := main[0].Inputs
			if tt.wantType == "aws:elasticache/replicationGroup:ReplicationGroup" {
				expect(t, in, map[string]any{"atRestEncryptionEnabled": true, "transitEncryptionEnabled": true, "transitEncryptionMode": "required"})
				if ug := in["userGroupIds"].([]any); len(ug) != 1 || ug[0] != tt.args.CacheID+"-users" {
					t.Errorf("userGroupIds = %v", ug)
				}
			}
			if in["authToken"] != nil {
				t.Error("static auth token")
			}
			tt.check(t, in)

			users := m.OfType("aws:elasticache/user:User")
			if len(users) != 1+len(testUsers) {
				t.Fatalf("%d users", len(users))
			}
			access := map[string]string{}
			for _, u := range users {
				if u.Inputs["passwords"] != nil {
					t.Errorf("user %s has a password", u.Name)
				}
				mode := u.Inputs["authenticationMode"].(map[string]any)["type"]
				switch u.Inputs["userName"] {
				case "default":
					if !strings.HasPrefix(u.Inputs["accessString"].(string), "off") {
						t.Errorf("default user is enabled: %v", u.Inputs)
					}
				default:
					if mode != "iam" || u.Inputs["userId"] != u.Inputs["userName"] {
						t.Errorf("user = %v", u.Inputs)
					}
					access[u.Inputs["userId"].(string)] = u.Inputs["accessString"].(string)
				}
			}
			for _, u := range testUsers {
				if got := access[tt.args.CacheID+"-"+u.Name]; got != u.AccessString {
					t.Errorf("user %s: access string %q, want %q", u.Name, got, u.AccessString)
				}
			}
			// ElastiCache endpoints: name, a random part, the region's short code.
			if !regexp.MustCompile(`^` + tt.wantEndpoint + `$`).MatchString(endpoint) {
				t.Errorf("endpoint = %q, want %s", endpoint, tt.wantEndpoint)
			}
			if !strings.HasSuffix(userArn, ":user:"+tt.args.CacheID+"-reader") {
				t.Errorf("user ARN = %q", userArn)
			}
			if strings.Join(c.NodeIDs, ",") != strings.Join(tt.wantNodes, ",") || c.Serverless != (tt.args.Mode == cache.Serverless) {
				t.Errorf("NodeIDs = %v, Serverless = %v", c.NodeIDs, c.Serverless)
			}
		})
	}
}

func TestCacheValidation(t *testing.T) {
	tests := []struct {
		name string
		args cache.CacheArgs
		want string
	}{
		{"bad id", cache.CacheArgs{CacheID: "Shop_Cache"}, "cache id"},
		{"double hyphen", cache.CacheArgs{CacheID: "shop--cache"}, "cache id"},
		{"bad engine", cache.CacheArgs{CacheID: "c", Engine: "memcached"}, "engine"},
		{"bad mode", cache.CacheArgs{CacheID: "c", Mode: "cluster"}, "mode"},
		{"too many nodes", cache.CacheArgs{CacheID: "c", NodeCount: 7}, "node count"},
		{"bad ecpu", cache.CacheArgs{CacheID: "c", Mode: cache.Serverless, MaxECPUPerSecond: 10}, "ECPU"},
		{"disabled user", cache.CacheArgs{CacheID: "c", Users: []cache.User{{Name: "a", AccessString: "off ~k:*"}}}, "access string"},
		{"every key", cache.CacheArgs{CacheID: "c", Users: []cache.User{{Name: "a", AccessString: "on ~* +get"}}}, "access string"},
		{"no users", cache.CacheArgs{CacheID: "c"}, "at least one user"},
		{"user twice", cache.CacheArgs{CacheID: "c", Users: []cache.User{testUsers[0], testUsers[0]}}, "user name"},
		{"bad user name", cache.CacheArgs{CacheID: "c", Users: []cache.User{{Name: "Cat-1", AccessString: "on ~k:* +get"}}}, "user name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.args.SubnetIDs = pulumi.ToStringArray([]string{"s"})
			tt.args.SecurityGroupIDs = pulumi.ToStringArray([]string{"g"})
			if tt.args.Users == nil && tt.want != "at least one user" {
				tt.args.Users = testUsers
			}
			err := awsmock.New("shop", "test").Run(func(ctx *pulumi.Context) error {
				_, err := cache.NewCache(ctx, "cache", &tt.args)
				return err
			})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

// testUsers are two users with their own keys and commands.
var testUsers = []cache.User{
	{Name: "reader", AccessString: "on ~doc:* -@all +@connection +get"},
	{Name: "writer", AccessString: "on ~doc:* ~lock:* -@all +@connection +set +del"},
}

func expect(t *testing.T, in map[string]any, want map[string]any) {
	t.Helper()
	for k, v := range want {
		if in[k] != v {
			t.Errorf("%s = %v, want %v", k, in[k], v)
		}
	}
}
