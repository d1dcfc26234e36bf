package config

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits of DESIGN §2 and of Orchestrator.
const (
	maxFolderDepth   = 7
	maxFolderSegment = 115 // characters
	minClientSecret  = 32  // characters
	maxQueueRetries  = 10
)

// reservedOrgNames are first URL segments that OpenOrch serves itself (DESIGN §3).
var reservedOrgNames = []string{
	"identity_", "orchestrator_", "portal_", "api", "oauth", "odata", "cloudrpa",
	"authorize", "userinfo", "mobile", "healthz", "readyz", "metrics", ".well-known",
}

// builtinClientIDs are the client ids of the clients OpenOrch registers itself.
var builtinClientIDs = []string{
	"5v7PmPJL6FOGu6RB8I1Y4adLBhIwovQN",
	"8DEv1AMNXczW3y4U15LL3jYf62jK93n5",
	"qccWcbcRgHGP0Nivlm7T9B7lven0AnTW",
	"orch-cli",
}

// The built-in roles. Custom roles cannot be declared in the file yet.
var (
	tenantRoles = []string{"Administrator"}
	folderRoles = []string{"Folder Administrator", "Automation Developer", "Automation User", "Robot"}
)

// roleScope says which roles a members list may grant.
type roleScope struct {
	name      string // "tenant" or "folder"
	roles     []string
	otherName string
	other     []string
}

var (
	tenantScope = roleScope{"tenant", tenantRoles, "folder", folderRoles}
	folderScope = roleScope{"folder", folderRoles, "tenant", tenantRoles}
)

// namePattern is the charset of organization and tenant names.
var namePattern = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// checker makes the semantic checks of the bootstrap file after decoding. It collects
// every problem and reports the first by line, so that the result is in document order
// whatever order the checks run in. It also normalizes the file (secrets from the
// environment, default app names and machine slots).
type checker struct {
	file   string
	lines  map[string]int // key path → line, from the decoder
	getenv func(string) string
	errs   []*FileError

	orgNames  map[string]string // lower-cased organization name → key path of its first use
	clientIDs map[string]string // lower-cased client id of any app or machine → key path
}

// orgIndex is what members of an organization's tenants and folders may refer to.
type orgIndex struct {
	name  string
	users map[string]string // lower-cased email → key path
	apps  map[string]string // lower-cased client id or name → key path of the app
}

func (c *checker) check(f *File) error {
	c.orgNames = make(map[string]string)
	c.clientIDs = make(map[string]string)
	c.checkServer(f.Server)
	for i := range f.Organizations {
		c.checkOrg(&f.Organizations[i], fmt.Sprintf("organizations[%d]", i))
	}
	if len(c.errs) == 0 {
		return nil
	}
	sort.SliceStable(c.errs, func(i, j int) bool { return c.errs[i].Line < c.errs[j].Line })
	return c.errs[0]
}

// fail records a problem at key path p.
func (c *checker) fail(p, format string, args ...any) {
	c.errs = append(c.errs, &FileError{File: c.file, Line: c.lineOf(p), Path: p, Msg: fmt.Sprintf(format, args...)})
}

// lineOf returns the line of key path p or, when p was not written in the file (a missing
// key), of its nearest written parent.
func (c *checker) lineOf(p string) int {
	for {
		if line, ok := c.lines[p]; ok {
			return line
		}
		if p == "" {
			return 0
		}
		p = p[:max(strings.LastIndexAny(p, ".["), 0)]
	}
}

// duplicate records name (compared case-insensitively) as used at key path p in seen. When
// it was used before, it returns the line of the first use and true.
func (c *checker) duplicate(seen map[string]string, name, p string) (int, bool) {
	key := strings.ToLower(name)
	if first, ok := seen[key]; ok {
		return c.lineOf(first), true
	}
	seen[key] = p
	return 0, false
}

// checkServer checks each value of the server: block on its own; Load checks the settings
// that involve several values once environment and flags are applied.
func (c *checker) checkServer(fs FileServer) {
	for _, s := range settings {
		if s.key == "" || s.key == "trustedProxies" {
			continue
		}
		if v := fileServerValue(fs, s.key); v != "" {
			if err := checkValue(s.flag, v); err != nil {
				c.fail("server."+s.key, "%v", err)
			}
		}
	}
	for i, p := range fs.TrustedProxies {
		if _, err := parseProxy(p); err != nil {
			c.fail(fmt.Sprintf("server.trustedProxies[%d]", i), "%q: %v", p, err)
		}
	}
}

// checkName checks an organization or tenant name at element path p and reports whether
// it is well-formed.
func (c *checker) checkName(name, p string) bool {
	switch {
	case name == "":
		c.fail(p, "name is required")
	case !namePattern.MatchString(name):
		c.fail(p+".name", "%q: only letters, digits, '-' and '_' are allowed", name)
	default:
		return true
	}
	return false
}

