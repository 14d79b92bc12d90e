package eventcsv_test

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/charmap"

	"github.com/dnum-sociaux/agora/internal/eventcsv"
	"github.com/dnum-sociaux/agora/models"
)

func report(lines []eventcsv.Line) string {
	var b strings.Builder
	for _, l := range lines {
		if l.Problem != "" {
			fmt.Fprintf(&b, "%d:%s:REFUSED:%s\n", l.Number, l.Email, l.Problem)
		} else {
			fmt.Fprintf(&b, "%d:%s:%s:%s\n", l.Number, l.Email, l.Name, l.Mode)
		}
	}
	return b.String()
}

func TestParseEncodingsAndSeparators(t *testing.T) {
	want := "2:eloise@x.fr:Éloïse Lefèvre:onsite\n3:bob@x.fr:Bob Ça:remote\n"
	utf := "Courriel;Nom;Mode\r\neloise@x.fr;Éloïse Lefèvre;sur place\r\nBOB@x.fr;Bob Ça;à distance\r\n"
	win, err := charmap.Windows1252.NewEncoder().String(utf)
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string]string{
		"utf-8":            utf,
		"utf-8 with BOM":   "\xEF\xBB\xBF" + utf,
		"windows-1252":     win,
		"comma, quoted":    "email,\"Nom, prénom\",mode\neloise@x.fr,\"Éloïse Lefèvre\",présentiel\nbob@x.fr,Bob Ça,visio\n",
		"tab, no mode col": "E-mail\tNom\neloise@x.fr\tÉloïse Lefèvre\n\nbob@x.fr\tBob Ça\n",
	} {
		t.Run(name, func(t *testing.T) {
			def := models.ModeOnsite
			lines, err := eventcsv.Parse([]byte(data), models.ModesBoth, def)
			if err != nil {
				t.Fatal(err)
			}
			w := want
			if name == "tab, no mode col" {
				w = strings.Replace(want, "remote", "onsite", 1)
				w = strings.Replace(w, "3:", "4:", 1)
			}
			if got := report(lines); got != w {
				t.Errorf("got\n%swant\n%s", got, w)
			}
		})
	}
}

func TestParseLineProblems(t *testing.T) {
	data := "prénom;nom;adresse électronique;mode\n" +
		"Ana;Diaz;ana@x.fr;sur place\n" +
		"Ben;;pas-une-adresse;\n" +
		";;;\n" +
		"Ana;Diaz;ANA@x.fr;\n" +
		";;ok@x.fr;\n" +
		"Cy;Roe;cy@x.fr;en avion\n" +
		"Di;Doe;di@x.fr;à distance\n" +
		"Ed;Eve;=cmd|' /C calc'!A0@x.fr;\n"
	lines, err := eventcsv.Parse([]byte(data), models.ModesOnsite, models.ModeOnsite)
	if err != nil {
		t.Fatal(err)
	}
	want := "2:ana@x.fr:Ana Diaz:onsite\n" +
		"3:pas-une-adresse:REFUSED:Adresse électronique invalide : « pas-une-adresse ».\n" +
		"5:ana@x.fr:REFUSED:En double : cette adresse est déjà ligne 2.\n" +
		"6:ok@x.fr:REFUSED:Nom manquant.\n" +
		"7:cy@x.fr:REFUSED:Mode de participation inconnu : « en avion » (écrivez « sur place » ou « à distance »).\n" +
		"8:di@x.fr:REFUSED:Ce mode de participation n'est pas proposé pour cet événement : « à distance ».\n" +
		"9:=cmd|' /c calc'!a0@x.fr:REFUSED:Adresse électronique invalide : « =cmd|' /c calc'!a0@x.fr ».\n"
	if got := report(lines); got != want {
		t.Errorf("got\n%swant\n%s", got, want)
	}
}

func TestParseRejectsFiles(t *testing.T) {
	big := &strings.Builder{}
	big.WriteString("email;nom\n")
	for i := range eventcsv.MaxLines + 1 {
		fmt.Fprintf(big, "a%d@x.fr;A %d\n", i, i)
	}
	for name, tc := range map[string]struct{ data, want string }{
		"empty":           {"", "vide"},
		"header only":     {"email;nom\n", "aucune ligne"},
		"missing column":  {"email;prénom\na@x.fr;A\n", "Colonne manquante : « nom »"},
		"wrong separator": {"email|nom\na@x.fr|A\n", "Colonne manquante"},
		"xlsx":            {"PK\x03\x04rest", "classeur Excel"},
		"utf-16":          {"\xFF\xFEe\x00", "UTF-16"},
		"too many lines":  {big.String(), "plus de 10000 lignes"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := eventcsv.Parse([]byte(tc.data), models.ModesOnsite, models.ModeOnsite)
			var fe *eventcsv.FileError
			if !errors.As(err, &fe) || !strings.Contains(fe.Message, tc.want) {
				t.Errorf("err %v, want a file error containing %q", err, tc.want)
			}
		})
	}
	// An unclosed quote swallows the following lines into one field: that
	// line is refused, nothing is read from the lines it swallowed.
	lines, err := eventcsv.Parse([]byte("email;nom\n\"a@x.fr;A\nb@x.fr;B\n"), models.ModesOnsite, models.ModeOnsite)
	if err != nil || len(lines) != 1 || lines[0].Problem == "" {
		t.Errorf("unclosed quote: %+v %v", lines, err)
	}
	// Exactly the maximum is accepted.
	lines, err = eventcsv.Parse([]byte(strings.Join(strings.Split(big.String(), "\n")[:eventcsv.MaxLines+1], "\n")), models.ModesOnsite, models.ModeOnsite)
	if err != nil || len(lines) != eventcsv.MaxLines {
		t.Errorf("%d lines: %v", len(lines), err)
	}
}

