package markdown_test

import (
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/dnum-sociaux/agora/internal/markdown"
)

func TestMarkdownRendersFormatting(t *testing.T) {
	r := markdown.New()
	got := string(r.HTML("## Ordre du jour\n\n1. Tour de table\n2. **Décisions**\n\nVoir https://doc.example.org/x et [le wiki](https://wiki.example.org)."))
	for _, want := range []string{"<h2", "Ordre du jour</h2>", "<ol>", "<li>Tour de table</li>", "<strong>Décisions</strong>",
		`<a href="https://doc.example.org/x" rel="nofollow">`, `<a href="https://wiki.example.org" rel="nofollow">le wiki</a>`} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in\n%s", want, got)
		}
	}
	if r.HTML("  \n ") != "" {
		t.Error("blank source should render nothing")
	}
}

// Script and event-handler injection never reaches the page.
func TestMarkdownRemovesInjection(t *testing.T) {
	r := markdown.New()
	for _, src := range []string{
		"<script>alert(1)</script>",
		"Bonjour <img src=x onerror=alert(1)>",
		`<a href="javascript:alert(1)">clic</a>`,
		"[clic](javascript:alert(1))",
		"[clic](JaVaScRiPt:alert(1))",
		"[clic](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
		"![x](x\" onerror=\"alert(1))",
		`<div style="background:url(javascript:alert(1))" onclick="alert(1)">x</div>`,
		"<svg><script>alert(1)</script></svg>",
		"<iframe src=https://evil.example.org></iframe>",
		"<p onmouseover=alert(1)>survol</p>",
		"`<script>` dans du code est du texte",
		"<scr<script>ipt>alert(1)</script>",
		"<a href=\"https://ok.example.org\" onclick=\"alert(1)\">ok</a>",
	} {
		got := string(r.HTML(src))
		if problem := unsafeHTML(got); problem != "" {
			t.Errorf("%q rendered %q: %s", src, got, problem)
		}
	}
	// Code spans keep the text, escaped.
	if got := string(r.HTML("`<script>` dans du code")); !strings.Contains(got, "<code>&lt;script&gt;</code>") {
		t.Errorf("code span = %s", got)
	}
}

// unsafeHTML parses out as a browser would and names the first element or
// attribute that could run script, or returns "".
func unsafeHTML(out string) string {
	z := html.NewTokenizer(strings.NewReader(out))
	for {
		switch z.Next() {
		case html.ErrorToken:
			return ""
		case html.StartTagToken, html.SelfClosingTagToken:
			tok := z.Token()
			switch tok.Data {
			case "script", "iframe", "svg", "style", "object", "embed", "form", "math":
				return "element " + tok.Data
			}
			for _, a := range tok.Attr {
				v := strings.ToLower(strings.TrimSpace(a.Val))
				switch {
				case strings.HasPrefix(a.Key, "on"), a.Key == "style", a.Key == "srcdoc":
					return "attribute " + a.Key
				case (a.Key == "href" || a.Key == "src") && !strings.HasPrefix(v, "https://") && !strings.HasPrefix(v, "http://") && !strings.HasPrefix(v, "mailto:") && v != "x":
					return "url " + a.Val
				}
			}
		}
	}
}
