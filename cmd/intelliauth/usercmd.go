package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/intelliauth/intelliauth/internal/admin"
)

// ---- passwords ----

// passwordFlags are --password-stdin and --password-file. There is no flag
// taking the password itself: it would land in shell history and in the
// process list. The password travels only in the JSON body of the call.
type passwordFlags struct {
	stdin bool
	file  string
}

func (p *passwordFlags) register(a *apiArgs) {
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
		pw, err := firstLine(in)
		if err != nil {
			return "", fmt.Errorf("password from standard input: %w", err)
		}
		return pw, nil
	case p.file != "":
		return readOwnerOnlyFile(p.file, "password file")
	default:
		return "", fmt.Errorf("%w: give the password with --password-stdin (e.g. from a password manager: pass show x | intelliauth …) or --password-file FILE (mode 0600)", errUsage)
	}
}

// firstLine reads up to the first newline and drops the line ending. It
// reads passwords and client secrets, so its errors never quote the input.
func firstLine(r io.Reader) (string, error) {
	line, err := bufio.NewReader(io.LimitReader(r, maxPasswordInput)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read: %w", err)
	}
	line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
	if line == "" {
		return "", errors.New("the first line is empty (nothing was read)")
	}
	return line, nil
}

// ---- user ----

// userVerbs are the subcommands of user, in the order help lists them.
func userVerbs() []verb {
	return []verb{
		{"create", "create an end user with a password", userCreate},
		{"list", "list the users, by username", userList},
		{"get", "show one user with their roles and groups", userGet},
		{"update", "change a user's email, name or other attributes", userUpdate},
		{"disable", "stop a user signing in: end their sessions, revoke their refresh tokens", userDisable},
		{"enable", "let a disabled user sign in again", userEnable},
		{"delete", "delete a user with their roles, memberships, consents and tokens", userDelete},
		{"set-password", "set a user's password", userSetPassword},
	}
}

// userPath is the path of a user; the API takes an ID, a username or an
// email address there.
func userPath(ref string) string { return "/users/" + url.PathEscape(ref) }

// newUser is the body of POST /users; the flags fill it.
type newUser struct {
	Username      string   `json:"username"`
	Email         string   `json:"email,omitempty"`
	EmailVerified bool     `json:"email_verified"`
	Name          string   `json:"name,omitempty"`
	GivenName     string   `json:"given_name,omitempty"`
	FamilyName    string   `json:"family_name,omitempty"`
	Locale        string   `json:"locale,omitempty"`
	PhoneNumber   string   `json:"phone_number,omitempty"`
	Password      string   `json:"password"`
	Roles         listFlag `json:"roles"`
}

func userCreate(ctx context.Context, c *cli, args []string) error {
	var in newUser
	var pw passwordFlags
	return c.runAPI(ctx, args, apiCmd{
		name: "user create", usage: "user create <username> (--password-stdin | --password-file FILE) [flags]",
		output: true, nargs: 1, scopes: []string{"users:write"},
		flags: func(a *apiArgs) {
			a.fs.StringVar(&in.Email, "email", "", "email address (unique in the tenant)")
			a.fs.BoolVar(&in.EmailVerified, "email-verified", false, "mark the email address as verified")
			a.fs.StringVar(&in.Name, "name", "", "full name (the name claim)")
			a.fs.StringVar(&in.GivenName, "given-name", "", "given name")
			a.fs.StringVar(&in.FamilyName, "family-name", "", "family name")
			a.fs.StringVar(&in.Locale, "locale", "", "locale, e.g. en-GB")
			a.fs.StringVar(&in.PhoneNumber, "phone", "", "phone number, e.g. +44 20 7946 0000")
			a.fs.Var(&in.Roles, "roles", "roles to assign (space or comma separated; repeatable)")
			pw.register(a)
		},
		// The password is read before any connection is made, so a
		// missing source is a usage error that costs no token.
		check: func(_ *apiArgs, pos []string) (err error) {
			in.Username = pos[0]
			in.Password, err = pw.read(c)
			return err
		},
		call: func(ctx context.Context, a *apiArgs, cl *apiClient, _ []string) error {
			in.Roles = nonNilList(in.Roles)
			var u admin.UserDetailDoc
			res, err := cl.call(ctx, request{method: http.MethodPost, path: "/users", body: in}, &u)
			if err != nil {
				return err
			}
			return c.emit(a, res, func() error {
				fmt.Fprintf(c.stdout, "created user %s (%s)", u.Username, u.ID)
				if len(u.Roles) > 0 {
					fmt.Fprintf(c.stdout, " with roles %s", joined(u.Roles))
				}
				fmt.Fprintln(c.stdout)
				return nil
			})
		},
	})
}