func (c *checker) checkOrg(o *OrganizationSpec, p string) {
	if c.checkName(o.Name, p) {
		isReserved := func(r string) bool { return strings.EqualFold(r, o.Name) }
		if slices.ContainsFunc(reservedOrgNames, isReserved) {
			c.fail(p+".name", "%q is reserved (a URL path of OpenOrch) and cannot name an organization", o.Name)
		} else if line, dup := c.duplicate(c.orgNames, o.Name, p+".name"); dup {
			c.fail(p+".name", "duplicate organization name %q (first at line %d)", o.Name, line)
		}
	}

	org := &orgIndex{name: o.Name, users: make(map[string]string), apps: make(map[string]string)}
	for i := range o.Users {
		c.checkUser(&o.Users[i], fmt.Sprintf("%s.users[%d]", p, i), org)
	}

	names := make(map[string]string)
	for i := range o.Apps {
		c.checkApp(&o.Apps[i], fmt.Sprintf("%s.apps[%d]", p, i), names)
	}
	// Members refer to an app by client id or by name: index both, and refuse a name that is
	// another app's client id, which would make such a reference ambiguous.
	for i, a := range o.Apps {
		key := strings.ToLower(a.ClientID)
		if _, taken := org.apps[key]; !taken && key != "" {
			org.apps[key] = fmt.Sprintf("%s.apps[%d]", p, i)
		}
	}
	for i, a := range o.Apps {
		ap := fmt.Sprintf("%s.apps[%d]", p, i)
		other, taken := org.apps[strings.ToLower(a.Name)]
		if taken && other != ap && !strings.EqualFold(a.Name, a.ClientID) {
			c.fail(ap+".name", "%q is the clientId of another app (line %d); members could not tell them apart", a.Name, c.lineOf(other))
		}
	}
	for i, a := range o.Apps {
		key := strings.ToLower(a.Name)
		if _, taken := org.apps[key]; !taken && key != "" {
			org.apps[key] = fmt.Sprintf("%s.apps[%d]", p, i)
		}
	}

	tenants := make(map[string]string)
	for i := range o.Tenants {
		c.checkTenant(&o.Tenants[i], fmt.Sprintf("%s.tenants[%d]", p, i), org, tenants)
	}
}

func (c *checker) checkUser(u *UserSpec, p string, org *orgIndex) {
	switch {
	case u.Email == "":
		c.fail(p, "email is required")
	case !validEmail(u.Email):
		c.fail(p+".email", "%q is not an email address", u.Email)
	default:
		if line, dup := c.duplicate(org.users, u.Email, p+".email"); dup {
			c.fail(p+".email", "duplicate user %q in organization %q (first at line %d)", u.Email, org.name, line)
		}
	}
	c.secret(&u.Password, u.PasswordEnv, p, "password", "passwordEnv")
}

func validEmail(e string) bool {
	at := strings.LastIndex(e, "@")
	return at > 0 && at < len(e)-1 && !strings.ContainsFunc(e, unicode.IsSpace)
}

func (c *checker) checkApp(a *AppSpec, p string, names map[string]string) {
	idOK := false
	if a.ClientID == "" {
		c.fail(p, "clientId is required")
	} else {
		idOK = c.checkClientID(a.ClientID, p+".clientId")
	}
	switch {
	case a.Name != "":
		if line, dup := c.duplicate(names, a.Name, p+".name"); dup {
			c.fail(p+".name", "duplicate app name %q (first at line %d)", a.Name, line)
		}
	case idOK: // the name defaults to the client id
		a.Name = a.ClientID
		if line, dup := c.duplicate(names, a.Name, p+".clientId"); dup {
			c.fail(p+".clientId", "duplicate app name %q, taken from the clientId (first at line %d)", a.Name, line)
		}
	default:
		a.Name = a.ClientID
	}
	c.clientSecret(&a.ClientSecret, a.ClientSecretEnv, p, false)
	c.checkScopes(a.AppScopes, p+".appScopes")
	c.checkScopes(a.UserScopes, p+".userScopes")
	for i, r := range a.RedirectURIs {
		rp := fmt.Sprintf("%s.redirectURIs[%d]", p, i)
		u, err := url.Parse(r)
		switch {
		case err != nil || !u.IsAbs() || ((u.Scheme == "http" || u.Scheme == "https") && u.Host == ""):
			c.fail(rp, "must be an absolute URL, got %q", r)
		case u.Fragment != "":
			c.fail(rp, "must not have a fragment, got %q", r)
		}
	}
}

