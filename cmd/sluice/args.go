package main

import (
	"strings"

	"github.com/urfave/cli/v2"
)

// interleaveArgs lets flags follow positional arguments, as in
// `sluice topic create orders --partitions 3`. urfave/cli (like package
// flag) stops at the first positional argument, so this moves the flags of
// the command being run in front of its positional arguments, keeping their
// order. Global flags and command names stay where they are; everything
// after "--" stays positional.
func interleaveArgs(app *cli.App, args []string) []string {
	if len(args) == 0 {
		return args
	}
	out := []string{args[0]}
	flags, cmds := app.Flags, app.Commands
	rest := args[1:]
	for len(rest) > 0 {
		tok := rest[0]
		if tok == "--" {
			return append(out, rest...)
		}
		if isFlag(tok) {
			n := flagTokens(flags, tok, rest)
			out = append(out, rest[:n]...)
			rest = rest[n:]
			continue
		}
		cmd := findCommand(cmds, tok)
		if cmd == nil {
			return append(out, rest...) // unknown: let cli report it
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
			n := flagTokens(flags, tok, rest)
			fl = append(fl, rest[:n]...)
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
	return append(out, pos...)
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
