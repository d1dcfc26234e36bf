package config

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// TrustedPrefixes converts TrustedProxies into network prefixes. A bare address becomes a
// prefix holding only that address; host bits of a CIDR are masked off. Load has already
// validated the list, so an error only comes from a Server built by hand.
func (s Server) TrustedPrefixes() ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(s.TrustedProxies))
	for _, p := range s.TrustedProxies {
		prefix, err := parseProxy(p)
		if err != nil {
			return nil, fmt.Errorf("trusted proxy %q: %w", p, err)
		}
		out = append(out, prefix)
	}
	return out, nil
}

// parseProxy parses one trusted proxy entry: a CIDR or an IP address.
func parseProxy(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, errors.New("not a CIDR such as 10.0.0.0/8")
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Prefix{}, errors.New("not an IP address or a CIDR")
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// checkValue validates one server setting, named by its flag, on its own. Messages never
// repeat the value of the database URL or of the secret key.
func checkValue(name, v string) error {
	switch name {
	case "listen":
		host, port, err := net.SplitHostPort(v)
		if err != nil || strings.Contains(host, " ") {
			return fmt.Errorf("must be host:port, such as 127.0.0.1:8080 or :8080, got %q", v)
		}
		if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
			return fmt.Errorf("port must be a number from 0 to 65535, got %q", port)
		}
	case "public-url":
		if v == "" {
			return nil
		}
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("must be an absolute http:// or https:// URL, got %q", v)
		}
		if u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
			return fmt.Errorf("must not have a query or a fragment, got %q", v)
		}
	case "database-url":
		if v == "" {
			return nil
		}
		lower := strings.ToLower(v)
		if !strings.HasPrefix(lower, "postgres://") && !strings.HasPrefix(lower, "postgresql://") {
			return errors.New("must be a postgres:// or postgresql:// URL, or empty for SQLite")
		}
		if _, err := url.Parse(v); err != nil {
			return errors.New("is not a valid URL")
		}
	case "trusted-proxies":
		for _, p := range splitList(v) {
			if _, err := parseProxy(p); err != nil {
				return fmt.Errorf("%q: %w", p, err)
			}
		}
	case "robot-heartbeat-interval", "robot-unresponsive-after", "queue-item-abandon-after", "queue-item-retention", "robot-log-retention":
		return checkDuration(v)
	case "log-format":
		switch strings.ToLower(v) {
		case "text", "json":
		default:
			return fmt.Errorf("must be text or json, got %q", v)
		}
	case "token-signing-alg":
		switch strings.ToUpper(v) {
		case "ES256", "RS256":
		default:
			return fmt.Errorf("must be ES256 or RS256, got %q", v)
		}
	case "log-level":
		switch strings.ToLower(v) {
		case "debug", "info", "warn", "error":
		default:
			return fmt.Errorf("must be debug, info, warn or error, got %q", v)
		}
	}
	return nil
}

func checkDuration(v string) error {
	d, err := time.ParseDuration(v)
	if err != nil {
		return fmt.Errorf("must be a duration such as 30s or 2m, got %q", v)
	}
	if d <= 0 {
		return fmt.Errorf("must be positive, got %q", v)
	}
	return nil
}
