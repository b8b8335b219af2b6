package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/intelliauth/intelliauth/internal/admin"
	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/store"
)

// ---- passwords ----

// passwordFlags are --password-stdin and --password-file. There is no flag
// taking the password itself: it would land in shell history and in the
// process list.
type passwordFlags struct {
	stdin bool
	file  string
}

func (p *passwordFlags) register(a *adminArgs) {
	a.fs.BoolVar(&p.stdin, "password-stdin", false, "read the password from the first line of standard input")
	a.fs.StringVar(&p.file, "password-file", "", "read the password from the first line of this file (which only its owner may read, e.g. mode 0600)")
}

// maxPasswordInput bounds what is read for a password (the policy allows
// 256 bytes; the rest is slack for a line ending).
const maxPasswordInput = 4096

// read returns the password the flags point at: the first line, without
// its line ending. Exactly one source must be given.
func (p *passwordFlags) read(c *cli) (string, error) {
	switch {
	case p.stdin && p.file != "":
		return "", fmt.Errorf("%w: give --password-stdin or --password-file, not both", errUsage)
	case p.stdin:
		in := c.stdin
		if in == nil {
			in = strings.NewReader("")
		}
		return firstLine(in)
	case p.file != "":
		return readOwnerOnlyFile(p.file, "password file")
	default:
		return "", fmt.Errorf("%w: give the password with --password-stdin (e.g. from a password manager: pass show x | intelliauth …) or --password-file FILE (mode 0600)", errUsage)
	}
}

// firstLine reads up to the first newline and drops the line ending.
func firstLine(r io.Reader) (string, error) {
	line, err := bufio.NewReader(io.LimitReader(r, maxPasswordInput)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read password: %w", err)
	}
	line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
	if line == "" {
		return "", errors.New("the password is empty (nothing was read)")
	}
	return line, nil
}

// ---- user ----

func runUser(ctx context.Context, c *cli, args []string) error {
	return subcommand(ctx, c, "user", args, map[string]func(context.Context, *cli, []string) error{
		"create": userCreate, "list": userList, "get": userGet, "update": userUpdate,
		"disable": userDisable, "enable": userEnable, "delete": userDelete, "set-password": userSetPassword,
	}, []string{"create", "list", "get", "update", "disable", "enable", "delete", "set-password"})
}

func userCreate(ctx context.Context, c *cli, args []string) error {
	var in admin.UserInput
	var roles listFlag
	var pw passwordFlags
	return c.runAdmin(ctx, args, adminCmd{
		name: "user create", usage: "user create <username> --tenant T (--password-stdin | --password-file FILE) [flags]",
		tenant: true, output: true, nargs: 1,
		flags: func(a *adminArgs) {
			a.fs.StringVar(&in.Email, "email", "", "email address (unique in the tenant)")
			a.fs.BoolVar(&in.EmailVerified, "email-verified", false, "mark the email address as verified")
			a.fs.StringVar(&in.Name, "name", "", "full name (the name claim)")
			a.fs.StringVar(&in.GivenName, "given-name", "", "given name")
			a.fs.StringVar(&in.FamilyName, "family-name", "", "family name")
			a.fs.StringVar(&in.Locale, "locale", "", "locale, e.g. en-GB")
			a.fs.StringVar(&in.PhoneNumber, "phone", "", "phone number, e.g. +44 20 7946 0000")
			a.fs.Var(&roles, "roles", "roles to assign (space or comma separated; repeatable)")
			pw.register(a)
		},
		check: func(a *adminArgs, pos []string) error {
			in.Username, in.Roles = pos[0], roles
			var err error
			in.Password, err = pw.read(c)
			return err
		},
		call: func(a *adminArgs, svc *admin.Service, _ []string) error {
			u, err := svc.CreateUser(ctx, admin.CLI(), a.tenant, in)
			if err != nil {
				return err
			}
			if a.output == "json" {
				return writeJSON(c.stdout, admin.NewUserDoc(u))
			}
			fmt.Fprintf(c.stdout, "created user %s (%s)", u.Username, u.ID)
			if len(roles) > 0 {
				fmt.Fprintf(c.stdout, " with roles %s", joined(roles))
			}
			fmt.Fprintln(c.stdout)
			return nil
		},
	})
}