func userList(ctx context.Context, c *cli, args []string) error {
	var search, status string
	var p pageFlags
	return c.runAPI(ctx, args, apiCmd{
		name: "user list", usage: "user list [--search PREFIX] [--status active|disabled] [flags]", output: true,
		scopes: []string{"users:read"},
		flags: func(a *apiArgs) {
			a.fs.StringVar(&search, "search", "", "only users whose username, email or name starts with this (any case)")
			a.fs.StringVar(&status, "status", "", "only users with this status: active or disabled")
			p.register(a.fs, "users")
		},
		check: func(*apiArgs, []string) error { return p.check() },
		call: func(ctx context.Context, a *apiArgs, cl *apiClient, _ []string) error {
			res, l, err := listUsers(ctx, cl, userQuery(p, search, status))
			if err != nil {
				return err
			}
			return c.emit(a, res, func() error {
				table(c.stdout, "USERNAME\tID\tEMAIL\tNAME\tSTATUS", func(w io.Writer) {
					for _, u := range l.Items {
						fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", u.Username, u.ID, dashIfEmpty(u.Email), dashIfEmpty(u.Name), u.Status)
					}
				})
				printPage(c.stdout, l, "users")
				return nil
			})
		},
	})
}

// userQuery is the query of GET /users: the API calls the search prefix q.
func userQuery(p pageFlags, search, status string) url.Values {
	q := p.query()
	if search != "" {
		q.Set("q", search)
	}
	if status != "" {
		q.Set("status", status)
	}
	return q
}

func listUsers(ctx context.Context, cl *apiClient, q url.Values) (*apiResponse, listPage[admin.UserDoc], error) {
	var l listPage[admin.UserDoc]
	res, err := cl.call(ctx, request{method: http.MethodGet, path: "/users", query: q}, &l)
	return res, l, err
}

func userGet(ctx context.Context, c *cli, args []string) error {
	return c.runAPI(ctx, args, apiCmd{
		name: "user get", usage: "user get <username|email|user_id> [flags]", output: true, nargs: 1,
		scopes: []string{"users:read"},
		call: func(ctx context.Context, a *apiArgs, cl *apiClient, pos []string) error {
			res, u, err := getUser(ctx, cl, pos[0])
			if err != nil {
				return err
			}
			return c.emit(a, res, func() error { return printUserDetail(c.stdout, u) })
		},
	})
}

// getUser reads a user with the roles, groups and scopes they hold.
func getUser(ctx context.Context, cl *apiClient, ref string) (*apiResponse, admin.UserDetailDoc, error) {
	var u admin.UserDetailDoc
	res, err := cl.call(ctx, request{method: http.MethodGet, path: userPath(ref)}, &u)
	return res, u, err
}

func printUserDetail(w io.Writer, u admin.UserDetailDoc) error {
	email := dashIfEmpty(u.Email)
	if u.Email != "" && u.EmailVerified {
		email += " (verified)"
	}
	password := "none"
	if u.HasPassword {
		password = "set"
	}
	fmt.Fprintf(w, "id               %s\nusername         %s\nemail            %s\nname             %s\nstatus           %s\npassword         %s\nroles            %s\ngroups           %s\nentitled scopes  %s\nversion          %d\n",
		u.ID, u.Username, email, dashIfEmpty(u.Name), u.Status, password, joined(u.Roles), joined(u.Groups), joined(u.Scopes), u.Version)
	return nil
}

