package eventcsv

import (
	"archive/zip"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Excel's limits: rows and columns of a sheet, characters (UTF-16 code
// units) in a cell and in a sheet name.
const (
	xlsxMaxRows      = 1 << 20
	xlsxMaxCols      = 1 << 14
	xlsxMaxCellChars = 32767
	xlsxMaxNameChars = 31
)

// NewXLSX writes an Excel workbook (SpreadsheetML) straight to w as rows
// come, in constant memory: each sheet is one deflated zip entry, opened
// by Sheet, and each Row is encoded and handed to the compressor at once,
// so the first bytes reach w after a few hundred rows, not after the last.
// Sheets are written one after the other (a zip entry cannot be
// interleaved); the parts that list the sheets (workbook, its
// relationships, content types) and the styles follow them in Close — a
// zip's entries may come in any order, its central directory at the end
// says where they are. Every non-empty cell is an inline string, never a
// formula; the first row of each sheet is bold. ADR 0032 says why this is
// not excelize's StreamWriter.
func NewXLSX(w io.Writer) (Table, error) {
	return &xlsxTable{zw: zip.NewWriter(w), used: map[string]bool{"history": true}}, nil
}

type xlsxTable struct {
	zw    *zip.Writer
	sheet io.Writer       // the open sheet's zip entry; nil before the first Sheet
	names []string        // the sheets' names, in order
	used  map[string]bool // names taken, lower-cased: Excel ignores case ("History" is reserved)
	row   int             // rows written in the open sheet
	buf   []byte          // one row's XML, reused
	done  bool            // closed
}

var errXLSXClosed = errors.New("xlsx: workbook closed")

const (
	xmlHeader  = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>` + "\n"
	nsMain     = `http://schemas.openxmlformats.org/spreadsheetml/2006/main`
	nsRel      = `http://schemas.openxmlformats.org/officeDocument/2006/relationships`
	nsPkgRel   = `http://schemas.openxmlformats.org/package/2006/relationships`
	sheetStart = xmlHeader + `<worksheet xmlns="` + nsMain + `"><sheetData>`
	sheetEnd   = `</sheetData></worksheet>`
)

// sheetName keeps what Excel accepts: at most 31 characters, none of
// []:*?/\ nor a control character, no apostrophe or space first or
// last, not empty. The n-th sheet (n > 1) gets " n" after its name, which
// keeps the names of a workbook apart.
func sheetName(name string, n int) string {
	name = strings.Map(func(r rune) rune {
		switch {
		case strings.ContainsRune(`[]:*?/\`, r):
			return '-'
		case r < 0x20 || r == 0x7f || r == 0xfffe || r == 0xffff:
			return -1
		}
		return r
	}, name)
	suffix := ""
	if n > 1 {
		suffix = " " + strconv.Itoa(n)
	}
	name = truncateUTF16(name, min(27, xlsxMaxNameChars-len(suffix)))
	name = strings.TrimSpace(strings.Trim(name, "'"))
	if name == "" {
		name = "Feuille"
	}
	return name + suffix
}

func (t *xlsxTable) Sheet(name string) error {
	if t.done {
		return errXLSXClosed
	}
	if t.sheet != nil {
		if _, err := io.WriteString(t.sheet, sheetEnd); err != nil {
			return err
		}
	}
	n := len(t.names) + 1
	unique := sheetName(name, n)
	for k := n + 1; t.used[strings.ToLower(unique)]; k++ {
		unique = sheetName(name, k)
	}
	t.used[strings.ToLower(unique)] = true
	t.names = append(t.names, unique)
	// Create ends the previous entry and starts a deflated one whose sizes
	// and checksum follow its data (a data descriptor): nothing is held.
	w, err := t.zw.Create("xl/worksheets/sheet" + strconv.Itoa(n) + ".xml")
	if err != nil {
		return err
	}
	if _, err := io.WriteString(w, sheetStart); err != nil {
		return err
	}
	t.sheet, t.row = w, 0
	return nil
}

func (t *xlsxTable) Row(cells []string) error {
	if t.done {
		return errXLSXClosed
	}
	if t.sheet == nil {
		if err := t.Sheet("Feuille"); err != nil {
			return err
		}
	}
	if t.row == xlsxMaxRows {
		return fmt.Errorf("xlsx: more than %d rows in sheet %q", xlsxMaxRows, t.names[len(t.names)-1])
	}
	if len(cells) > xlsxMaxCols {
		return fmt.Errorf("xlsx: %d columns, Excel has %d", len(cells), xlsxMaxCols)
	}
	t.row++
	b := append(t.buf[:0], `<row r="`...)
	b = strconv.AppendInt(b, int64(t.row), 10)
	b = append(b, `">`...)
	for i, c := range cells {
		c = xmlChars(c)
		if c == "" {
			continue // no cell at all
		}
		b = append(b, `<c r="`...)
		b = appendColumn(b, i)
		b = strconv.AppendInt(b, int64(t.row), 10)
		b = append(b, `" t="inlineStr"`...)
		if t.row == 1 {
			b = append(b, ` s="1"`...) // bold, see styles
		}
		b = append(b, `><is><t xml:space="preserve">`...)
		// An inline string is never read as a formula; the apostrophe of
		// Sanitize also keeps a spreadsheet from reading it as one once
		// edited or saved as CSV. It counts in the cell's characters.
		limit := xlsxMaxCellChars
		if formulaLike(c) {
			b = append(b, '\'')
			limit--
		}
		b = appendXML(b, truncateUTF16(c, limit))
		b = append(b, `</t></is></c>`...)
	}
	b = append(b, `</row>`...)
	t.buf = b
	_, err := t.sheet.Write(b)
	return err
}

func (t *xlsxTable) Close() error {
	if t.done {
		return errXLSXClosed
	}
	if t.sheet == nil { // a workbook has at least one sheet
		if err := t.Sheet("Feuille"); err != nil {
			return err
		}
	}
	if _, err := io.WriteString(t.sheet, sheetEnd); err != nil {
		return err
	}
	t.sheet, t.done = nil, true
	n := len(t.names)

	var types, wb, rels []byte
	types = append(types, xmlHeader+`<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">`+
		`<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>`+
		`<Default Extension="xml" ContentType="application/xml"/>`+
		`<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>`+
		`<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>`...)
	wb = append(wb, xmlHeader+`<workbook xmlns="`+nsMain+`" xmlns:r="`+nsRel+`"><bookViews><workbookView/></bookViews><sheets>`...)
	rels = append(rels, xmlHeader+`<Relationships xmlns="`+nsPkgRel+`">`...)
	for i, name := range t.names {
		id := strconv.Itoa(i + 1)
		types = append(types, `<Override PartName="/xl/worksheets/sheet`+id+`.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>`...)
		wb = append(wb, `<sheet name="`...)
		wb = appendXML(wb, name)
		wb = append(wb, `" sheetId="`+id+`" r:id="rId`+id+`"/>`...)
		rels = append(rels, `<Relationship Id="rId`+id+`" Type="`+nsRel+`/worksheet" Target="worksheets/sheet`+id+`.xml"/>`...)
	}
	types = append(types, `</Types>`...)
	wb = append(wb, `</sheets></workbook>`...)
	rels = append(rels, `<Relationship Id="rId`+strconv.Itoa(n+1)+`" Type="`+nsRel+`/styles" Target="styles.xml"/></Relationships>`...)

	for _, part := range []struct {
		name string
		data []byte
	}{
		{"xl/workbook.xml", wb},
		{"xl/_rels/workbook.xml.rels", rels},
		{"xl/styles.xml", []byte(stylesXML)},
		{"_rels/.rels", []byte(rootRels)},
		{"[Content_Types].xml", types},
	} {
		w, err := t.zw.Create(part.name)
		if err != nil {
			return err
		}
		if _, err := w.Write(part.data); err != nil {
			return err
		}
	}
	return t.zw.Close()
}

const rootRels = xmlHeader + `<Relationships xmlns="` + nsPkgRel + `">` +
	`<Relationship Id="rId1" Type="` + nsRel + `/officeDocument" Target="xl/workbook.xml"/></Relationships>`

// stylesXML has the two cell formats the sheets use: 0 plain, 1 bold.
// Excel expects the two fills "none" and "gray125" first.
const stylesXML = xmlHeader + `<styleSheet xmlns="` + nsMain + `">` +
	`<fonts count="2"><font><sz val="11"/><name val="Calibri"/><family val="2"/></font>` +
	`<font><b/><sz val="11"/><name val="Calibri"/><family val="2"/></font></fonts>` +
	`<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill></fills>` +
	`<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>` +
	`<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>` +
	`<cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>` +
	`<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/></cellXfs>` +
	`<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>` +
	`</styleSheet>`

// appendColumn appends the letters of the column at index i (0 → A,
// 25 → Z, 26 → AA … 16383 → XFD).
func appendColumn(b []byte, i int) []byte {
	var letters [3]byte
	k := len(letters)
	for i++; i > 0; i = (i - 1) / 26 {
		k--
		letters[k] = byte('A' + (i-1)%26)
	}
	return append(b, letters[k:]...)
}

// xmlChars returns s without what XML 1.0 cannot carry: invalid UTF-8,
// control characters other than tab, LF and CR, U+FFFE and U+FFFF. (Valid
// UTF-8 holds no surrogate.) Without them, s is returned as it is.
func xmlChars(s string) string {
	for i := 0; i < len(s); {
		if c := s[i]; c >= 0x20 && c < utf8.RuneSelf {
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if !xmlChar(r, n) {
			return dropNonXML(s)
		}
		i += n
	}
	return s
}

func xmlChar(r rune, n int) bool {
	switch {
	case r == utf8.RuneError && n == 1:
		return false
	case r < 0x20:
		return r == '\t' || r == '\n' || r == '\r'
	}
	return r != 0xfffe && r != 0xffff
}

func dropNonXML(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if xmlChar(r, n) {
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// appendXML appends s, made of XML characters (see xmlChars), escaped for
// an element or a double-quoted attribute. A CR becomes a character
// reference (a parser reads a raw one as LF). Excel reads _xHHHH_ in a
// text as the character U+HHHH, so the underscore that starts one is
// written _x005F_ (ECMA-376 Part 1, 22.9.2.19).
func appendXML(b []byte, s string) []byte {
	last := 0
	for i := 0; i < len(s); i++ {
		var esc string
		switch s[i] {
		case '&':
			esc = "&amp;"
		case '<':
			esc = "&lt;"
		case '>':
			esc = "&gt;"
		case '"':
			esc = "&quot;"
		case '\r':
			esc = "&#xD;"
		case '_':
			if !escapedChar(s[i:]) {
				continue
			}
			esc = "_x005F_"
		default:
			continue
		}
		b = append(b, s[last:i]...)
		b = append(b, esc...)
		last = i + 1
	}
	return append(b, s[last:]...)
}

// escapedChar reports whether s starts with _xHHHH_.
func escapedChar(s string) bool {
	if len(s) < 7 || s[0] != '_' || s[1] != 'x' || s[6] != '_' {
		return false
	}
	for _, c := range []byte(s[2:6]) {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// truncateUTF16 cuts s to at most limit UTF-16 code units (how Excel counts
// characters), between two characters.
func truncateUTF16(s string, limit int) string {
	if len(s) <= limit { // every code unit takes at least one byte
		return s
	}
	units := 0
	for i, r := range s {
		if units += utf16.RuneLen(r); units > limit {
			return s[:i]
		}
	}
	return s
}