func userList(ctx context.Context, c *cli, args []string) error {
	var q store.UserQuery
	var p pageFlags
	return c.runAdmin(ctx, args, adminCmd{
		name: "user list", usage: "user list --tenant T [--search PREFIX] [--status active|disabled] [flags]", tenant: true, output: true,
		flags: func(a *adminArgs) {
			a.fs.StringVar(&q.Search, "search", "", "only users whose username, email or name starts with this (any case)")
			a.fs.StringVar(&q.Status, "status", "", "only users with this status: active or disabled")
			p.register(a.fs, "users")
		},
		check: func(*adminArgs, []string) error { return p.check() },
		call: func(a *adminArgs, svc *admin.Service, _ []string) error {
			q.Page = p.store()
			res, err := svc.ListUsers(ctx, admin.CLI(), a.tenant, q)
			if err != nil {
				return err
			}
			pages := (res.Total + res.Page.Limit - 1) / res.Page.Limit
			if a.output == "json" {
				return writeJSON(c.stdout, map[string]any{"users": docsOf(res.Users, admin.NewUserDoc), "total": res.Total, "page": p.page, "per_page": res.Page.Limit, "pages": pages})
			}
			table(c.stdout, "USERNAME\tID\tEMAIL\tNAME\tSTATUS", func(w io.Writer) {
				for _, u := range res.Users {
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", u.Username, u.ID, dashIfEmpty(u.Email), dashIfEmpty(u.Name), u.Status)
				}
			})
			fmt.Fprintf(c.stdout, "page %d of %d (%d users)\n", p.page, max(pages, 1), res.Total)
			return nil
		},
	})
}

func userGet(ctx context.Context, c *cli, args []string) error {
	return c.runAdmin(ctx, args, adminCmd{
		name: "user get", usage: "user get <username|email|user_id> --tenant T [flags]", tenant: true, output: true, nargs: 1,
		call: func(a *adminArgs, svc *admin.Service, pos []string) error {
			d, err := svc.GetUser(ctx, admin.CLI(), a.tenant, pos[0])
			if err != nil {
				return err
			}
			if a.output == "json" {
				return writeJSON(c.stdout, admin.NewUserDetailDoc(d))
			}
			u := d.User
			verified := func(v bool) string {
				if v {
					return " (verified)"
				}
				return ""
			}
			email := dashIfEmpty(u.Email)
			if u.Email != "" {
				email += verified(u.EmailVerified)
			}
			fmt.Fprintf(c.stdout, "id               %s\nusername         %s\nemail            %s\nname             %s\nstatus           %s\npassword         %s\nroles            %s\ngroups           %s\nentitled scopes  %s\nversion          %d\n",
				u.ID, u.Username, email, dashIfEmpty(u.Name), u.Status, map[bool]string{true: "set", false: "none"}[u.PasswordHash != ""],
				joined(d.Roles), joined(d.Groups), joined(d.Scopes), u.Version)
			return nil
		},
	})
}

func printUser(c *cli, output string, u model.User, verb string) error {
	if output == "json" {
		return writeJSON(c.stdout, admin.NewUserDoc(u))
	}
	fmt.Fprintf(c.stdout, "%s user %s (%s), status %s\n", verb, u.Username, u.ID, u.Status)
	return nil
}