// userChanged prints the answer of a write to a user: its JSON, or one
// line "<verb> user <username> (<id>)<tail>"; the tail defaults to the
// user's status.
func userChanged(c *cli, a *apiArgs, res *apiResponse, u admin.UserDetailDoc, verb, tail string) error {
	return c.emit(a, res, func() error {
		if tail == "" {
			tail = ", status " + u.Status
		}
		fmt.Fprintf(c.stdout, "%s user %s (%s)%s\n", verb, u.Username, u.ID, tail)
		return nil
	})
}

func userUpdate(ctx context.Context, c *cli, args []string) error {
	var username, email, name, given, family, picture, locale, phone string
	var emailVerified, phoneVerified bool
	var version int64
	return c.runAPI(ctx, args, apiCmd{
		name: "user update", usage: "user update <username|email|user_id> [--email] [--name] … [flags]", output: true, nargs: 1,
		scopes: []string{"users:write"},
		flags: func(a *apiArgs) {
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
			versionFlag(a, &version)
		},
		call: func(ctx context.Context, a *apiArgs, cl *apiClient, pos []string) error {
			body := map[string]any{}
			setIf(a, body, "username", "username", username)
			setIf(a, body, "email", "email", email)
			setIf(a, body, "email-verified", "email_verified", emailVerified)
			setIf(a, body, "name", "name", name)
			setIf(a, body, "given-name", "given_name", given)
			setIf(a, body, "family-name", "family_name", family)
			setIf(a, body, "picture", "picture", picture)
			setIf(a, body, "locale", "locale", locale)
			setIf(a, body, "phone", "phone_number", phone)
			setIf(a, body, "phone-verified", "phone_number_verified", phoneVerified)
			var u admin.UserDetailDoc
			res, err := cl.call(ctx, request{method: http.MethodPatch, path: userPath(pos[0]), body: body, ifMatch: ifMatch(version)}, &u)
			if err != nil {
				return err
			}
			return userChanged(c, a, res, u, "updated", fmt.Sprintf(", now at version %d", u.Version))
		},
	})
}

// userStatus runs disable or enable: a POST to /users/{user}/<verb>, which
// answers the user; tail is what its table line says after the user.
func userStatus(ctx context.Context, c *cli, args []string, verb, tail string) error {
	return c.runAPI(ctx, args, apiCmd{
		name: "user " + verb, usage: "user " + verb + " <username|email|user_id> [flags]", output: true, nargs: 1,
		scopes: []string{"users:write"},
		call: func(ctx context.Context, a *apiArgs, cl *apiClient, pos []string) error {
			var u admin.UserDetailDoc
			res, err := cl.call(ctx, request{method: http.MethodPost, path: userPath(pos[0]) + "/" + verb}, &u)
			if err != nil {
				return err
			}
			return userChanged(c, a, res, u, verb+"d", tail)
		},
	})
}

func userDisable(ctx context.Context, c *cli, args []string) error {
	return userStatus(ctx, c, args, "disable", ": they cannot sign in; their sessions and refresh tokens are ended, and the access tokens of their grants revoked (introspection and the platform API refuse them)")
}

func userEnable(ctx context.Context, c *cli, args []string) error {
	return userStatus(ctx, c, args, "enable", "")
}

func userDelete(ctx context.Context, c *cli, args []string) error {
	var version int64
	return c.runAPI(ctx, args, apiCmd{
		name: "user delete", usage: "user delete <username|email|user_id> [flags]", nargs: 1, scopes: []string{"users:write"},
		flags: func(a *apiArgs) { versionFlag(a, &version) },
		call: func(ctx context.Context, _ *apiArgs, cl *apiClient, pos []string) error {
			if _, err := cl.do(ctx, request{method: http.MethodDelete, path: userPath(pos[0]), ifMatch: ifMatchIfSet(version)}); err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "deleted user %s with their roles, memberships, consents, sessions and refresh tokens; the access tokens of their grants are revoked\n", pos[0])
			return nil
		},
	})
}

