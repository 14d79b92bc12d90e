package eventcsv_test

import (
	"archive/zip"
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"math/rand/v2"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/dnum-sociaux/agora/internal/eventcsv"
)

// openXLSX checks that every part of the workbook is well-formed XML (the
// standard library's decoder refuses the characters XML cannot carry),
// then opens it with excelize, the independent reader.
func openXLSX(t *testing.T, data []byte) *excelize.File {
	t.Helper()
	z, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, zf := range z.File {
		names = append(names, zf.Name)
		if zf.Method != zip.Deflate {
			t.Errorf("%s: method %d, want deflate", zf.Name, zf.Method)
		}
		r, err := zf.Open()
		if err != nil {
			t.Fatal(err)
		}
		d := xml.NewDecoder(r)
		for {
			if _, err = d.Token(); err != nil {
				break
			}
		}
		if !errors.Is(err, io.EOF) {
			t.Errorf("%s: %v", zf.Name, err)
		}
		_ = r.Close()
	}
	for _, part := range []string{"[Content_Types].xml", "_rels/.rels", "xl/workbook.xml", "xl/_rels/workbook.xml.rels", "xl/styles.xml", "xl/worksheets/sheet1.xml"} {
		if !slices.Contains(names, part) {
			t.Errorf("no %s in %q", part, names)
		}
	}
	f, err := excelize.OpenReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.Close() })
	return f
}