func TestSanitize(t *testing.T) {
	for in, want := range map[string]string{
		"=1+1": "'=1+1", "+33 1": "'+33 1", "-2": "'-2", "@SUM(A1)": "'@SUM(A1)", "\t=x": "'\t=x", "Alice": "Alice", "": "",
	} {
		if got := eventcsv.Sanitize(in); got != want {
			t.Errorf("Sanitize(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestExportFormats(t *testing.T) {
	var b bytes.Buffer
	tb, _ := eventcsv.NewCSV(&b)
	_ = tb.Sheet("Inscriptions")
	_ = tb.Row([]string{"Nom", "Réponse"})
	_ = tb.Row([]string{"Zoé; \"Z\"", "=HYPERLINK(\"http://x\")"})
	if err := tb.Close(); err != nil {
		t.Fatal(err)
	}
	want := "\xEF\xBB\xBFNom;Réponse\r\n\"Zoé; \"\"Z\"\"\";\"'=HYPERLINK(\"\"http://x\"\")\"\r\n"
	if b.String() != want {
		t.Errorf("csv %q\nwant %q", b.String(), want)
	}
	b.Reset()
	x, _ := eventcsv.NewXLSX(&b)
	_ = x.Sheet("Inscriptions")
	_ = x.Row([]string{"Nom", "Réponse"})
	_ = x.Row([]string{"Zoé", "-1"})
	_ = x.Sheet("Atelier : données/IA")
	_ = x.Row([]string{"Nom"})
	if err := x.Close(); err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenReader(&b)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := f.GetRows("Inscriptions")
	if err != nil || len(rows) != 2 || rows[1][1] != "'-1" {
		t.Errorf("xlsx rows %v %v", rows, err)
	}
	if got := f.GetSheetList(); len(got) != 2 || got[1] != "Atelier - données-IA 2" {
		t.Errorf("sheets %v", got)
	}
}

// In the workbook, a cell that starts like a formula is an inline string
// with the apostrophe, never a formula: no <f> element, no "str" (formula
// result) cell; empty cells are left out without shifting the others.
func TestXLSXNoFormula(t *testing.T) {
	var b bytes.Buffer
	x, _ := eventcsv.NewXLSX(&b)
	_ = x.Sheet("Inscriptions")
	_ = x.Row([]string{"Nom", "Vide", "Réponse"})
	evil := []string{"=1+1", "+33 1", "-2", "@SUM(A1)", `=HYPERLINK("http://evil","x")`, "\t=1"}
	for _, s := range evil {
		if err := x.Row([]string{s, "", s}); err != nil {
			t.Fatal(err)
		}
	}
	if err := x.Close(); err != nil {
		t.Fatal(err)
	}
	z, err := zip.NewReader(bytes.NewReader(b.Bytes()), int64(b.Len()))
	if err != nil {
		t.Fatal(err)
	}
	var sheet string
	for _, zf := range z.File {
		if zf.Name == "xl/worksheets/sheet1.xml" {
			r, _ := zf.Open()
			data, _ := io.ReadAll(r)
			sheet = string(data)
		}
	}
	if sheet == "" || strings.Contains(sheet, "<f>") || strings.Contains(sheet, "<f ") || strings.Contains(sheet, `t="str"`) ||
		strings.Count(sheet, `t="inlineStr"`) != 3+2*len(evil) {
		t.Fatalf("sheet XML:\n%s", sheet)
	}
	f, err := excelize.OpenReader(&b)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := f.GetRows("Inscriptions")
	if err != nil || len(rows) != 1+len(evil) {
		t.Fatalf("rows %q %v", rows, err)
	}
	for i, s := range evil {
		if want := []string{"'" + s, "", "'" + s}; strings.Join(rows[i+1], "|") != strings.Join(want, "|") {
			t.Errorf("row %d: %q, want %q", i+2, rows[i+1], want)
		}
		for _, cell := range []string{"A", "C"} {
			cell += strconv.Itoa(i + 2)
			if formula, err := f.GetCellFormula("Inscriptions", cell); err != nil || formula != "" {
				t.Errorf("%s: formula %q %v", cell, formula, err)
			}
			if typ, err := f.GetCellType("Inscriptions", cell); err != nil || typ != excelize.CellTypeInlineString {
				t.Errorf("%s: type %v %v", cell, typ, err)
			}
		}
	}
}

// writeSizes records the size of every Write.
type writeSizes struct {
	n, largest, calls int
}

func (w *writeSizes) Write(p []byte) (int, error) {
	w.n += len(p)
	w.largest = max(w.largest, len(p))
	w.calls++
	return len(p), nil
}

// The workbook's zip goes to the writer as it is compressed, in small
// writes, not built whole in memory and copied at the end in one write
// (TestXLSXStreams checks that it goes while the rows come).
func TestXLSXZipWrittenThrough(t *testing.T) {
	w := &writeSizes{}
	x, _ := eventcsv.NewXLSX(w)
	_ = x.Sheet("Inscriptions")
	for i := range 10000 {
		if err := x.Row([]string{fmt.Sprintf("Personne %05d", i), fmt.Sprintf("p%05d@example.org", i), "DNUM", "Confirmée", strconv.Itoa(i)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := x.Close(); err != nil {
		t.Fatal(err)
	}
	if w.n < 200<<10 || w.largest > 64<<10 || w.calls < 10 {
		t.Errorf("%d bytes in %d writes, the largest %d bytes", w.n, w.calls, w.largest)
	}
}
