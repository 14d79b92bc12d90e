package eventcsv_test

import (
	"bytes"
	"encoding/csv"
	"errors"
	"net/mail"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/dnum-sociaux/agora/internal/eventcsv"
	"github.com/dnum-sociaux/agora/models"
)

// FuzzParse feeds the correspondents' CSV import anything a spreadsheet (or
// an attacker) can upload. Whatever the bytes: no panic; a rejected file is
// a *FileError with a French message and no line; an accepted file has at
// most MaxLines lines, numbered upwards from 2; every line accepted has a
// plain lower-case address, a clean name and a mode the event offers, and
// no address twice. Written back as a semicolon CSV, the accepted lines
// read back the same (a second pass through the parser).
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		"Courriel;Nom;Mode\r\neloise@x.fr;Éloïse Lefèvre;sur place\r\nBOB@x.fr;Bob Ça;à distance\r\n",
		"\xEF\xBB\xBFemail;nom\neloise@x.fr;Éloïse\n",
		"email,\"Nom, prénom\",mode\neloise@x.fr,\"Éloïse \"\"Lolo\"\" Lefèvre\",présentiel\nbob@x.fr,Bob,visio\n",
		"E-mail\tPrénom\tNom\na@x.fr\tAnne\tMartin\n\n\nb@x.fr\t\tBen\n",
		"Adresse électronique;Nom;Mode\n\xe9loise@x.fr;\xc9lo\xefse;sur place\n", // Windows-1252
		"email;nom\na@x.fr;=HYPERLINK(\"http://x\")\n+b@x.fr;@SUM(1)\na@x.fr;Doublon\n",
		"email;nom;mode\nnot-an-email;X\n;Sans adresse\nc@x.fr;\nd@x.fr;D;en orbite\n\"e@x.fr;E\n",
		"PK\x03\x04 excel",
		"\xFF\xFEe\x00m\x00",
		"nom;prenom\nMartin;Anne\n",
		"",
		"\n\n",
		"email;nom\n" + strings.Repeat("x", 300) + "@x.fr;" + strings.Repeat("é", 101) + "\n",
		"email;nom\r\na@x.fr;A\x00B\r\n",
		"email;nom\na@b.c;\"multi\nligne\"\n",
	} {
		f.Add([]byte(seed), uint8(0))
	}
	f.Fuzz(func(t *testing.T, data []byte, modeChoice uint8) {
		modes := []models.Modes{models.ModesBoth, models.ModesOnsite, models.ModesRemote}[modeChoice%3]
		def := modes.Choices()[0]
		lines, err := eventcsv.Parse(data, modes, def)
		if err != nil {
			var fe *eventcsv.FileError
			if !errors.As(err, &fe) || strings.TrimSpace(fe.Message) == "" {
				t.Fatalf("a rejected file must say why in French: %T %v", err, err)
			}
			if lines != nil {
				t.Fatalf("a rejected file gave %d lines", len(lines))
			}
			return
		}
		if len(lines) == 0 || len(lines) > eventcsv.MaxLines {
			t.Fatalf("%d lines accepted", len(lines))
		}
		seen := map[string]bool{}
		prev := 1
		var good []eventcsv.Line
		for _, l := range lines {
			if l.Number <= prev {
				t.Fatalf("line numbers not increasing: %d after %d", l.Number, prev)
			}
			prev = l.Number
			if l.Problem != "" {
				if !utf8.ValidString(l.Problem) {
					t.Fatalf("line %d: problem text is not UTF-8: %q", l.Number, l.Problem)
				}
				continue
			}
			checkAccepted(t, l, modes)
			if seen[l.Email] {
				t.Fatalf("line %d: %s accepted twice", l.Number, l.Email)
			}
			seen[l.Email] = true
			good = append(good, l)
		}
		if len(good) == 0 {
			return
		}
		// Round trip: what was accepted, written as a French Excel CSV,
		// reads back the same.
		var buf bytes.Buffer
		w := csv.NewWriter(&buf)
		w.Comma = ';'
		_ = w.Write([]string{"adresse électronique", "nom", "mode"})
		for _, l := range good {
			_ = w.Write([]string{l.Email, l.Name, string(l.Mode)})
		}
		w.Flush()
		again, err := eventcsv.Parse(buf.Bytes(), modes, def)
		if err != nil {
			t.Fatalf("the accepted lines, written back, are rejected: %v\n%s", err, buf.String())
		}
		if len(again) != len(good) {
			t.Fatalf("written back: %d lines, want %d\n%s", len(again), len(good), buf.String())
		}
		for i, l := range again {
			g := good[i]
			if l.Problem != "" || l.Email != g.Email || l.Name != g.Name || l.Mode != g.Mode {
				t.Fatalf("written back, line %d reads %+v, want %+v", i+2, l, g)
			}
		}
	})
}

func checkAccepted(t *testing.T, l eventcsv.Line, modes models.Modes) {
	t.Helper()
	switch {
	case l.Email == "" || l.Email != strings.ToLower(l.Email) || strings.ContainsAny(l.Email, " ,;<>\"\r\n"):
		t.Fatalf("line %d: accepted address %q", l.Number, l.Email)
	case l.Name == "" || l.Name != strings.TrimSpace(l.Name) || !utf8.ValidString(l.Name) || utf8.RuneCountInString(l.Name) > 100:
		t.Fatalf("line %d: accepted name %q", l.Number, l.Name)
	case strings.ContainsFunc(l.Name, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		t.Fatalf("line %d: accepted name with a control character %q", l.Number, l.Name)
	case !modes.Offers(l.Mode):
		t.Fatalf("line %d: accepted mode %q, the event offers %q", l.Number, l.Mode, modes)
	}
	a, err := mail.ParseAddress(l.Email)
	if err != nil || a.Address != l.Email || a.Name != "" {
		t.Fatalf("line %d: accepted address %q does not read back as itself (%v)", l.Number, l.Email, err)
	}
	at := strings.LastIndexByte(l.Email, '@')
	if at <= 0 || !strings.Contains(l.Email[at+1:], ".") {
		t.Fatalf("line %d: accepted address %q has no domain with a dot", l.Number, l.Email)
	}
}
