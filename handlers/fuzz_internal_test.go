package handlers

import (
	"net/url"
	"strings"
	"testing"
)

// FuzzSafeNext: the "next" parameter of the login links comes from anyone;
// whatever it holds, the redirect stays on Agora (a path, never another
// host, never a scheme, no header-splitting characters).
func FuzzSafeNext(f *testing.F) {
	for _, s := range []string{"/", "/admin?x=1#y", "//evil.example", "/\\evil.example", "https://evil.example/",
		"/%2F%2Fevil.example", "/\t/evil.example", "javascript:alert(1)", "/a\r\nSet-Cookie: x=y", "", "/@evil.example",
		"/..//evil.example", "///evil.example", "/ /evil", "\\\\evil.example"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, next string) {
		got := safeNext(next)
		if got == "" || got[0] != '/' || strings.HasPrefix(got, "//") || strings.ContainsAny(got, "\\\r\n") {
			t.Fatalf("safeNext(%q) = %q", next, got)
		}
		u, err := url.Parse(got)
		if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
			t.Fatalf("safeNext(%q) = %q, which leaves the site (%v)", next, got, err)
		}
		// A browser resolves it against Agora's origin: it must stay there.
		base, _ := url.Parse("https://agora.example.gouv.fr/login")
		if r := base.ResolveReference(u); r.Host != base.Host {
			t.Fatalf("safeNext(%q) = %q resolves to host %q", next, got, r.Host)
		}
	})
}
