package servers

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// RedisOptions configures a redis-server.
type RedisOptions struct {
	// Port to listen on; 0 picks a free one. Restarting on the same port keeps clients' address valid.
	Port int
	// Args are extra redis-server arguments, such as "--cluster-enabled", "yes".
	Args []string
	// Dir is the working directory (cluster config files land there); empty: a new temporary one.
	Dir string
	// ACL, when set, are the server's users as ACL file lines ("user catalog on >pw ~k:* +get"),
	// written to Dir/users.acl: a restart with the same options has the same users. Without a
	// line for "default", Redis keeps its default user open.
	ACL []string
}

// StartRedis starts redis-server on loopback without persistence and waits for PONG.
func StartRedis(ctx context.Context, opts RedisOptions) (*Process, error) {
	bin, err := needCommand("redis-server", "install it with `make tools` (apt-get install redis-server)")
	if err != nil {
		return nil, err
	}
	if opts.Port != 0 {
		return startRedis(ctx, bin, opts, opts.Port)
	}
	return startOnFreePort(func(port int) (*Process, error) { return startRedis(ctx, bin, opts, port) })
}

func startRedis(ctx context.Context, bin string, opts RedisOptions, port int) (*Process, error) {
	var err error
	dir := opts.Dir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "shop-redis-"); err != nil {
			return nil, err
		}
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	argv := append([]string{bin,
		"--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--daemonize", "no",
		"--dir", dir, "--loglevel", "warning",
	}, opts.Args...)
	if len(opts.ACL) > 0 {
		file := filepath.Join(dir, "users.acl")
		if err := os.WriteFile(file, []byte(strings.Join(opts.ACL, "\n")+"\n"), 0o600); err != nil {
			return nil, fmt.Errorf("redis users: %w", err)
		}
		argv = append(argv, "--aclfile", file)
	}
	p, err := start("redis-server", addr, argv, dir)
	if err != nil {
		return nil, err
	}
	if err := p.waitReady(ctx, startTimeout, redisPing(addr)); err != nil {
		return nil, err
	}
	return p, nil
}

// redisPing speaks just enough RESP to see the server answer: PONG, or NOAUTH when its
// default user is off.
func redisPing(addr string) func(context.Context) error {
	return func(ctx context.Context) error {
		var d net.Dialer
		c, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return err
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(time.Second))
		if _, err := c.Write([]byte("PING\r\n")); err != nil {
			return err
		}
		line, err := bufio.NewReader(c).ReadString('\n')
		if err != nil {
			return err
		}
		if line != "+PONG\r\n" && !strings.HasPrefix(line, "-NOAUTH") {
			return fmt.Errorf("PING answered %q", line)
		}
		return nil
	}
}
