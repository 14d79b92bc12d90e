package eventcsv

import (
	"archive/zip"
	"bufio"
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/xuri/excelize/v2"
)

// Sanitize neutralises formula injection: a cell that a spreadsheet would
// read as a formula (starting with =, +, -, @, or a tab or carriage return
// that hides one) gets a leading apostrophe, shown as text.
func Sanitize(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + s
	}
	return s
}

// Table is a spreadsheet being written row by row.
type Table interface {
	// Sheet starts a new sheet (XLSX) or a blank-line-separated section (CSV).
	Sheet(name string) error
	// Row writes one row; every cell is sanitised.
	Row(cells []string) error
	// Close finishes the file.
	Close() error
}

// NewCSV writes CSV for French Excel: UTF-8 with a byte order mark, ';'
// separator, CRLF line ends.
func NewCSV(w io.Writer) (Table, error) {
	bw := bufio.NewWriterSize(w, 64<<10)
	if _, err := bw.WriteString("\xEF\xBB\xBF"); err != nil {
		return nil, err
	}
	cw := csv.NewWriter(bw)
	cw.Comma = ';'
	cw.UseCRLF = true
	return &csvTable{w: cw, bw: bw, buf: make([]string, 0, 32)}, nil
}

type csvTable struct {
	w      *csv.Writer
	bw     *bufio.Writer
	buf    []string
	sheets int
}

func (t *csvTable) Sheet(name string) error {
	t.sheets++
	if t.sheets == 1 {
		return nil
	}
	if err := t.w.Write(nil); err != nil {
		return err
	}
	return t.Row([]string{name})
}

func (t *csvTable) Row(cells []string) error {
	t.buf = t.buf[:0]
	for _, c := range cells {
		t.buf = append(t.buf, Sanitize(c))
	}
	return t.w.Write(t.buf)
}

func (t *csvTable) Close() error {
	t.w.Flush()
	if err := t.w.Error(); err != nil {
		return err
	}
	return t.bw.Flush()
}

// NewXLSX writes an Excel workbook through excelize's stream writer. Each
// row is turned into the sheet's XML as it comes, but excelize keeps that
// XML until Close (in memory up to 16 MiB per sheet, in a temporary file
// beyond) and only then writes the zip: the first byte goes out once every
// row is read. The zip itself is written straight to w, not built in
// memory first (see Close).
func NewXLSX(w io.Writer) (Table, error) {
	return &xlsxTable{f: excelize.NewFile(), out: w}, nil
}

type xlsxTable struct {
	f      *excelize.File
	out    io.Writer
	sw     *excelize.StreamWriter
	row    int
	sheets int
	cells  []any
}

// sheetName keeps what Excel accepts: 31 characters, none of []:*?/\.
func sheetName(name string, n int) string {
	name = strings.Map(func(r rune) rune {
		if strings.ContainsRune(`[]:*?/\`, r) {
			return '-'
		}
		return r
	}, name)
	if r := []rune(name); len(r) > 27 {
		name = string(r[:27])
	}
	if n > 1 {
		name = fmt.Sprintf("%s %d", name, n)
	}
	return name
}

func (t *xlsxTable) Sheet(name string) error {
	if t.sw != nil {
		if err := t.sw.Flush(); err != nil {
			return err
		}
	}
	t.sheets++
	name = sheetName(name, t.sheets)
	if t.sheets == 1 {
		if err := t.f.SetSheetName("Sheet1", name); err != nil {
			return err
		}
	} else if _, err := t.f.NewSheet(name); err != nil {
		return err
	}
	sw, err := t.f.NewStreamWriter(name)
	if err != nil {
		return err
	}
	t.sw, t.row = sw, 0
	return nil
}

func (t *xlsxTable) Row(cells []string) error {
	if t.sw == nil {
		if err := t.Sheet("Feuille"); err != nil {
			return err
		}
	}
	t.row++
	t.cells = t.cells[:0]
	for _, c := range cells {
		if c == "" {
			t.cells = append(t.cells, nil) // no cell at all: less XML held until Close
			continue
		}
		// A string is always written as an inline string (t="inlineStr"),
		// never as a formula; Sanitize also keeps a spreadsheet from
		// reading it as one once edited or saved as CSV.
		t.cells = append(t.cells, Sanitize(c))
	}
	return t.sw.SetRow("A"+strconv.Itoa(t.row), t.cells)
}

func (t *xlsxTable) Close() error {
	if t.sw != nil {
		if err := t.sw.Flush(); err != nil {
			return err
		}
	}
	defer t.f.Close()
	// File.WriteTo builds the whole zip in a bytes.Buffer that it hands to
	// the zip writer function, then copies it to w. Our zip writer writes
	// to the response instead, so that buffer stays empty and nothing is
	// copied; excelize only touches it again for workbook passwords and
	// parts over 4 GiB, which we never have. excelize calls the function
	// once per save.
	var zw *zip.Writer
	t.f.SetZipWriter(func(io.Writer) excelize.ZipWriter {
		zw = zip.NewWriter(t.out)
		return zw
	})
	n, err := t.f.WriteTo(t.out)
	if err == nil && zw != nil && n != 0 {
		err = fmt.Errorf("xlsx: excelize copied %d bytes after the zip", n)
	}
	return err
}
