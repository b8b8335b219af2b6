package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"strings"
)

// apiArgs are the flags every platform API command shares.
type apiArgs struct {
	fs     *flag.FlagSet
	output string
	conn   connFlags
}

// set reports whether the named flag was given on the command line.
func (a *apiArgs) set(name string) bool { return flagSet(a.fs, name) }

// apiCmd is one management subcommand as runAPI runs it.
type apiCmd struct {
	name, usage string
	output      bool // takes --output table|json
	nargs       int  // positional arguments wanted; -1: any
	// scopes are the platform scopes the command's calls need; its token
	// asks for exactly these.
	scopes []string
	// flags registers the subcommand's own flags; optional.
	flags func(a *apiArgs)
	// check validates what was parsed before anything is sent; optional.
	check func(a *apiArgs, pos []string) error
	// call makes the API calls and prints the result.
	call func(ctx context.Context, a *apiArgs, api *apiClient, pos []string) error
	// fields names the flag of a request member whose name is not the
	// flag's (e.g. before → cursor), for the API's validation problems.
	fields map[string]string
}

// runAPI runs a management subcommand over the platform API: it builds and
// parses the flags, runs the checks, resolves the connection, gets a token
// with the command's scopes and hands the client to call.
func (c *cli) runAPI(ctx context.Context, args []string, cmd apiCmd) error {
	a := &apiArgs{fs: c.newFlagSet(cmd.name, cmd.usage), output: "table"}
	if err := a.conn.register(c, a.fs); err != nil {
		return err
	}
	if cmd.output {
		a.fs.StringVar(&a.output, "output", "table", "output format: table, or json (the API's answer as it is)")
	}
	if cmd.flags != nil {
		cmd.flags(a)
	}
	pos, err := parse(a.fs, args)
	if err != nil {
		return err
	}
	if cmd.nargs >= 0 && len(pos) != cmd.nargs {
		a.fs.Usage()
		return fmt.Errorf("%w: want %d argument(s), got %d", errUsage, cmd.nargs, len(pos))
	}
	if a.output != "table" && a.output != "json" {
		return fmt.Errorf("%w: --output must be table or json", errUsage)
	}
	if cmd.check != nil {
		if err := cmd.check(a, pos); err != nil {
			return err
		}
	}
	cn, err := a.conn.resolve(c)
	if err != nil {
		return err
	}
	api, err := dialAPI(ctx, cn, cmd.scopes)
	if err != nil {
		return err
	}
	err = cmd.call(ctx, a, api, pos)
	var ap *apiProblem
	if errors.As(err, &ap) {
		a.nameFlags(ap, cmd.fields)
	}
	return err
}

// connFlagNames are the flags of the connection (connFlags.register).
var connFlagNames = map[string]bool{"issuer": true, "client-id": true, "client-secret-file": true, "ca-file": true, "data-dir": true, "output": true}

// nameFlags renames the fields of the API's validation problems to the
// flags that set them (display_name → --display-name), so the message
// speaks the command line's language; members no flag sets (a positional
// argument, a body member) keep their names.
func (a *apiArgs) nameFlags(ap *apiProblem, fields map[string]string) {
	for i, e := range ap.Errors {
		name, ok := fields[e.Field]
		if !ok {
			name = strings.ReplaceAll(e.Field, "_", "-")
			// The connection's flags set no request member: the
			// request's client_id is never --client-id, the admin client.
			if connFlagNames[name] {
				continue
			}
		}
		if name != "" && a.fs.Lookup(name) != nil {
			ap.Errors[i].Field = "--" + name
		}
	}
}

// emit prints an answer: as the API sent it (indented) for --output json,
// else through table.
func (c *cli) emit(a *apiArgs, res *apiResponse, table func() error) error {
	if a.output == "json" {
		var b bytes.Buffer
		if err := json.Indent(&b, bytes.TrimSpace(res.body), "", "  "); err != nil {
			return fmt.Errorf("the answer is not JSON: %w", err)
		}
		b.WriteByte('\n')
		_, err := c.stdout.Write(b.Bytes())
		return err
	}
	return table()
}
