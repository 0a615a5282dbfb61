package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"
)

// usageError is a mistake in how the CLI was called: an unknown command or
// flag, a missing argument or required flag. It prints as its message and
// maps to the JSON error code "usage".
type usageErr struct{ msg string }

func (e *usageErr) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageErr{msg: fmt.Sprintf(format, args...)}
}

// isUsage reports whether err is (or wraps) a usage error.
func isUsage(err error) bool {
	var ue *usageErr
	return errors.As(err, &ue)
}

// resolveCommand checks args (already interleaved) against the command
// tree before urfave/cli sees them, because cli handles three cases badly:
//
//   - an unknown command or subcommand only prints a line and exits 0; here
//     it is a usage error (exit 1);
//   - --help (or -h) after a positional argument makes cli look the
//     argument up as a command name; here --help anywhere before "--"
//     shows the help of the command named so far, whatever else is given;
//   - `sluice help topic create` (and `sluice topic help create`) is the
//     same as `sluice topic create --help`; in a leaf command "help" is an
//     argument like any other (a topic may be called help).
//
// It returns the arguments to run.
func resolveCommand(app *cli.App, args []string) ([]string, error) {
	if len(args) < 2 {
		return args, nil
	}
	var (
		glob  []string // flags before the first command
		path  []string // command names
		help  bool
		cmds  = app.Commands
		flags = app.Flags
		leaf  bool
	)
	rest := args[1:]
	for len(rest) > 0 {
		tok := rest[0]
		if tok == "--" {
			break
		}
		if isFlag(tok) {
			if tok == "-h" || tok == "--help" || tok == "-help" {
				help = true
				rest = rest[1:]
				continue
			}
			n, _ := classify(app, flags, tok, rest)
			if len(path) == 0 {
				glob = append(glob, rest[:n]...)
			}
			rest = rest[n:]
			continue
		}
		if leaf {
			rest = rest[1:] // a positional argument of the leaf command
			continue
		}
		if tok == "help" && !help {
			help = true
			rest = rest[1:]
			continue
		}
		cmd := findCommand(cmds, tok)
		if cmd == nil {
			if len(path) == 0 {
				return nil, usagef("unknown command %q (see sluice --help)", tok)
			}
			full := "sluice " + strings.Join(path, " ")
			return nil, usagef("unknown command %q for %q (see %s --help)", tok, full, full)
		}
		path = append(path, cmd.Name)
		cmds, flags = cmd.Subcommands, cmd.Flags
		leaf = len(cmds) == 0
		rest = rest[1:]
	}
	if !help {
		return args, nil
	}
	out := append([]string{args[0]}, glob...)
	out = append(out, path...)
	return append(out, "--help"), nil
}

// requireFlags replaces cli's Required flags with a check of the same
// flags in the command's Before: cli's own check prints the command's help
// looked up by the first positional argument ("unknown command FILE")
// before its error. The flag's usage text gains " (required)".
func requireFlags(cmds []*cli.Command) {
	for _, cmd := range cmds {
		requireFlags(cmd.Subcommands)
		var names []string
		for _, f := range cmd.Flags {
			if n := unrequire(f); n != "" {
				names = append(names, n)
			}
		}
		if len(names) == 0 {
			continue
		}
		prev := cmd.Before
		cmd.Before = func(c *cli.Context) error {
			for _, n := range names {
				if !c.IsSet(n) {
					return usagef("%s: missing required flag --%s (see %s --help)", commandName(c), n, commandPath(c))
				}
			}
			if prev != nil {
				return prev(c)
			}
			return nil
		}
	}
}

// unrequire clears Required on f and returns its name, or "" when f was
// not required. Every flag type the CLI marks Required is listed;
// TestRequiredFlagsAreChecked fails on a new one.
func unrequire(f cli.Flag) string {
	switch f := f.(type) {
	case *cli.StringFlag:
		if f.Required {
			f.Required, f.Usage = false, f.Usage+" (required)"
			return f.Name
		}
	case *cli.IntFlag:
		if f.Required {
			f.Required, f.Usage = false, f.Usage+" (required)"
			return f.Name
		}
	case *cli.Int64Flag:
		if f.Required {
			f.Required, f.Usage = false, f.Usage+" (required)"
			return f.Name
		}
	case *cli.StringSliceFlag:
		if f.Required {
			f.Required, f.Usage = false, f.Usage+" (required)"
			return f.Name
		}
	}
	return ""
}

// dedupeMessage drops a ": "-separated part of an error message that
// repeats the part before it, as when the client and the server both name
// the operation: "reset offsets of group web: reset offsets of group web:
// unknown topic" becomes "reset offsets of group web: unknown topic".
func dedupeMessage(msg string) string {
	var out []string
	for _, p := range strings.Split(msg, ": ") {
		if len(out) > 0 && p == out[len(out)-1] {
			continue
		}
		out = append(out, p)
	}
	return strings.Join(out, ": ")
}