func userUpdate(ctx context.Context, c *cli, args []string) error {
	var username, email, name, given, family, picture, locale, phone string
	var emailVerified, phoneVerified bool
	var version int64
	return c.runAdmin(ctx, args, adminCmd{
		name: "user update", usage: "user update <username|email|user_id> --tenant T [--email] [--name] … [flags]", tenant: true, output: true, nargs: 1,
		flags: func(a *adminArgs) {
			a.fs.StringVar(&username, "username", "", "new username")
			a.fs.StringVar(&email, "email", "", "new email address (unverified unless --email-verified)")
			a.fs.BoolVar(&emailVerified, "email-verified", false, "whether the email address is verified")
			a.fs.StringVar(&name, "name", "", "full name")
			a.fs.StringVar(&given, "given-name", "", "given name")
			a.fs.StringVar(&family, "family-name", "", "family name")
			a.fs.StringVar(&picture, "picture", "", "picture URL")
			a.fs.StringVar(&locale, "locale", "", "locale, e.g. en-GB")
			a.fs.StringVar(&phone, "phone", "", "phone number (unverified unless --phone-verified)")
			a.fs.BoolVar(&phoneVerified, "phone-verified", false, "whether the phone number is verified")
			a.fs.Int64Var(&version, "version", 0, "expected current version (optimistic concurrency; 0: any)")
		},
		call: func(a *adminArgs, svc *admin.Service, pos []string) error {
			u, err := svc.UpdateUser(ctx, admin.CLI(), a.tenant, pos[0], admin.UserUpdate{
				Version:             version,
				Username:            ifSet(a, "username", username),
				Email:               ifSet(a, "email", email),
				EmailVerified:       ifSet(a, "email-verified", emailVerified),
				Name:                ifSet(a, "name", name),
				GivenName:           ifSet(a, "given-name", given),
				FamilyName:          ifSet(a, "family-name", family),
				Picture:             ifSet(a, "picture", picture),
				Locale:              ifSet(a, "locale", locale),
				PhoneNumber:         ifSet(a, "phone", phone),
				PhoneNumberVerified: ifSet(a, "phone-verified", phoneVerified),
			})
			if err != nil {
				return err
			}
			return printUser(c, a.output, u, "updated")
		},
	})
}

func userDisable(ctx context.Context, c *cli, args []string) error {
	return c.runAdmin(ctx, args, adminCmd{
		name: "user disable", usage: "user disable <username|email|user_id> --tenant T [flags]", tenant: true, output: true, nargs: 1,
		call: func(a *adminArgs, svc *admin.Service, pos []string) error {
			u, err := svc.DisableUser(ctx, admin.CLI(), a.tenant, pos[0])
			if err != nil {
				return err
			}
			if a.output != "json" {
				fmt.Fprintf(c.stdout, "disabled user %s (%s): they cannot sign in; their sessions and refresh tokens are ended\n", u.Username, u.ID)
				return nil
			}
			return printUser(c, a.output, u, "disabled")
		},
	})
}

func userEnable(ctx context.Context, c *cli, args []string) error {
	return c.runAdmin(ctx, args, adminCmd{
		name: "user enable", usage: "user enable <username|email|user_id> --tenant T [flags]", tenant: true, output: true, nargs: 1,
		call: func(a *adminArgs, svc *admin.Service, pos []string) error {
			u, err := svc.EnableUser(ctx, admin.CLI(), a.tenant, pos[0])
			if err != nil {
				return err
			}
			return printUser(c, a.output, u, "enabled")
		},
	})
}

func userDelete(ctx context.Context, c *cli, args []string) error {
	return c.runAdmin(ctx, args, adminCmd{
		name: "user delete", usage: "user delete <username|email|user_id> --tenant T [flags]", tenant: true, nargs: 1,
		call: func(a *adminArgs, svc *admin.Service, pos []string) error {
			if err := svc.DeleteUser(ctx, admin.CLI(), a.tenant, pos[0]); err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "deleted user %s with their roles, memberships, consents, sessions and refresh tokens\n", pos[0])
			return nil
		},
	})
}

func userSetPassword(ctx context.Context, c *cli, args []string) error {
	var pw passwordFlags
	var plain string
	var signOut bool
	return c.runAdmin(ctx, args, adminCmd{
		name: "user set-password", usage: "user set-password <username|email|user_id> --tenant T (--password-stdin | --password-file FILE) [--sign-out]",
		tenant: true, nargs: 1,
		flags: func(a *adminArgs) {
			pw.register(a)
			a.fs.BoolVar(&signOut, "sign-out", false, "also end the user's sessions and revoke their refresh tokens")
		},
		check: func(*adminArgs, []string) (err error) {
			plain, err = pw.read(c)
			return err
		},
		call: func(a *adminArgs, svc *admin.Service, pos []string) error {
			if err := svc.SetPassword(ctx, admin.CLI(), a.tenant, pos[0], plain, signOut); err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "set the password of %s", pos[0])
			if signOut {
				fmt.Fprint(c.stdout, "; their sessions and refresh tokens are ended")
			}
			fmt.Fprintln(c.stdout)
			return nil
		},
	})
}

// ---- role ----

