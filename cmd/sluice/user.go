package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/sluicehq/sluice/platform/auth"
	"github.com/sluicehq/sluice/sdk/client"
	"github.com/sluicehq/sluice/sdk/wire"
	"github.com/urfave/cli/v2"
)

// userCommand is `sluice user`: users and service accounts and their API
// tokens (admin on the cluster).
func userCommand() *cli.Command {
	return &cli.Command{
		Name:  "user",
		Usage: "create, list and delete users and service accounts, and their API tokens",
		Description: "A principal authenticates with API tokens (or a client certificate whose CN is its\n" +
			"name); ACLs (sluice acl) say what it may do. A token is printed once, at creation:\n" +
			"the cluster keeps only its argon2id hash.\n\n" +
			"   sluice user create alice\n" +
			"   sluice user create billing-svc --service-account\n" +
			"   sluice user token create alice\n" +
			"   sluice user token revoke alice 3f2a9c0d1e4b5a67\n" +
			"   SLUICE_TOKEN=slu_... sluice topic list",
		Subcommands: []*cli.Command{
			{
				Name:      "create",
				Usage:     "create a user (or service account) with a first token, printed once",
				ArgsUsage: "NAME",
				Flags:     []cli.Flag{&cli.BoolFlag{Name: "service-account", Usage: "a service account rather than a user"}},
				Action:    userCreate,
			},
			{Name: "list", Aliases: []string{"ls"}, Usage: "list users and service accounts with their token ids", Action: userList},
			{Name: "delete", Usage: "delete a principal and its tokens (its ACLs stay)", ArgsUsage: "NAME", Action: userDelete},
			{
				Name:  "token",
				Usage: "create or revoke API tokens",
				Subcommands: []*cli.Command{
					{Name: "create", Usage: "add a token to a principal, printed once", ArgsUsage: "NAME", Action: tokenCreate},
					{Name: "revoke", Usage: "revoke a token by its id", ArgsUsage: "NAME TOKEN-ID", Action: tokenRevoke},
				},
			},
			{
				Name:  "whoami",
				Usage: "show the principal the server takes this CLI's credential for",
				Action: func(c *cli.Context) error {
					return withClient(c, func(cl *client.Client) error {
						w, err := cl.WhoAmI(c.Context)
						if err != nil {
							return err
						}
						if wantJSON(c) {
							return printJSON(c.App.Writer, w)
						}
						if w.Anonymous {
							_, err = fmt.Fprintf(c.App.Writer, "anonymous (auth on: %v)\n", w.AuthEnabled)
							return err
						}
						_, err = fmt.Fprintf(c.App.Writer, "%s (by %s)\n", w.Principal, w.Method)
						return err
					})
				},
			},
			{
				Name:  "gen-token",
				Usage: "print a fresh token without contacting a server (for --bootstrap-admin-token-file)",
				Action: func(c *cli.Context) error {
					tok, _ := auth.NewToken()
					_, err := fmt.Fprintln(c.App.Writer, tok)
					return err
				},
			},
		},
	}
}

func printNewToken(c *cli.Context, t wire.NewToken) error {
	if wantJSON(c) {
		return printJSON(c.App.Writer, t)
	}
	fmt.Fprintf(c.App.Writer, "principal: %s\ntoken id:  %s\ntoken:     %s\n", t.Principal, t.ID, t.Token)
	fmt.Fprintln(c.App.ErrWriter, "keep the token: it is shown only now")
	return nil
}

func userCreate(c *cli.Context) error {
	name, err := oneArg(c, "NAME")
	if err != nil {
		return err
	}
	kind := wire.PrincipalUser
	if c.Bool("service-account") {
		kind = wire.PrincipalServiceAccount
	}
	return withClient(c, func(cl *client.Client) error {
		t, err := cl.CreatePrincipal(c.Context, name, kind)
		if err != nil {
			return err
		}
		return printNewToken(c, t)
	})
}

func userList(c *cli.Context) error {
	return withClient(c, func(cl *client.Client) error {
		ps, err := cl.Principals(c.Context)
		if err != nil {
			return err
		}
		if wantJSON(c) {
			return printJSON(c.App.Writer, wire.PrincipalList{Principals: ps})
		}
		t := newTable(c.App.Writer, "NAME", "KIND", "CREATED", "TOKENS")
		for _, p := range ps {
			ids := make([]string, len(p.Tokens))
			for i, tk := range p.Tokens {
				ids[i] = tk.ID
			}
			t.row(p.Name, p.Kind, p.CreatedAt.Format(time.RFC3339), strings.Join(ids, ","))
		}
		return t.flush()
	})
}

func userDelete(c *cli.Context) error {
	name, err := oneArg(c, "NAME")
	if err != nil {
		return err
	}
	return withClient(c, func(cl *client.Client) error { return cl.DeletePrincipal(c.Context, name) })
}

func tokenCreate(c *cli.Context) error {
	name, err := oneArg(c, "NAME")
	if err != nil {
		return err
	}
	return withClient(c, func(cl *client.Client) error {
		t, err := cl.CreateToken(c.Context, name)
		if err != nil {
			return err
		}
		return printNewToken(c, t)
	})
}

func tokenRevoke(c *cli.Context) error {
	if c.NArg() != 2 {
		return fmt.Errorf("%s: want NAME TOKEN-ID (see --help)", c.Command.FullName())
	}
	return withClient(c, func(cl *client.Client) error {
		return cl.RevokeToken(c.Context, c.Args().Get(0), c.Args().Get(1))
	})
}

// withClient runs f with a client built from the global flags.
func withClient(c *cli.Context, f func(*client.Client) error) error {
	cl, err := newClient(c)
	if err != nil {
		return err
	}
	defer cl.Close()
	return f(cl)
}
