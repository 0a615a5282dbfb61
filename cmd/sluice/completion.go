package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/urfave/cli/v2"
)

// completionFlag is the flag cli's completion protocol appends: the
// shell runs `sluice WORDS... --generate-bash-completion` and offers the
// lines printed.
const completionFlag = "--generate-bash-completion"

func completionCommand() *cli.Command {
	return &cli.Command{
		Name:      "completion",
		Usage:     "print a shell completion script (bash or zsh)",
		ArgsUsage: "bash|zsh",
		Description: "Completes commands, subcommands and flags.\n\n" +
			"   bash:  source <(sluice completion bash)      # or save it in /etc/bash_completion.d/sluice\n" +
			"   zsh:   source <(sluice completion zsh)       # after compinit",
		Action: func(c *cli.Context) error {
			shell, err := oneArg(c, "shell (bash or zsh)")
			if err != nil {
				return err
			}
			script, ok := completionScripts[shell]
			if !ok {
				return usagef("completion: unknown shell %q: want bash or zsh", shell)
			}
			fmt.Fprint(c.App.Writer, strings.TrimLeft(script, "\n"))
			return nil
		},
	}
}

// completionScripts are urfave/cli's autocomplete scripts with the program
// name filled in.
var completionScripts = map[string]string{
	"bash": `
# bash completion for sluice (sluice completion bash)
_sluice_bash_autocomplete() {
  if [[ "${COMP_WORDS[0]}" != "source" ]]; then
    local cur words requestComp opts
    COMPREPLY=()
    cur="${COMP_WORDS[COMP_CWORD]}"
    words=("${COMP_WORDS[@]:0:$COMP_CWORD}")
    if [[ "$cur" == "-"* ]]; then
      requestComp="${words[*]} ${cur} ` + completionFlag + `"
    else
      requestComp="${words[*]} ` + completionFlag + `"
    fi
    opts=$(eval "${requestComp}" 2>/dev/null)
    COMPREPLY=($(compgen -W "${opts}" -- ${cur}))
    return 0
  fi
}
complete -o bashdefault -o default -o nospace -F _sluice_bash_autocomplete sluice
`,
	"zsh": `
#compdef sluice
# zsh completion for sluice (sluice completion zsh)
_sluice_zsh_autocomplete() {
  local -a opts
  local cur
  cur=${words[-1]}
  if [[ "$cur" == "-"* ]]; then
    opts=("${(@f)$(${words[@]:0:#words[@]-1} ${cur} ` + completionFlag + `)}")
  else
    opts=("${(@f)$(${words[@]:0:#words[@]-1} ` + completionFlag + `)}")
  fi
  if [[ "${opts[1]}" != "" ]]; then
    _describe 'values' opts
  else
    _files
  fi
}
compdef _sluice_zsh_autocomplete sluice
`,
}

// completing reports whether args ask for completions: then they go to cli
// as they are (interleaving would move the flag from the end).
func completing(args []string) bool {
	return len(args) > 1 && args[len(args)-1] == completionFlag
}

// setCompletion makes every command answer the completion protocol from
// args (cli's default reads os.Args, which is wrong when run is called
// in-process): after a word that starts with "-", the command's flags with
// that prefix; else its subcommands.
func setCompletion(app *cli.App, args []string) {
	var word string
	if len(args) > 2 {
		word = args[len(args)-2]
	}
	suggest := func(w io.Writer, cmds []*cli.Command, flags []cli.Flag) {
		if strings.HasPrefix(word, "-") {
			for _, f := range flags {
				for _, n := range f.Names() {
					name := "--" + n
					if len(n) == 1 {
						name = "-" + n
					}
					if strings.HasPrefix(name, word) {
						fmt.Fprintln(w, name)
					}
				}
			}
			return
		}
		for _, c := range cmds {
			if !c.Hidden {
				fmt.Fprintln(w, c.Name)
			}
		}
	}
	app.BashComplete = func(c *cli.Context) { suggest(c.App.Writer, app.Commands, app.Flags) }
	var walk func([]*cli.Command)
	walk = func(cmds []*cli.Command) {
		for _, cmd := range cmds {
			cmd.BashComplete = func(c *cli.Context) { suggest(c.App.Writer, cmd.Subcommands, cmd.Flags) }
			walk(cmd.Subcommands)
		}
	}
	walk(app.Commands)
}