func runRole(ctx context.Context, c *cli, args []string) error {
	return subcommand(ctx, c, "role", args, map[string]func(context.Context, *cli, []string) error{
		"create": roleCreate, "list": roleList, "get": roleGet, "update": roleUpdate, "delete": roleDelete,
		"assign": roleAssign, "unassign": roleUnassign,
	}, []string{"create", "list", "get", "update", "delete", "assign", "unassign"})
}

func roleCreate(ctx context.Context, c *cli, args []string) error {
	var in admin.RoleInput
	var scopes listFlag
	return c.runAdmin(ctx, args, adminCmd{
		name: "role create", usage: "role create <name> --tenant T --scopes \"a b\" [--description TEXT] [flags]",
		tenant: true, output: true, nargs: 1,
		flags: func(a *adminArgs) {
			a.fs.Var(&scopes, "scopes", "the scopes the role gives (space or comma separated; repeatable); each must be registered")
			a.fs.StringVar(&in.Description, "description", "", "what the role is for")
		},
		call: func(a *adminArgs, svc *admin.Service, pos []string) error {
			in.Name, in.Scopes = pos[0], scopes
			r, err := svc.CreateRole(ctx, admin.CLI(), a.tenant, in)
			if err != nil {
				return err
			}
			if a.output == "json" {
				return writeJSON(c.stdout, admin.NewRoleDoc(r))
			}
			fmt.Fprintf(c.stdout, "created role %s with scopes %s; assign it with: role assign %s <username>\n", r.Name, joined(r.Scopes), r.Name)
			return nil
		},
	})
}

func roleList(ctx context.Context, c *cli, args []string) error {
	return c.runAdmin(ctx, args, adminCmd{
		name: "role list", usage: "role list --tenant T [flags]", tenant: true, output: true,
		call: func(a *adminArgs, svc *admin.Service, _ []string) error {
			roles, err := svc.ListRoles(ctx, admin.CLI(), a.tenant)
			if err != nil {
				return err
			}
			if a.output == "json" {
				return writeJSON(c.stdout, docsOf(roles, admin.NewRoleDoc))
			}
			table(c.stdout, "NAME\tBUILTIN\tSCOPES\tDESCRIPTION", func(w io.Writer) {
				for _, r := range roles {
					fmt.Fprintf(w, "%s\t%t\t%s\t%s\n", r.Name, r.Builtin, joined(r.Scopes), dashIfEmpty(r.Description))
				}
			})
			return nil
		},
	})
}

func printRole(c *cli, output string, d admin.RoleDetail) error {
	if output == "json" {
		return writeJSON(c.stdout, admin.NewRoleDetailDoc(d))
	}
	var users []string
	for _, u := range d.Users {
		users = append(users, u.Username)
	}
	fmt.Fprintf(c.stdout, "name         %s\nbuiltin      %t\ndescription  %s\nscopes       %s\nusers        %s\ngroups       %s\nversion      %d\n",
		d.Role.Name, d.Role.Builtin, dashIfEmpty(d.Role.Description), joined(d.Role.Scopes), joined(users), joined(d.Groups), d.Role.Version)
	return nil
}

func roleGet(ctx context.Context, c *cli, args []string) error {
	return c.runAdmin(ctx, args, adminCmd{
		name: "role get", usage: "role get <name> --tenant T [flags]", tenant: true, output: true, nargs: 1,
		call: func(a *adminArgs, svc *admin.Service, pos []string) error {
			d, err := svc.GetRole(ctx, admin.CLI(), a.tenant, pos[0])
			if err != nil {
				return err
			}
			return printRole(c, a.output, d)
		},
	})
}

func roleUpdate(ctx context.Context, c *cli, args []string) error {
	var desc, scopes string
	var version int64
	return c.runAdmin(ctx, args, adminCmd{
		name: "role update", usage: "role update <name> --tenant T [--scopes \"a b\"] [--description TEXT] [flags]", tenant: true, output: true, nargs: 1,
		flags: func(a *adminArgs) {
			a.fs.StringVar(&scopes, "scopes", "", "replace the role's scopes (space or comma separated; \"\" clears)")
			a.fs.StringVar(&desc, "description", "", "new description")
			a.fs.Int64Var(&version, "version", 0, "expected current version (0: any)")
		},
		call: func(a *adminArgs, svc *admin.Service, pos []string) error {
			if _, err := svc.UpdateRole(ctx, admin.CLI(), a.tenant, pos[0], admin.RoleUpdate{
				Version:     version,
				Description: ifSet(a, "description", desc),
				Scopes:      ifSet(a, "scopes", splitList(scopes)),
			}); err != nil {
				return err
			}
			d, err := svc.GetRole(ctx, admin.CLI(), a.tenant, pos[0])
			if err != nil {
				return err
			}
			return printRole(c, a.output, d)
		},
	})
}