// Whatever a cell holds, it reads back as written, as an inline string:
// accents, XML's special characters, line breaks, spaces at either end,
// text that looks like Excel's _xHHHH_ escapes, long text. What XML cannot
// carry (control characters, invalid UTF-8) is dropped rather than making
// the file unreadable; what looks like a formula gets its apostrophe, even
// behind a dropped character; an empty cell is no cell and shifts nothing.
func TestXLSXCells(t *testing.T) {
	long := strings.Repeat("Réponse très longue. ", 1000) // 21,000 characters
	tooLong := strings.Repeat("é", 40000)
	cases := []struct{ in, want string }{
		{"Éloïse Lefèvre, cœur, ß, 東京", "Éloïse Lefèvre, cœur, ß, 東京"},
		{`<b>&amp; "x" 'y' ]]> </t></is>`, `<b>&amp; "x" 'y' ]]> </t></is>`},
		{"ligne 1\nligne 2\r\nligne 3\r", "ligne 1\nligne 2\r\nligne 3\r"},
		{"  espaces  ", "  espaces  "},
		{"a\tb", "a\tb"},
		{"😀 emoji", "😀 emoji"},
		{"\ufffd is a character", "\ufffd is a character"},
		{"_x0041_ and _x005F_ and _x12G4_ and _X0041_", "_x0041_ and _x005F_ and _x12G4_ and _X0041_"},
		{"nul\x00, bell\x07, vt\x0b, esc\x1b, unit\x1f, del\x7f", "nul, bell, vt, esc, unit, del\x7f"},
		{"bad \xff\xfe utf-8 \xc3", "bad  utf-8 "},
		{"non-characters \ufffe\uffff.", "non-characters ."},
		{"=1+1", "'=1+1"},
		{"\x00=HYPERLINK(\"http://evil\")", `'=HYPERLINK("http://evil")`},
		{"@SUM(A1)", "'@SUM(A1)"},
		{"\x01\x02", ""}, // nothing left: no cell
		{long, long},
		{tooLong, tooLong[:2*32767]},              // Excel's limit, in UTF-16 code units
		{"-" + tooLong, "'-" + tooLong[:2*32765]}, // the apostrophe counts
		{"x" + strings.Repeat("😀", 20000), "x" + strings.Repeat("😀", 16383)}, // two units each
	}
	var b bytes.Buffer
	x, err := eventcsv.NewXLSX(&b)
	if err != nil {
		t.Fatal(err)
	}
	if err := x.Sheet("Cellules"); err != nil {
		t.Fatal(err)
	}
	if err := x.Row([]string{"Entrée", "", "Valeur"}); err != nil {
		t.Fatal(err)
	}
	for i, c := range cases {
		if err := x.Row([]string{strconv.Itoa(i), "", c.in, "", "fin"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := x.Close(); err != nil {
		t.Fatal(err)
	}
	if x.Row([]string{"après"}) == nil || x.Close() == nil {
		t.Error("a closed workbook took a row or a second Close")
	}
	f := openXLSX(t, b.Bytes())
	rows, err := f.GetRows("Cellules")
	if err != nil || len(rows) != 1+len(cases) {
		t.Fatalf("%d rows, %v", len(rows), err)
	}
	if want := []string{"Entrée", "", "Valeur"}; !slices.Equal(rows[0], want) {
		t.Errorf("header %q", rows[0])
	}
	for i, c := range cases {
		ref := "C" + strconv.Itoa(i+2)
		got, err := f.GetCellValue("Cellules", ref)
		if err != nil || got != c.want {
			t.Errorf("case %d: %s = %.80q (%d bytes) %v, want %.80q (%d bytes)", i, ref, got, len(got), err, c.want, len(c.want))
		}
		if want := []string{strconv.Itoa(i), "", c.want, "", "fin"}; !slices.Equal(rows[i+1], want) {
			t.Errorf("case %d: row %.120q", i, rows[i+1])
		}
		for _, ref := range []string{"B", "D"} {
			if typ, _ := f.GetCellType("Cellules", ref+strconv.Itoa(i+2)); typ != excelize.CellTypeUnset {
				t.Errorf("case %d: empty %s is a cell of type %v", i, ref, typ)
			}
		}
		if c.want == "" {
			continue
		}
		if typ, err := f.GetCellType("Cellules", ref); err != nil || typ != excelize.CellTypeInlineString {
			t.Errorf("case %d: type %v %v", i, typ, err)
		}
		if formula, err := f.GetCellFormula("Cellules", ref); err != nil || formula != "" {
			t.Errorf("case %d: formula %q %v", i, formula, err)
		}
	}
	// The first row is bold, the others plain.
	for ref, bold := range map[string]bool{"A1": true, "C1": true, "A2": false, "C5": false} {
		id, err := f.GetCellStyle("Cellules", ref)
		if err != nil {
			t.Fatal(err)
		}
		style, err := f.GetStyle(id)
		if err != nil {
			t.Fatal(err)
		}
		if got := style.Font != nil && style.Font.Bold; got != bold {
			t.Errorf("%s: bold %v, want %v", ref, got, bold)
		}
	}
}

// Cells land in their column however many there are: A … Z, AA … ZZ,
// AAA … up to Excel's last, XFD; one more is an error.
func TestXLSXColumns(t *testing.T) {
	const n = 16384
	full := make([]string, n)
	sparse := make([]string, n)
	for i := range full {
		full[i] = strconv.Itoa(i + 1)
	}
	for _, i := range []int{0, 25, 26, 27, 51, 52, 701, 702, 703, n - 1} {
		sparse[i] = "c" + strconv.Itoa(i+1)
	}
	var b bytes.Buffer
	x, _ := eventcsv.NewXLSX(&b)
	_ = x.Sheet("Colonnes")
	if err := x.Row(full); err != nil {
		t.Fatal(err)
	}
	if err := x.Row(sparse); err != nil {
		t.Fatal(err)
	}
	if err := x.Row(make([]string, n+1)); err == nil {
		t.Error("a row of 16,385 cells was accepted")
	}
	if err := x.Close(); err != nil {
		t.Fatal(err)
	}
	f := openXLSX(t, b.Bytes())
	rows, err := f.GetRows("Colonnes")
	if err != nil || len(rows) != 2 {
		t.Fatalf("%d rows, %v", len(rows), err)
	}
	if !slices.Equal(rows[0], full) {
		for i := range full {
			if i >= len(rows[0]) || rows[0][i] != full[i] {
				name, _ := excelize.ColumnNumberToName(i + 1)
				t.Fatalf("column %s (%d): row 1 has %d cells, the first wrong one %q", name, i+1, len(rows[0]), rows[0][min(i, len(rows[0])-1)])
			}
		}
	}
	if !slices.Equal(rows[1], sparse) {
		t.Errorf("sparse row: %d cells", len(rows[1]))
	}
	for ref, want := range map[string]string{"Z1": "26", "AA1": "27", "AZ1": "52", "BA1": "53", "ZZ1": "702", "AAA1": "703", "XFD1": "16384", "AB2": "c28", "XFD2": "c16384"} {
		if got, err := f.GetCellValue("Colonnes", ref); err != nil || got != want {
			t.Errorf("%s = %q %v, want %q", ref, got, err, want)
		}
	}
}

// Sheet names are what Excel accepts (31 characters, none of []:*?/\, no
// control character, no apostrophe at either end, not empty, not
// "History") and all different, ignoring case; a row before any sheet, or
// no row at all, still makes a workbook with one sheet.
func TestXLSXSheetNames(t *testing.T) {
	for name, tc := range map[string]struct {
		sheets []string
		want   []string
	}{
		"none":      {nil, []string{"Feuille"}},
		"row first": {[]string{""}, []string{"Feuille"}},
		"forbidden": {[]string{"Inscriptions", "Atelier : données/IA", `a[b]c*d?e\f`, "tab\tnul\x00 & <x>"},
			[]string{"Inscriptions", "Atelier - données-IA 2", "a-b-c-d-e-f 3", "tabnul & <x> 4"}},
		"long": {[]string{strings.Repeat("é", 40), strings.Repeat("x", 40), "😀" + strings.Repeat("y", 40)},
			[]string{strings.Repeat("é", 27), strings.Repeat("x", 27) + " 2", "😀" + strings.Repeat("y", 25) + " 3"}},
		"empty and quoted": {[]string{"", "''", "'Atelier'", "   "}, []string{"Feuille", "Feuille 2", "Atelier 3", "Feuille 4"}},
		"clash":            {[]string{"Design 2", "Design", "design", "HISTORY"}, []string{"Design 2", "Design 3", "design 4", "HISTORY 4"}},
		"reserved":         {[]string{"History", "history"}, []string{"History 2", "history 3"}},
	} {
		t.Run(name, func(t *testing.T) {
			var b bytes.Buffer
			x, _ := eventcsv.NewXLSX(&b)
			for i, s := range tc.sheets {
				if name == "row first" {
					_ = x.Row([]string{"sans feuille"})
					continue
				}
				if err := x.Sheet(s); err != nil {
					t.Fatal(err)
				}
				if err := x.Row([]string{"feuille " + strconv.Itoa(i+1)}); err != nil {
					t.Fatal(err)
				}
			}
			if err := x.Close(); err != nil {
				t.Fatal(err)
			}
			f := openXLSX(t, b.Bytes())
			got := f.GetSheetList()
			if !slices.Equal(got, tc.want) {
				t.Fatalf("sheets %q, want %q", got, tc.want)
			}
			for i, s := range got {
				rows, err := f.GetRows(s)
				if name == "none" {
					if err != nil || len(rows) != 0 {
						t.Errorf("%q: %q %v", s, rows, err)
					}
					continue
				}
				want := "feuille " + strconv.Itoa(i+1)
				if name == "row first" {
					want = "sans feuille"
				}
				if err != nil || len(rows) != 1 || rows[0][0] != want {
					t.Errorf("%q: %q %v", s, rows, err)
				}
			}
		})
	}
}

// arrivals counts the bytes that reached the writer.
type arrivals struct{ n int64 }

func (w *arrivals) Write(p []byte) (int, error) {
	w.n += int64(len(p))
	return len(p), nil
}

// liveHeap is the heap still in use after a full collection.
func liveHeap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// The workbook streams: its first bytes reach the writer after a few
// hundred rows, almost all of it before Close, and the live heap does not
// grow with the rows. Counted in bytes, not timed: an implementation that
// keeps the rows (as XML, or even compressed) until Close fails both, on
// any machine. The cells are random letters so that the compressed rows
// are large against the tolerance for the heap.
func TestXLSXStreams(t *testing.T) {
	const n, sample = 30000, 3000
	w := &arrivals{}
	x, err := eventcsv.NewXLSX(w)
	if err != nil {
		t.Fatal(err)
	}
	if err := x.Sheet("Inscriptions"); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	letters := make([]byte, 32)
	cell := func() string {
		for i := range letters {
			letters[i] = byte('a' + rng.IntN(26))
		}
		return string(letters)
	}
	firstAt := 0
	var base, peak uint64
	var atBase int64
	for i := 1; i <= n; i++ {
		if err := x.Row([]string{strconv.Itoa(i), cell(), cell(), cell(), cell()}); err != nil {
			t.Fatal(err)
		}
		if firstAt == 0 && w.n > 0 {
			firstAt = i
		}
		switch {
		case i == sample:
			base, atBase = liveHeap(), w.n
		case i > sample && i%sample == 0:
			peak = max(peak, liveHeap())
		}
	}
	beforeClose := w.n
	if err := x.Close(); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d rows, %d bytes: the first after row %d, %d before Close; live heap %d KiB after row %d, at most %d KiB after",
		n, w.n, firstAt, beforeClose, base>>10, sample, peak>>10)
	if firstAt == 0 || firstAt > n/20 {
		t.Errorf("the first bytes arrived after row %d of %d", firstAt, n)
	}
	if beforeClose < w.n*9/10 {
		t.Errorf("%d of %d bytes arrived before Close", beforeClose, w.n)
	}
	// The rows after the first sample produced grown bytes of zip; kept in
	// memory they would grow the heap by at least as much.
	grown := w.n - atBase
	if grown < 1<<20 {
		t.Fatalf("only %d bytes for %d rows: the test proves nothing", grown, n-sample)
	}
	if peak > base && peak-base > uint64(grown)/4 {
		t.Errorf("the live heap grew by %d KiB while %d KiB of rows were written", (peak-base)>>10, grown>>10)
	}
}