// checkClientID checks that a client id is not built in and is unique across the file, and
// reports whether it is.
func (c *checker) checkClientID(id, p string) bool {
	isBuiltin := func(b string) bool { return strings.EqualFold(b, id) }
	if slices.ContainsFunc(builtinClientIDs, isBuiltin) {
		c.fail(p, "%q is the client id of a built-in client", id)
		return false
	}
	if line, dup := c.duplicate(c.clientIDs, id, p); dup {
		c.fail(p, "duplicate clientId %q (first at line %d); client ids of apps and machines are unique across the file", id, line)
		return false
	}
	return true
}

func (c *checker) checkScopes(scopes []string, p string) {
	for i, s := range scopes {
		sp := fmt.Sprintf("%s[%d]", p, i)
		if s == "" {
			c.fail(sp, "a scope must not be empty")
		} else if strings.ContainsFunc(s, unicode.IsSpace) {
			c.fail(sp, "scope %q must not contain spaces; list each scope on its own", s)
		}
	}
}

// secret resolves a secret given inline (key) or through an environment variable (envKey,
// whose value envName is the variable's name) into *value. It returns the key that
// supplied the secret ("" for neither) and false when it reported a problem.
func (c *checker) secret(value *string, envName, p, key, envKey string) (string, bool) {
	switch {
	case envName == "" && *value == "":
		return "", true
	case envName == "":
		return key, true
	case *value != "":
		c.fail(p+"."+envKey, "set %s or %s, not both", key, envKey)
		return "", false
	}
	v := c.getenv(envName)
	if v == "" {
		c.fail(p+"."+envKey, "environment variable %s is not set or empty", envName)
		return "", false
	}
	*value = v
	return envKey, true
}

// clientSecret resolves and checks an app's or a machine's client secret.
func (c *checker) clientSecret(value *string, envName, p string, required bool) {
	from, ok := c.secret(value, envName, p, "clientSecret", "clientSecretEnv")
	if !ok {
		return
	}
	if from == "" {
		if required {
			c.fail(p, "clientSecret or clientSecretEnv is required")
		}
		return
	}
	n := utf8.RuneCountInString(*value)
	if n >= minClientSecret {
		return
	}
	if from == "clientSecret" {
		c.fail(p+".clientSecret", "must be at least %d characters (got %d)", minClientSecret, n)
	} else {
		c.fail(p+".clientSecretEnv", "the value of %s must be at least %d characters (got %d)", envName, minClientSecret, n)
	}
}

func (c *checker) checkTenant(t *TenantSpec, p string, org *orgIndex, tenants map[string]string) {
	if c.checkName(t.Name, p) {
		if line, dup := c.duplicate(tenants, t.Name, p+".name"); dup {
			c.fail(p+".name", "duplicate tenant name %q in organization %q (first at line %d)", t.Name, org.name, line)
		}
	}

	// Folders first: machines, members and queues refer to them. A nested path implies
	// its parents, which need not be listed.
	folders := make(map[string]bool) // lower-cased path, listed or implied
	listed := make(map[string]string)
	for i, f := range t.Folders {
		fp := fmt.Sprintf("%s.folders[%d]", p, i)
		if !c.checkFolderPath(f.Path, fp) {
			continue
		}
		if line, dup := c.duplicate(listed, f.Path, fp+".path"); dup {
			c.fail(fp+".path", "duplicate folder %q in tenant %q (first at line %d)", f.Path, t.Name, line)
			continue
		}
		segments := strings.Split(f.Path, "/")
		for k := range segments {
			folders[strings.ToLower(strings.Join(segments[:k+1], "/"))] = true
		}
	}

	machines := make(map[string]string)
	for i := range t.Machines {
		c.checkMachine(&t.Machines[i], fmt.Sprintf("%s.machines[%d]", p, i), t.Name, folders, machines)
	}

	c.checkMembers(t.Members, p+".members", org, t.Name, machines, tenantScope)
	for i, f := range t.Folders {
		c.checkMembers(f.Members, fmt.Sprintf("%s.folders[%d].members", p, i), org, t.Name, machines, folderScope)
	}

	queues := make(map[string]string)
	for i, q := range t.Queues {
		qp := fmt.Sprintf("%s.queues[%d]", p, i)
		if q.Name == "" {
			c.fail(qp, "name is required")
		}
		switch {
		case q.Folder == "":
			c.fail(qp, "folder is required")
		case !folders[strings.ToLower(q.Folder)]:
			c.fail(qp+".folder", "unknown folder %q: not a folder of tenant %q", q.Folder, t.Name)
		case q.Name != "":
			if line, dup := c.duplicate(queues, q.Folder+"\x00"+q.Name, qp+".name"); dup {
				c.fail(qp+".name", "duplicate queue %q in folder %q (first at line %d)", q.Name, q.Folder, line)
			}
		}
		if q.MaxRetries < 0 || q.MaxRetries > maxQueueRetries {
			c.fail(qp+".maxRetries", "must be from 0 to %d, got %d", maxQueueRetries, q.MaxRetries)
		}
	}
}