func userSetPassword(ctx context.Context, c *cli, args []string) error {
	var pw passwordFlags
	var plain string
	var signOut bool
	return c.runAPI(ctx, args, apiCmd{
		name: "user set-password", usage: "user set-password <username|email|user_id> (--password-stdin | --password-file FILE) [--sign-out] [flags]",
		nargs: 1, scopes: []string{"users:write"},
		flags: func(a *apiArgs) {
			pw.register(a)
			a.fs.BoolVar(&signOut, "sign-out", false, "also end the user's sessions and revoke their grants (refresh tokens and the access tokens issued with them)")
		},
		check: func(*apiArgs, []string) (err error) {
			plain, err = pw.read(c)
			return err
		},
		call: func(ctx context.Context, _ *apiArgs, cl *apiClient, pos []string) error {
			if _, err := cl.do(ctx, request{method: http.MethodPost, path: userPath(pos[0]) + "/password",
				body: map[string]any{"password": plain, "sign_out": signOut}}); err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "set the password of %s", pos[0])
			if signOut {
				fmt.Fprint(c.stdout, "; their sessions and refresh tokens are ended, and the access tokens of their grants revoked")
			}
			fmt.Fprintln(c.stdout)
			return nil
		},
	})
}

// ---- links between users and roles or groups ----

// linkCmd is role assign|unassign and group add|remove: a PUT or DELETE of
// <parent>/<user>. The API answers the role or group; what the operator
// wants to see is what the user holds now, so a GET of the user follows
// (hence users:read besides the write scope).
type linkCmd struct {
	name, usage string
	write       string // roles:write or groups:write
	method      string
	path        func(parent, user string) string
	show        func(w io.Writer, u admin.UserDetailDoc)
}

func (c *cli) runLink(ctx context.Context, args []string, l linkCmd) error {
	return c.runAPI(ctx, args, apiCmd{
		name: l.name, usage: l.usage, output: true, nargs: 2, scopes: []string{l.write, "users:read"},
		call: func(ctx context.Context, a *apiArgs, cl *apiClient, pos []string) error {
			if _, err := cl.do(ctx, request{method: l.method, path: l.path(pos[0], pos[1])}); err != nil {
				return err
			}
			res, u, err := getUser(ctx, cl, pos[1])
			if err != nil {
				return fmt.Errorf("%s is done, but reading the user back failed: %w", l.name, err)
			}
			return c.emit(a, res, func() error { l.show(c.stdout, u); return nil })
		},
	})
}

// ---- role ----

// roleVerbs are the subcommands of role, in the order help lists them.
func roleVerbs() []verb {
	return []verb{
		{"create", "create a role that grants scopes", roleCreate},
		{"list", "list the roles, by name", roleList},
		{"get", "show one role", roleGet},
		{"update", "change a role's scopes or description", roleUpdate},
		{"delete", "delete a role", roleDelete},
		{"assign", "give a user a role", roleAssign},
		{"unassign", "take a role from a user", roleUnassign},
	}
}

func rolePath(name string) string { return "/roles/" + url.PathEscape(name) }

func roleCreate(ctx context.Context, c *cli, args []string) error {
	var desc string
	var scopes listFlag
	return c.runAPI(ctx, args, apiCmd{
		name: "role create", usage: "role create <name> --scopes \"a b\" [--description TEXT] [flags]",
		output: true, nargs: 1, scopes: []string{"roles:write"},
		flags: func(a *apiArgs) {
			a.fs.Var(&scopes, "scopes", "the scopes the role gives (space or comma separated; repeatable); each must be registered")
			a.fs.StringVar(&desc, "description", "", "what the role is for")
		},
		call: func(ctx context.Context, a *apiArgs, cl *apiClient, pos []string) error {
			var r admin.RoleDetailDoc
			res, err := cl.call(ctx, request{method: http.MethodPost, path: "/roles", body: map[string]any{
				"name": pos[0], "description": desc, "scopes": nonNilList(scopes),
			}}, &r)
			if err != nil {
				return err
			}
			return c.emit(a, res, func() error {
				fmt.Fprintf(c.stdout, "created role %s with scopes %s; assign it with: role assign %s <username>\n", r.Name, joined(r.Scopes), r.Name)
				return nil
			})
		},
	})
}

