package eventcsv

import (
	"bufio"
	"encoding/csv"
	"io"
)

// Sanitize neutralises formula injection: a cell that a spreadsheet would
// read as a formula (starting with =, +, -, @, or a tab or carriage return
// that hides one) gets a leading apostrophe, shown as text.
func Sanitize(s string) string {
	if formulaLike(s) {
		return "'" + s
	}
	return s
}

func formulaLike(s string) bool {
	if s == "" {
		return false
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return true
	}
	return false
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
