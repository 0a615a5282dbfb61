package main

import (
	"strings"

	"github.com/urfave/cli/v2"
)

// interleaveArgs lets flags follow positional arguments, as in
// `sluice topic create orders --partitions 3`. urfave/cli (like package
// flag) stops at the first positional argument, so this moves the flags of
// the command being run in front of its positional arguments, keeping their
// order. Global flags (--server, --output) may appear anywhere: they move
// to the front. Everything after "--" stays positional.
func interleaveArgs(app *cli.App, args []string) []string {
	if len(args) == 0 {
		return args
	}
	rest := args[1:]
	var glob, out []string
	flags, cmds := app.Flags, app.Commands
	for len(rest) > 0 {
		tok := rest[0]
		if tok == "--" {
			return join(args[0], glob, append(out, rest...))
		}
		if isFlag(tok) {
			n, global := classify(app, flags, tok, rest)
			if global {
				glob = append(glob, rest[:n]...)
			} else {
				out = append(out, rest[:n]...)
			}
			rest = rest[n:]
			continue
		}
		cmd := findCommand(cmds, tok)
		if cmd == nil {
			out = append(out, rest...) // unknown: let cli report it
			return join(args[0], glob, out)
		}
		out = append(out, tok)
		rest = rest[1:]
		flags, cmds = cmd.Flags, cmd.Subcommands
		if len(cmds) == 0 {
			break
		}
	}
	// rest belongs to a leaf command: flags first, then positionals.
	var fl, pos []string
	for len(rest) > 0 {
		tok := rest[0]
		if tok == "--" {
			pos = append(pos, rest...)
			break
		}
		if isFlag(tok) {
			n, global := classify(app, flags, tok, rest)
			if global {
				glob = append(glob, rest[:n]...)
			} else {
				fl = append(fl, rest[:n]...)
			}
			rest = rest[n:]
			continue
		}
		pos = append(pos, tok)
		rest = rest[1:]
	}
	out = append(out, fl...)
	if len(pos) > 0 && pos[0] != "--" {
		out = append(out, "--")
	}
	return join(args[0], glob, append(out, pos...))
}

func join(prog string, glob, rest []string) []string {
	out := append([]string{prog}, glob...)
	return append(out, rest...)
}

// classify returns how many tokens the flag at rest[0] takes and whether it
// is a global flag rather than one of the current command's.
func classify(app *cli.App, flags []cli.Flag, tok string, rest []string) (int, bool) {
	if hasFlag(flags, tok) {
		return flagTokens(flags, tok, rest), false
	}
	if hasFlag(app.Flags, tok) {
		return flagTokens(app.Flags, tok, rest), true
	}
	return 1, false // unknown (or help): let cli report it
}

func hasFlag(flags []cli.Flag, tok string) bool {
	name, _, _ := strings.Cut(strings.TrimLeft(tok, "-"), "=")
	for _, f := range flags {
		for _, n := range f.Names() {
			if n == name {
				return true
			}
		}
	}
	return false
}

func isFlag(tok string) bool { return len(tok) > 1 && tok[0] == '-' }

// flagTokens is how many tokens the flag at rest[0] uses: 2 when it takes a
// value given as the next token, else 1.
func flagTokens(flags []cli.Flag, tok string, rest []string) int {
	name := strings.TrimLeft(tok, "-")
	if strings.Contains(name, "=") {
		return 1
	}
	for _, f := range flags {
		for _, n := range f.Names() {
			if n != name {
				continue
			}
			if _, isBool := f.(*cli.BoolFlag); isBool {
				return 1
			}
			if len(rest) > 1 {
				return 2
			}
			return 1
		}
	}
	return 1 // unknown flag (or help): let cli report it
}

func findCommand(cmds []*cli.Command, name string) *cli.Command {
	for _, c := range cmds {
		if c.HasName(name) {
			return c
		}
	}
	return nil
}
