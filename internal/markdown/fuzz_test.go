package markdown_test

import (
	"regexp"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/dnum-sociaux/agora/internal/markdown"
)

// FuzzMarkdownIsSafe: whatever an organiser writes in an agenda or minutes,
// the HTML that reaches the page has no element, attribute or URL that can
// run script (checked by parsing the output as a browser would).
func FuzzMarkdownIsSafe(f *testing.F) {
	for _, s := range []string{
		"## Ordre du jour\n\n1. Tour de table\n2. **Décisions**",
		"<script>alert(1)</script>", "[clic](javascript:alert(1))", "![x](x\" onerror=\"alert(1))",
		"<a href=\"https://ok.example.org\" onclick=\"alert(1)\">ok</a>", "<scr<script>ipt>alert(1)</script>",
		"[a](  jAvAsCrIpT:alert(1))", "[a](&#106;avascript:alert(1))", "<svg/onload=alert(1)>", "```\n<script>\n```",
		"> citation\n> <img src=x onerror=alert(1)>", "| a | b |\n|---|---|\n| <b onmouseover=x>c</b> | d |",
		"[a](data:text/html,<script>alert(1)</script>)", "<math><mi xlink:href=\"javascript:alert(1)\">x</mi></math>",
	} {
		f.Add(s)
	}
	r := markdown.New()
	f.Fuzz(func(t *testing.T, src string) {
		out := string(r.HTML(src))
		if problem := scriptable(out); problem != "" {
			t.Fatalf("%q rendered %q: %s", src, out, problem)
		}
		_ = markdown.Text(src)
	})
}

var schemeRE = regexp.MustCompile(`^([a-z][a-z0-9+.-]*):`)

// scriptable parses out as a browser would and names the first element,
// attribute or URL that could run script, or returns "". Unlike the
// example-based test's check, relative URLs ("0", "page#x") are fine: only a
// scheme other than http, https and mailto is refused, after removing what
// browsers ignore in a scheme (whitespace, control characters, case).
func scriptable(out string) string {
	z := html.NewTokenizer(strings.NewReader(out))
	for {
		switch z.Next() {
		case html.ErrorToken:
			return ""
		case html.StartTagToken, html.SelfClosingTagToken:
			tok := z.Token()
			switch tok.Data {
			case "script", "iframe", "svg", "style", "object", "embed", "form", "math", "base", "meta", "link":
				return "element " + tok.Data
			}
			for _, a := range tok.Attr {
				switch {
				case strings.HasPrefix(a.Key, "on"), a.Key == "style", a.Key == "srcdoc", a.Key == "formaction":
					return "attribute " + a.Key
				case a.Key == "href" || a.Key == "src" || a.Key == "action" || a.Key == "xlink:href":
					v := strings.ToLower(strings.Map(func(r rune) rune {
						if r <= 0x20 || r == 0x7f {
							return -1
						}
						return r
					}, a.Val))
					if m := schemeRE.FindStringSubmatch(v); m != nil && m[1] != "http" && m[1] != "https" && m[1] != "mailto" {
						return "url " + a.Val
					}
				}
			}
		}
	}
}