func roleList(ctx context.Context, c *cli, args []string) error {
	var p pageFlags
	return c.runAPI(ctx, args, apiCmd{
		name: "role list", usage: "role list [flags]", output: true, scopes: []string{"roles:read"},
		flags: func(a *apiArgs) { p.register(a.fs, "roles") },
		check: func(*apiArgs, []string) error { return p.check() },
		call: func(ctx context.Context, a *apiArgs, cl *apiClient, _ []string) error {
			var l listPage[admin.RoleDoc]
			res, err := cl.call(ctx, request{method: http.MethodGet, path: "/roles", query: p.query()}, &l)
			if err != nil {
				return err
			}
			return c.emit(a, res, func() error {
				table(c.stdout, "NAME\tBUILTIN\tSCOPES\tDESCRIPTION", func(w io.Writer) {
					for _, r := range l.Items {
						fmt.Fprintf(w, "%s\t%t\t%s\t%s\n", r.Name, r.Builtin, joined(r.Scopes), dashIfEmpty(r.Description))
					}
				})
				printPage(c.stdout, l, "roles")
				return nil
			})
		},
	})
}

func printRole(w io.Writer, r admin.RoleDetailDoc) error {
	fmt.Fprintf(w, "name         %s\nbuiltin      %t\ndescription  %s\nscopes       %s\nusers        %s\ngroups       %s\nversion      %d\n",
		r.Name, r.Builtin, dashIfEmpty(r.Description), joined(r.Scopes), joined(usernames(r.Users)), joined(r.Groups), r.Version)
	return nil
}

// usernames lists the usernames of holders or members.
func usernames(refs []admin.UserRef) []string {
	names := make([]string, 0, len(refs))
	for _, u := range refs {
		names = append(names, u.Username)
	}
	return names
}

func roleGet(ctx context.Context, c *cli, args []string) error {
	return c.runAPI(ctx, args, apiCmd{
		name: "role get", usage: "role get <name> [flags]", output: true, nargs: 1, scopes: []string{"roles:read"},
		call: func(ctx context.Context, a *apiArgs, cl *apiClient, pos []string) error {
			var r admin.RoleDetailDoc
			res, err := cl.call(ctx, request{method: http.MethodGet, path: rolePath(pos[0])}, &r)
			if err != nil {
				return err
			}
			return c.emit(a, res, func() error { return printRole(c.stdout, r) })
		},
	})
}

func roleUpdate(ctx context.Context, c *cli, args []string) error {
	var desc, scopes string
	var version int64
	return c.runAPI(ctx, args, apiCmd{
		name: "role update", usage: "role update <name> [--scopes \"a b\"] [--description TEXT] [flags]", output: true, nargs: 1,
		scopes: []string{"roles:write"},
		flags: func(a *apiArgs) {
			a.fs.StringVar(&scopes, "scopes", "", "replace the role's scopes (space or comma separated; \"\" clears)")
			a.fs.StringVar(&desc, "description", "", "new description")
			versionFlag(a, &version)
		},
		call: func(ctx context.Context, a *apiArgs, cl *apiClient, pos []string) error {
			body := map[string]any{}
			setIf(a, body, "description", "description", desc)
			setIf(a, body, "scopes", "scopes", nonNilList(splitList(scopes)))
			var r admin.RoleDetailDoc
			res, err := cl.call(ctx, request{method: http.MethodPatch, path: rolePath(pos[0]), body: body, ifMatch: ifMatch(version)}, &r)
			if err != nil {
				return err
			}
			return c.emit(a, res, func() error { return printRole(c.stdout, r) })
		},
	})
}

