package main

import (
	"fmt"
	"strings"

	"github.com/sluicehq/sluice/platform/meta"
	"github.com/sluicehq/sluice/sdk/client"
	"github.com/sluicehq/sluice/sdk/wire"
	"github.com/urfave/cli/v2"
)

// aclCommand is `sluice acl`: access control entries (admin on the
// cluster).
func aclCommand() *cli.Command {
	return &cli.Command{
		Name:  "acl",
		Usage: "add, list and remove access control entries",
		Description: "An entry allows (or denies) a principal an operation on resources: Kafka's model.\n" +
			"Resource types: " + strings.Join(meta.ResourceTypes, ", ") + ". Operations: " + strings.Join(meta.Operations, ", ") + ".\n" +
			"A deny wins over every allow; without an allow, a request is refused. Principal \"*\"\n" +
			"is every authenticated principal; resource \"*\" every resource of the type; --prefix\n" +
			"matches names starting with the resource. admin on the cluster allows everything.\n\n" +
			"   sluice acl add --principal alice --topic orders --operation produce\n" +
			"   sluice acl add --principal billing-svc --topic billing. --prefix --operation consume\n" +
			"   sluice acl add --principal billing-svc --group billing --operation consume\n" +
			"   sluice acl add --principal '*' --topic secret --operation all --deny\n" +
			"   sluice acl add --principal ops --cluster --operation admin\n" +
			"   sluice acl list --principal alice\n" +
			"   sluice acl remove acl-42",
		Subcommands: []*cli.Command{
			{
				Name:  "add",
				Usage: "add an entry (an equal one is kept as it is)",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "principal", Required: true, Usage: "principal `NAME` (user, service account or certificate CN), or *"},
					&cli.StringFlag{Name: "topic", Usage: "topic `NAME` (or prefix with --prefix, or *)"},
					&cli.StringFlag{Name: "group", Usage: "consumer group `NAME`"},
					&cli.StringFlag{Name: "plugin", Usage: "plugin `NAME`"},
					&cli.BoolFlag{Name: "cluster", Usage: "the cluster resource"},
					&cli.BoolFlag{Name: "prefix", Usage: "the name is a prefix"},
					&cli.StringFlag{Name: "operation", Required: true, Usage: "`OP`: " + strings.Join(meta.Operations, ", ")},
					&cli.BoolFlag{Name: "deny", Usage: "deny rather than allow"},
				},
				Action: aclAdd,
			},
			{
				Name:    "list",
				Aliases: []string{"ls"},
				Usage:   "list entries",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "principal", Usage: "only entries of `NAME`"},
					&cli.StringFlag{Name: "resource-type", Usage: "only entries on `TYPE`"},
				},
				Action: aclList,
			},
			{Name: "remove", Aliases: []string{"rm"}, Usage: "remove entries by id", ArgsUsage: "ID...", Action: aclRemove},
		},
	}
}

func aclAdd(c *cli.Context) error {
	acl := wire.ACL{Principal: c.String("principal"), Operation: c.String("operation"), Pattern: meta.PatternLiteral, Effect: meta.EffectAllow}
	n := 0
	for _, rt := range []string{meta.ResourceTopic, meta.ResourceGroup, meta.ResourcePlugin} {
		if v := c.String(rt); v != "" {
			acl.ResourceType, acl.Resource = rt, v
			n++
		}
	}
	if c.Bool("cluster") {
		acl.ResourceType, acl.Resource = meta.ResourceCluster, meta.ClusterResourceName
		n++
	}
	if n != 1 {
		return fmt.Errorf("acl add: name exactly one resource: --topic, --group, --plugin or --cluster")
	}
	if c.Bool("prefix") {
		acl.Pattern = meta.PatternPrefix
	}
	if c.Bool("deny") {
		acl.Effect = meta.EffectDeny
	}
	return withClient(c, func(cl *client.Client) error {
		out, err := cl.AddACL(c.Context, acl)
		if err != nil {
			return err
		}
		if wantJSON(c) {
			return printJSON(c.App.Writer, out)
		}
		_, err = fmt.Fprintln(c.App.Writer, out.ID)
		return err
	})
}

func aclList(c *cli.Context) error {
	return withClient(c, func(cl *client.Client) error {
		acls, err := cl.ACLs(c.Context, c.String("principal"), c.String("resource-type"))
		if err != nil {
			return err
		}
		if wantJSON(c) {
			return printJSON(c.App.Writer, wire.ACLList{ACLs: acls})
		}
		t := newTable(c.App.Writer, "ID", "PRINCIPAL", "EFFECT", "OPERATION", "RESOURCE-TYPE", "PATTERN", "RESOURCE")
		for _, a := range acls {
			t.row(a.ID, a.Principal, a.Effect, a.Operation, a.ResourceType, a.Pattern, a.Resource)
		}
		return t.flush()
	})
}

func aclRemove(c *cli.Context) error {
	if c.NArg() == 0 {
		return fmt.Errorf("%s: missing ID (see --help)", c.Command.FullName())
	}
	return withClient(c, func(cl *client.Client) error {
		for _, id := range c.Args().Slice() {
			if err := cl.RemoveACL(c.Context, id); err != nil {
				return err
			}
		}
		return nil
	})
}