func roleDelete(ctx context.Context, c *cli, args []string) error {
	return c.runAdmin(ctx, args, adminCmd{
		name: "role delete", usage: "role delete <name> --tenant T [flags]", tenant: true, nargs: 1,
		call: func(a *adminArgs, svc *admin.Service, pos []string) error {
			if err := svc.DeleteRole(ctx, admin.CLI(), a.tenant, pos[0]); err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "deleted role %s; its holders and groups no longer give its scopes\n", pos[0])
			return nil
		},
	})
}

// roleAssignment runs assign or unassign.
func roleAssignment(ctx context.Context, c *cli, args []string, verb string,
	change func(*admin.Service, context.Context, admin.Actor, string, string, string) (model.User, error)) error {
	return c.runAdmin(ctx, args, adminCmd{
		name: "role " + verb, usage: "role " + verb + " <role> <username|email|user_id> --tenant T [flags]", tenant: true, nargs: 2,
		call: func(a *adminArgs, svc *admin.Service, pos []string) error {
			u, err := change(svc, ctx, admin.CLI(), a.tenant, pos[0], pos[1])
			if err != nil {
				return err
			}
			d, err := svc.GetUser(ctx, admin.CLI(), a.tenant, u.ID)
			if err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "%s now holds: %s\n", u.Username, joined(d.Roles))
			return nil
		},
	})
}

func roleAssign(ctx context.Context, c *cli, args []string) error {
	return roleAssignment(ctx, c, args, "assign", (*admin.Service).AssignRole)
}

func roleUnassign(ctx context.Context, c *cli, args []string) error {
	return roleAssignment(ctx, c, args, "unassign", (*admin.Service).UnassignRole)
}

// ---- group ----

func runGroup(ctx context.Context, c *cli, args []string) error {
	return subcommand(ctx, c, "group", args, map[string]func(context.Context, *cli, []string) error{
		"create": groupCreate, "list": groupList, "get": groupGet, "update": groupUpdate, "delete": groupDelete,
		"add": groupAdd, "remove": groupRemove,
	}, []string{"create", "list", "get", "update", "delete", "add", "remove"})
}

func groupCreate(ctx context.Context, c *cli, args []string) error {
	var in admin.GroupInput
	var roles listFlag
	return c.runAdmin(ctx, args, adminCmd{
		name: "group create", usage: "group create <name> --tenant T [--roles \"a b\"] [--description TEXT] [flags]",
		tenant: true, output: true, nargs: 1,
		flags: func(a *adminArgs) {
			a.fs.Var(&roles, "roles", "roles every member holds (space or comma separated; repeatable)")
			a.fs.StringVar(&in.Description, "description", "", "what the group is")
		},
		call: func(a *adminArgs, svc *admin.Service, pos []string) error {
			in.Name, in.Roles = pos[0], roles
			g, err := svc.CreateGroup(ctx, admin.CLI(), a.tenant, in)
			if err != nil {
				return err
			}
			if a.output == "json" {
				return writeJSON(c.stdout, admin.NewGroupDoc(g))
			}
			fmt.Fprintf(c.stdout, "created group %s with roles %s; add members with: group add %s <username>\n", g.Name, joined(g.Roles), g.Name)
			return nil
		},
	})
}

func groupList(ctx context.Context, c *cli, args []string) error {
	return c.runAdmin(ctx, args, adminCmd{
		name: "group list", usage: "group list --tenant T [flags]", tenant: true, output: true,
		call: func(a *adminArgs, svc *admin.Service, _ []string) error {
			gs, err := svc.ListGroups(ctx, admin.CLI(), a.tenant)
			if err != nil {
				return err
			}
			if a.output == "json" {
				return writeJSON(c.stdout, docsOf(gs, admin.NewGroupDoc))
			}
			table(c.stdout, "NAME\tROLES\tDESCRIPTION", func(w io.Writer) {
				for _, g := range gs {
					fmt.Fprintf(w, "%s\t%s\t%s\n", g.Name, joined(g.Roles), dashIfEmpty(g.Description))
				}
			})
			return nil
		},
	})
}