func roleDelete(ctx context.Context, c *cli, args []string) error {
	var version int64
	return c.runAPI(ctx, args, apiCmd{
		name: "role delete", usage: "role delete <name> [flags]", nargs: 1, scopes: []string{"roles:write"},
		flags: func(a *apiArgs) { versionFlag(a, &version) },
		call: func(ctx context.Context, _ *apiArgs, cl *apiClient, pos []string) error {
			if _, err := cl.do(ctx, request{method: http.MethodDelete, path: rolePath(pos[0]), ifMatch: ifMatchIfSet(version)}); err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "deleted role %s; its holders and groups no longer give its scopes\n", pos[0])
			return nil
		},
	})
}

// roleAssignment runs assign (PUT) or unassign (DELETE).
func roleAssignment(ctx context.Context, c *cli, args []string, verb, method string) error {
	return c.runLink(ctx, args, linkCmd{
		name: "role " + verb, usage: "role " + verb + " <role> <username|email|user_id> [flags]",
		write: "roles:write", method: method,
		path: func(role, user string) string { return rolePath(role) + userPath(user) },
		show: func(w io.Writer, u admin.UserDetailDoc) {
			fmt.Fprintf(w, "%s now holds: %s\n", u.Username, joined(u.Roles))
		},
	})
}

func roleAssign(ctx context.Context, c *cli, args []string) error {
	return roleAssignment(ctx, c, args, "assign", http.MethodPut)
}

func roleUnassign(ctx context.Context, c *cli, args []string) error {
	return roleAssignment(ctx, c, args, "unassign", http.MethodDelete)
}

// ---- group ----

// groupVerbs are the subcommands of group, in the order help lists them.
func groupVerbs() []verb {
	return []verb{
		{"create", "create a group whose members get its roles", groupCreate},
		{"list", "list the groups, by name", groupList},
		{"get", "show one group and its members", groupGet},
		{"update", "change a group's roles or description", groupUpdate},
		{"delete", "delete a group", groupDelete},
		{"add", "add a user to a group", groupAdd},
		{"remove", "remove a user from a group", groupRemove},
	}
}

func groupPath(name string) string { return "/groups/" + url.PathEscape(name) }

func groupCreate(ctx context.Context, c *cli, args []string) error {
	var desc string
	var roles listFlag
	return c.runAPI(ctx, args, apiCmd{
		name: "group create", usage: "group create <name> [--roles \"a b\"] [--description TEXT] [flags]",
		output: true, nargs: 1, scopes: []string{"groups:write"},
		flags: func(a *apiArgs) {
			a.fs.Var(&roles, "roles", "roles every member holds (space or comma separated; repeatable)")
			a.fs.StringVar(&desc, "description", "", "what the group is")
		},
		call: func(ctx context.Context, a *apiArgs, cl *apiClient, pos []string) error {
			var g admin.GroupDetailDoc
			res, err := cl.call(ctx, request{method: http.MethodPost, path: "/groups", body: map[string]any{
				"name": pos[0], "description": desc, "roles": nonNilList(roles),
			}}, &g)
			if err != nil {
				return err
			}
			return c.emit(a, res, func() error {
				fmt.Fprintf(c.stdout, "created group %s with roles %s; add members with: group add %s <username>\n", g.Name, joined(g.Roles), g.Name)
				return nil
			})
		},
	})
}

func groupList(ctx context.Context, c *cli, args []string) error {
	var p pageFlags
	return c.runAPI(ctx, args, apiCmd{
		name: "group list", usage: "group list [flags]", output: true, scopes: []string{"groups:read"},
		flags: func(a *apiArgs) { p.register(a.fs, "groups") },
		check: func(*apiArgs, []string) error { return p.check() },
		call: func(ctx context.Context, a *apiArgs, cl *apiClient, _ []string) error {
			var l listPage[admin.GroupDoc]
			res, err := cl.call(ctx, request{method: http.MethodGet, path: "/groups", query: p.query()}, &l)
			if err != nil {
				return err
			}
			return c.emit(a, res, func() error {
				table(c.stdout, "NAME\tROLES\tDESCRIPTION", func(w io.Writer) {
					for _, g := range l.Items {
						fmt.Fprintf(w, "%s\t%s\t%s\n", g.Name, joined(g.Roles), dashIfEmpty(g.Description))
					}
				})
				printPage(c.stdout, l, "groups")
				return nil
			})
		},
	})
}

