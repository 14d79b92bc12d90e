package eventcsv

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"io"
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

// NewXLSX writes an Excel workbook through excelize's stream writer: rows go
// to a temporary buffer (spilled to disk when large) sheet by sheet, and
// the workbook is zipped to w on Close.
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
		t.cells = append(t.cells, Sanitize(c))
	}
	cell, err := excelize.CoordinatesToCellName(1, t.row)
	if err != nil {
		return err
	}
	return t.sw.SetRow(cell, t.cells)
}

func (t *xlsxTable) Close() error {
	if t.sw != nil {
		if err := t.sw.Flush(); err != nil {
			return err
		}
	}
	defer t.f.Close()
	_, err := t.f.WriteTo(t.out)
	return err
}