func printGroup(c *cli, output string, d admin.GroupDetail) error {
	if output == "json" {
		return writeJSON(c.stdout, admin.NewGroupDetailDoc(d))
	}
	var members []string
	for _, u := range d.Members {
		members = append(members, u.Username)
	}
	fmt.Fprintf(c.stdout, "name         %s\ndescription  %s\nroles        %s\nmembers      %s\nversion      %d\n",
		d.Group.Name, dashIfEmpty(d.Group.Description), joined(d.Group.Roles), joined(members), d.Group.Version)
	return nil
}

func groupGet(ctx context.Context, c *cli, args []string) error {
	return c.runAdmin(ctx, args, adminCmd{
		name: "group get", usage: "group get <name> --tenant T [flags]", tenant: true, output: true, nargs: 1,
		call: func(a *adminArgs, svc *admin.Service, pos []string) error {
			d, err := svc.GetGroup(ctx, admin.CLI(), a.tenant, pos[0])
			if err != nil {
				return err
			}
			return printGroup(c, a.output, d)
		},
	})
}

func groupUpdate(ctx context.Context, c *cli, args []string) error {
	var desc, roles string
	var version int64
	return c.runAdmin(ctx, args, adminCmd{
		name: "group update", usage: "group update <name> --tenant T [--roles \"a b\"] [--description TEXT] [flags]", tenant: true, output: true, nargs: 1,
		flags: func(a *adminArgs) {
			a.fs.StringVar(&roles, "roles", "", "replace the group's roles (space or comma separated; \"\" clears)")
			a.fs.StringVar(&desc, "description", "", "new description")
			a.fs.Int64Var(&version, "version", 0, "expected current version (0: any)")
		},
		call: func(a *adminArgs, svc *admin.Service, pos []string) error {
			if _, err := svc.UpdateGroup(ctx, admin.CLI(), a.tenant, pos[0], admin.GroupUpdate{
				Version:     version,
				Description: ifSet(a, "description", desc),
				Roles:       ifSet(a, "roles", splitList(roles)),
			}); err != nil {
				return err
			}
			d, err := svc.GetGroup(ctx, admin.CLI(), a.tenant, pos[0])
			if err != nil {
				return err
			}
			return printGroup(c, a.output, d)
		},
	})
}

func groupDelete(ctx context.Context, c *cli, args []string) error {
	return c.runAdmin(ctx, args, adminCmd{
		name: "group delete", usage: "group delete <name> --tenant T [flags]", tenant: true, nargs: 1,
		call: func(a *adminArgs, svc *admin.Service, pos []string) error {
			if err := svc.DeleteGroup(ctx, admin.CLI(), a.tenant, pos[0]); err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "deleted group %s; its members no longer hold its roles through it\n", pos[0])
			return nil
		},
	})
}

// groupMembership runs add or remove.
func groupMembership(ctx context.Context, c *cli, args []string, verb string,
	change func(*admin.Service, context.Context, admin.Actor, string, string, string) (model.User, error)) error {
	return c.runAdmin(ctx, args, adminCmd{
		name: "group " + verb, usage: "group " + verb + " <group> <username|email|user_id> --tenant T [flags]", tenant: true, nargs: 2,
		call: func(a *adminArgs, svc *admin.Service, pos []string) error {
			u, err := change(svc, ctx, admin.CLI(), a.tenant, pos[0], pos[1])
			if err != nil {
				return err
			}
			d, err := svc.GetUser(ctx, admin.CLI(), a.tenant, u.ID)
			if err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "%s is in groups: %s; holds roles: %s\n", u.Username, joined(d.Groups), joined(d.Roles))
			return nil
		},
	})
}

func groupAdd(ctx context.Context, c *cli, args []string) error {
	return groupMembership(ctx, c, args, "add", (*admin.Service).AddMember)
}

func groupRemove(ctx context.Context, c *cli, args []string) error {
	return groupMembership(ctx, c, args, "remove", (*admin.Service).RemoveMember)
}
