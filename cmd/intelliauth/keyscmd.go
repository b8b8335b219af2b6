package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"

	"github.com/intelliauth/intelliauth/internal/admin"
	"github.com/intelliauth/intelliauth/internal/token"
)

// The keys commands are the operator's: signing keys and the master key
// that seals them are not part of the platform API, so they stay on the
// database (runAdmin) with --tenant.

// ---- keys ----

// keysVerbs are the subcommands of keys, in the order help lists them.
func keysVerbs() []verb {
	return []verb{
		{"list", "list a tenant's signing keys and their states", keysList},
		{"rotate", "start signing with the published next key; the current one stays published to verify", keysRotate},
		{"master", "print a new random master key", keysMaster},
	}
}

func printKeys(w io.Writer, output string, keys []admin.KeyDoc) error {
	if output == "json" {
		return writeJSON(w, keys)
	}
	table(w, "KID\tALG\tSTATE", func(tw io.Writer) {
		for _, k := range keys {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", k.KID, k.Alg, k.State)
		}
	})
	return nil
}

func keysList(ctx context.Context, c *cli, args []string) error {
	return c.runAdmin(ctx, args, adminCmd{
		name: "keys list", usage: "keys list --tenant T [flags]", tenant: true, output: true,
		call: func(a *adminArgs, svc *admin.Service, _ []string) error {
			keys, err := svc.ListKeys(ctx, admin.CLI(), a.tenant)
			if err != nil {
				return err
			}
			return printKeys(c.stdout, a.output, keys)
		},
	})
}

func keysRotate(ctx context.Context, c *cli, args []string) error {
	return c.runAdmin(ctx, args, adminCmd{
		name: "keys rotate", usage: "keys rotate --tenant T [flags]", tenant: true, output: true, needKey: true,
		call: func(a *adminArgs, svc *admin.Service, _ []string) error {
			keys, err := svc.RotateKeys(ctx, admin.CLI(), a.tenant)
			if err != nil {
				return err
			}
			if a.output == "table" {
				fmt.Fprintln(c.stdout, "rotated: the published next key now signs; the old one stays published as previous.")
			}
			return printKeys(c.stdout, a.output, keys)
		},
	})
}

// keysMaster prints a fresh master key; it touches no database.
func keysMaster(ctx context.Context, c *cli, args []string) error {
	fs := c.newFlagSet("keys master", "keys master")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	b := make([]byte, token.MasterKeySize)
	if _, err := rand.Read(b); err != nil {
		return err
	}
	fmt.Fprintln(c.stdout, base64.StdEncoding.EncodeToString(b))
	return nil
}
