package servers

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Cluster is a Redis Cluster of primaries on loopback, the shape of a cluster-mode cache
// such as ElastiCache Serverless: keys are spread over hash slots, and a command or script
// whose keys are in different slots fails with CROSSSLOT, as it would in the cloud.
type Cluster struct {
	Nodes []*Process
	dir   string
}

// Addrs returns the nodes' addresses; any one of them is enough to seed a cluster client.
func (c *Cluster) Addrs() []string {
	out := make([]string, len(c.Nodes))
	for i, n := range c.Nodes {
		out[i] = n.Addr
	}
	return out
}

// Stop stops every node and removes the cluster's files; safe to call more than once.
func (c *Cluster) Stop() {
	for _, n := range c.Nodes {
		if n != nil {
			n.Stop()
		}
	}
	if c.dir != "" {
		_ = os.RemoveAll(c.dir)
	}
}

// StartRedisCluster starts n (at least 3) redis-server nodes with cluster mode enabled,
// joins them with `redis-cli --cluster create` (no replicas, slots split evenly) and waits
// until every node reports cluster_state:ok. On error, whatever started is stopped.
func StartRedisCluster(ctx context.Context, n int) (_ *Cluster, err error) {
	if n < 3 {
		return nil, fmt.Errorf("a Redis Cluster needs at least 3 primaries, not %d", n)
	}
	cli, err := needCommand("redis-cli", "install it with `make tools` (apt-get install redis-server)")
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "shop-redis-cluster-")
	if err != nil {
		return nil, err
	}
	c := &Cluster{dir: dir}
	defer func() {
		if err != nil {
			c.Stop()
		}
	}()
	for i := range n {
		nodeDir := filepath.Join(dir, strconv.Itoa(i))
		if err := os.Mkdir(nodeDir, 0o755); err != nil {
			return nil, err
		}
		p, err := StartRedis(ctx, RedisOptions{Dir: nodeDir, Args: []string{
			"--cluster-enabled", "yes",
			"--cluster-config-file", "nodes.conf",
			"--cluster-node-timeout", "5000",
		}})
		if err != nil {
			return nil, fmt.Errorf("cluster node %d: %w", i, err)
		}
		c.Nodes = append(c.Nodes, p)
	}

	args := append([]string{"--cluster", "create"}, c.Addrs()...)
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	createCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(createCtx, cli, args...).CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("redis-cli --cluster create: %w; its output:\n%s", err, strings.TrimSpace(string(out)))
	}
	for _, node := range c.Nodes {
		if err := node.waitReady(ctx, startTimeout, clusterStateOK(node.Addr)); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// clusterStateOK succeeds once the node at addr reports cluster_state:ok, that is, once it
// knows an owner for every slot.
func clusterStateOK(addr string) func(context.Context) error {
	return func(ctx context.Context) error {
		info, err := redisCommand(ctx, addr, "CLUSTER INFO")
		if err != nil {
			return err
		}
		if !strings.Contains(info, "cluster_state:ok") {
			return errors.New("cluster_state is not ok yet")
		}
		return nil
	}
}

// redisCommand sends one inline command and returns its reply, which must be a simple or
// bulk string.
func redisCommand(ctx context.Context, addr, command string) (string, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(time.Second))
	if _, err := conn.Write([]byte(command + "\r\n")); err != nil {
		return "", err
	}
	r := bufio.NewReader(conn)
	line, err := r.ReadString('\n')
	if err != nil {
		return "", err
	}
	line = strings.TrimSuffix(line, "\r\n")
	switch {
	case strings.HasPrefix(line, "+"):
		return line[1:], nil
	case strings.HasPrefix(line, "$"):
		n, err := strconv.Atoi(line[1:])
		if err != nil || n < 0 {
			return "", fmt.Errorf("%s answered %q", command, line)
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(r, buf); err != nil {
			return "", err
		}
		return string(buf[:n]), nil
	default:
		return "", fmt.Errorf("%s answered %q", command, line)
	}
}
