package orders

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
)

// luaName binds a Lua local to a Go constant, so a script and the Go code that writes its
// hash or reads its answers share one definition.
type luaName struct {
	lua   string
	value any // a string or an int
}

// luaArg is one ARGV position of a script: the name of the local it becomes (and of its
// key in an argv), and whether it is a number.
type luaArg struct {
	name   string
	number bool
}

// argv holds a script's arguments by name.
type argv map[string]any

// gateScript is a gate script with named arguments: its source starts by declaring the
// gateNames and one local per ARGV position, and it runs with an argv.
type gateScript struct {
	script *redis.Script
	args   []luaArg
}

func newGateScript(args []luaArg, body string) gateScript {
	var src strings.Builder
	for _, n := range gateNames {
		switch v := n.value.(type) {
		case string:
			fmt.Fprintf(&src, "local %s = %s\n", n.lua, strconv.Quote(v))
		default:
			fmt.Fprintf(&src, "local %s = %d\n", n.lua, v)
		}
	}
	for i, a := range args {
		if a.number {
			fmt.Fprintf(&src, "local %s = tonumber(ARGV[%d])\n", a.name, i+1)
		} else {
			fmt.Fprintf(&src, "local %s = ARGV[%d]\n", a.name, i+1)
		}
	}
	src.WriteString(body)
	return gateScript{script: redis.NewScript(src.String()), args: args}
}

// values puts the arguments in ARGV order; every named argument must be given, and no other.
func (s gateScript) values(in argv) ([]any, error) {
	if len(in) != len(s.args) {
		return nil, fmt.Errorf("gate script: %d arguments, want %d", len(in), len(s.args))
	}
	out := make([]any, len(s.args))
	for i, a := range s.args {
		v, ok := in[a.name]
		if !ok {
			return nil, fmt.Errorf("gate script: argument %q missing", a.name)
		}
		out[i] = v
	}
	return out, nil
}

// eval runs the script with EVAL, alone or queued on a pipeline (which cannot fall back
// from EVALSHA).
func (s gateScript) eval(ctx context.Context, c redis.Scripter, keys []string, args argv) *redis.Cmd {
	values, err := s.values(args)
	if err != nil {
		cmd := redis.NewCmd(ctx)
		cmd.SetErr(err)
		return cmd
	}
	return s.script.Eval(ctx, c, keys, values...)
}