func printGroup(w io.Writer, g admin.GroupDetailDoc) error {
	fmt.Fprintf(w, "name         %s\ndescription  %s\nroles        %s\nmembers      %s\nversion      %d\n",
		g.Name, dashIfEmpty(g.Description), joined(g.Roles), joined(usernames(g.Members)), g.Version)
	return nil
}

func groupGet(ctx context.Context, c *cli, args []string) error {
	return c.runAPI(ctx, args, apiCmd{
		name: "group get", usage: "group get <name> [flags]", output: true, nargs: 1, scopes: []string{"groups:read"},
		call: func(ctx context.Context, a *apiArgs, cl *apiClient, pos []string) error {
			var g admin.GroupDetailDoc
			res, err := cl.call(ctx, request{method: http.MethodGet, path: groupPath(pos[0])}, &g)
			if err != nil {
				return err
			}
			return c.emit(a, res, func() error { return printGroup(c.stdout, g) })
		},
	})
}

func groupUpdate(ctx context.Context, c *cli, args []string) error {
	var desc, roles string
	var version int64
	return c.runAPI(ctx, args, apiCmd{
		name: "group update", usage: "group update <name> [--roles \"a b\"] [--description TEXT] [flags]", output: true, nargs: 1,
		scopes: []string{"groups:write"},
		flags: func(a *apiArgs) {
			a.fs.StringVar(&roles, "roles", "", "replace the group's roles (space or comma separated; \"\" clears)")
			a.fs.StringVar(&desc, "description", "", "new description")
			versionFlag(a, &version)
		},
		call: func(ctx context.Context, a *apiArgs, cl *apiClient, pos []string) error {
			body := map[string]any{}
			setIf(a, body, "description", "description", desc)
			setIf(a, body, "roles", "roles", nonNilList(splitList(roles)))
			var g admin.GroupDetailDoc
			res, err := cl.call(ctx, request{method: http.MethodPatch, path: groupPath(pos[0]), body: body, ifMatch: ifMatch(version)}, &g)
			if err != nil {
				return err
			}
			return c.emit(a, res, func() error { return printGroup(c.stdout, g) })
		},
	})
}

func groupDelete(ctx context.Context, c *cli, args []string) error {
	var version int64
	return c.runAPI(ctx, args, apiCmd{
		name: "group delete", usage: "group delete <name> [flags]", nargs: 1, scopes: []string{"groups:write"},
		flags: func(a *apiArgs) { versionFlag(a, &version) },
		call: func(ctx context.Context, _ *apiArgs, cl *apiClient, pos []string) error {
			if _, err := cl.do(ctx, request{method: http.MethodDelete, path: groupPath(pos[0]), ifMatch: ifMatchIfSet(version)}); err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "deleted group %s; its members no longer hold its roles through it\n", pos[0])
			return nil
		},
	})
}

// groupMembership runs add (PUT) or remove (DELETE).
func groupMembership(ctx context.Context, c *cli, args []string, verb, method string) error {
	return c.runLink(ctx, args, linkCmd{
		name: "group " + verb, usage: "group " + verb + " <group> <username|email|user_id> [flags]",
		write: "groups:write", method: method,
		path: func(group, user string) string { return groupPath(group) + "/members/" + url.PathEscape(user) },
		show: func(w io.Writer, u admin.UserDetailDoc) {
			fmt.Fprintf(w, "%s is in groups: %s; holds roles: %s\n", u.Username, joined(u.Groups), joined(u.Roles))
		},
	})
}

func groupAdd(ctx context.Context, c *cli, args []string) error {
	return groupMembership(ctx, c, args, "add", http.MethodPut)
}

func groupRemove(ctx context.Context, c *cli, args []string) error {
	return groupMembership(ctx, c, args, "remove", http.MethodDelete)
}
