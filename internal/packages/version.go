package packages

import (
	"fmt"
	"strconv"
	"strings"
)

// Version is a package version as NuGet reads it: two to four numbers, an optional
// pre-release label after "-" and build metadata after "+", which is dropped.
type Version struct {
	nums [4]int64
	n    int      // how many numbers were written (2 to 4)
	pre  []string // the pre-release label's dot-separated identifiers; nil for a release
}

// maxVersionLen bounds the text of a version, as NuGet does.
const maxVersionLen = 64

// versionHelp is the end of every message about a malformed version.
const versionHelp = "write 2 to 4 numbers separated by dots, such as 1.0.0, optionally followed by a pre-release label such as 1.0.0-beta.2"

// ParseVersion reads a version: "1.0", "1.0.0", "1.2.3.4", "2.0.0-beta.1", "1.0.0+build.5".
func ParseVersion(s string) (Version, error) {
	var v Version
	if s == "" {
		return v, fmt.Errorf("the version is empty: %s", versionHelp)
	}
	if len(s) > maxVersionLen {
		return v, fmt.Errorf("version %q is %d characters long; the limit is %d", s, len(s), maxVersionLen)
	}
	core, build, hasBuild := strings.Cut(s, "+")
	if hasBuild && !identifiers(build) {
		return v, fmt.Errorf("version %q has malformed build metadata after +: %s", s, versionHelp)
	}
	core, pre, hasPre := strings.Cut(core, "-")
	if hasPre {
		if !identifiers(pre) {
			return v, fmt.Errorf("version %q has a malformed pre-release label after -: use letters, digits and hyphens, dot-separated, such as beta.2", s)
		}
		v.pre = strings.Split(pre, ".")
	}
	parts := strings.Split(core, ".")
	if len(parts) < 2 || len(parts) > 4 {
		return v, fmt.Errorf("version %q is not a package version: %s", s, versionHelp)
	}
	for i, p := range parts {
		n, err := strconv.ParseInt(p, 10, 32)
		if err != nil || n < 0 || strings.ContainsAny(p, "+-") {
			return v, fmt.Errorf("version %q is not a package version (%q is not a whole number): %s", s, p, versionHelp)
		}
		v.nums[i] = n
	}
	v.n = len(parts)
	return v, nil
}

// identifiers reports whether s is dot-separated, non-empty runs of letters, digits and
// hyphens (pre-release labels and build metadata).
func identifiers(s string) bool {
	for _, id := range strings.Split(s, ".") {
		if id == "" {
			return false
		}
		for _, r := range id {
			if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '-') {
				return false
			}
		}
	}
	return true
}

// String is the normalized form NuGet uses: at least three numbers, a fourth only when it
// is not 0, numbers without leading zeros, the pre-release label as written, no build
// metadata. Two versions are the same version exactly when their normalized forms are
// equal ignoring case.
func (v Version) String() string {
	var b strings.Builder
	n := 3
	if v.nums[3] != 0 {
		n = 4
	}
	for i := range n {
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(strconv.FormatInt(v.nums[i], 10))
	}
	if v.pre != nil {
		b.WriteByte('-')
		b.WriteString(strings.Join(v.pre, "."))
	}
	return b.String()
}

// Prerelease reports whether the version has a pre-release label.
func (v Version) Prerelease() bool { return v.pre != nil }

// Compare orders versions by precedence, as SemVer 2.0 and NuGet do: the numbers first;
// then a pre-release is lower than the release of the same numbers; pre-release labels
// compare identifier by identifier (numbers numerically and below words, words
// case-insensitively), a shorter label being lower when the longer one starts with it.
func (v Version) Compare(w Version) int {
	for i := range v.nums {
		if c := cmpInt(v.nums[i], w.nums[i]); c != 0 {
			return c
		}
	}
	switch {
	case v.pre == nil && w.pre == nil:
		return 0
	case v.pre == nil:
		return 1
	case w.pre == nil:
		return -1
	}
	for i := 0; i < len(v.pre) && i < len(w.pre); i++ {
		a, b := v.pre[i], w.pre[i]
		an, aErr := strconv.ParseUint(a, 10, 64)
		bn, bErr := strconv.ParseUint(b, 10, 64)
		var c int
		switch {
		case aErr == nil && bErr == nil:
			c = cmpInt(int64(an), int64(bn))
		case aErr == nil:
			c = -1
		case bErr == nil:
			c = 1
		default:
			c = strings.Compare(strings.ToLower(a), strings.ToLower(b))
		}
		if c != 0 {
			return c
		}
	}
	return cmpInt(int64(len(v.pre)), int64(len(w.pre)))
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// NormalizeVersion parses s and returns its normalized form (Version.String).
func NormalizeVersion(s string) (string, error) {
	v, err := ParseVersion(strings.TrimSpace(s))
	if err != nil {
		return "", err
	}
	return v.String(), nil
}

// CompareVersions orders two version texts by precedence (Version.Compare). A text that is
// not a version sorts below every version, and such texts among themselves by their text,
// so that the order is total.
func CompareVersions(a, b string) int {
	va, errA := ParseVersion(a)
	vb, errB := ParseVersion(b)
	switch {
	case errA == nil && errB == nil:
		return va.Compare(vb)
	case errA == nil:
		return 1
	case errB == nil:
		return -1
	}
	return strings.Compare(a, b)
}