// checkFolderPath checks a folder's path at element path p and reports whether it is
// well-formed.
func (c *checker) checkFolderPath(path, p string) bool {
	pp := p + ".path"
	if path == "" {
		c.fail(p, "path is required")
		return false
	}
	if strings.HasPrefix(path, "/") || strings.HasSuffix(path, "/") {
		c.fail(pp, "%q must not start or end with '/'", path)
		return false
	}
	segments := strings.Split(path, "/")
	if len(segments) > maxFolderDepth {
		c.fail(pp, "%q has %d levels; at most %d are allowed", path, len(segments), maxFolderDepth)
		return false
	}
	for k, s := range segments {
		switch n := utf8.RuneCountInString(s); {
		case s == "":
			c.fail(pp, "%q has an empty segment", path)
		case strings.TrimSpace(s) != s:
			c.fail(pp, "segment %q must not start or end with a space", s)
		case n > maxFolderSegment:
			c.fail(pp, "segment %d of the path is %d characters long; at most %d are allowed", k+1, n, maxFolderSegment)
		default:
			continue
		}
		return false
	}
	return true
}

func (c *checker) checkMachine(m *MachineSpec, p, tenant string, folders map[string]bool, machines map[string]string) {
	if m.Name == "" {
		c.fail(p, "name is required")
	} else if line, dup := c.duplicate(machines, m.Name, p+".name"); dup {
		c.fail(p+".name", "duplicate machine %q in tenant %q (first at line %d)", m.Name, tenant, line)
	}
	if m.ClientID == "" {
		c.fail(p, "clientId is required")
	} else {
		c.checkClientID(m.ClientID, p+".clientId")
	}
	c.clientSecret(&m.ClientSecret, m.ClientSecretEnv, p, true)
	for i, f := range m.Folders {
		if !folders[strings.ToLower(f)] {
			c.fail(fmt.Sprintf("%s.folders[%d]", p, i), "unknown folder %q: not a folder of tenant %q", f, tenant)
		}
	}
	if _, given := c.lines[p+".slots"]; !given {
		m.Slots = 1
	} else if m.Slots < 1 {
		c.fail(p+".slots", "must be at least 1, got %d", m.Slots)
	}
}

// checkMembers checks a tenant's or a folder's members list at key path p.
func (c *checker) checkMembers(members []MemberSpec, p string, org *orgIndex, tenant string, machines map[string]string, scope roleScope) {
	seen := make(map[string]string) // principal → key path of the member
	for i, m := range members {
		mp := fmt.Sprintf("%s[%d]", p, i)
		named := 0
		for _, s := range []string{m.User, m.App, m.Machine} {
			if s != "" {
				named++
			}
		}
		principal := ""
		switch {
		case named != 1:
			c.fail(mp, "a member names exactly one of user, app or machine (got %d)", named)
		case m.User != "":
			if _, ok := org.users[strings.ToLower(m.User)]; ok {
				principal = "user " + strings.ToLower(m.User)
			} else {
				c.fail(mp+".user", "unknown user %q: not a user of organization %q", m.User, org.name)
			}
		case m.App != "":
			if app, ok := org.apps[strings.ToLower(m.App)]; ok {
				principal = "app " + app
			} else {
				c.fail(mp+".app", "unknown app %q: neither the clientId nor the name of an app of organization %q", m.App, org.name)
			}
		default:
			if _, ok := machines[strings.ToLower(m.Machine)]; ok {
				principal = "machine " + strings.ToLower(m.Machine)
			} else {
				c.fail(mp+".machine", "unknown machine %q: not a machine of tenant %q", m.Machine, tenant)
			}
		}
		if principal != "" {
			if line, dup := c.duplicate(seen, principal, mp); dup {
				c.fail(mp, "the same member as at line %d; list its roles once", line)
			}
		}

		if len(m.Roles) == 0 {
			c.fail(mp+".roles", "at least one role is required")
		}
		for k, r := range m.Roles {
			if slices.Contains(scope.roles, r) {
				continue
			}
			rp := fmt.Sprintf("%s.roles[%d]", mp, k)
			valid := quoteList(scope.roles)
			if slices.Contains(scope.other, r) {
				c.fail(rp, "%q is a %s role, not a %s role (%s roles: %s)", r, scope.otherName, scope.name, scope.name, valid)
			} else {
				c.fail(rp, "unknown %s role %q (%s roles: %s)", scope.name, r, scope.name, valid)
			}
		}
	}
}

// quoteList quotes and joins names: "a", "b".
func quoteList(names []string) string {
	quoted := make([]string, len(names))
	for i, n := range names {
		quoted[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(quoted, ", ")
}
