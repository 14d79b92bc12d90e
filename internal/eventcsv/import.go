// Package eventcsv reads the CSV files that direction correspondents upload
// to register agents (email, name, attendance mode), and writes the CSV
// exports of registrations for French spreadsheets.
//
// Reading forgives what spreadsheets produce: UTF-8 with or without a byte
// order mark, or Windows-1252 (Excel's "CSV" on French Windows); ';' or ','
// (or tab) as separator, found from the header line; headers in French or
// English, in any order and case, with or without accents. A problem with
// the whole file (unreadable, missing column, too many lines) rejects it;
// a problem with one line refuses that line only, with its reason.
package eventcsv

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"

	"github.com/dnum-sociaux/agora/models"
)

// MaxLines is the most data lines a file may hold.
const MaxLines = 10000

// FileError rejects a whole file; its message is French, for the page.
type FileError struct{ Message string }

func (e *FileError) Error() string { return e.Message }

func fileErr(format string, args ...any) error {
	return &FileError{Message: fmt.Sprintf(format, args...)}
}

// Line is one data line of a file, checked.
type Line struct {
	Number  int // line number in the file (the header is line 1)
	Email   string
	Name    string
	Mode    models.Mode
	Problem string // why the line is refused, in French; empty when fine
}

// Parse reads an import file. defaultMode is used when the file has no
// mode column or a line leaves it empty; modes is what the event offers.
func Parse(data []byte, modes models.Modes, defaultMode models.Mode) ([]Line, error) {
	text, err := decode(data)
	if err != nil {
		return nil, err
	}
	text = strings.ReplaceAll(text, "\r\n", "\n")
	header, _, _ := strings.Cut(text, "\n")
	if strings.TrimSpace(header) == "" {
		return nil, fileErr("Le fichier est vide, ou sa première ligne est vide : elle doit donner les noms des colonnes (adresse électronique, nom, mode).")
	}
	r := csv.NewReader(strings.NewReader(text))
	r.Comma = separator(header)
	r.FieldsPerRecord = -1
	r.LazyQuotes = true
	head, err := r.Read()
	if err != nil {
		return nil, fileErr("La première ligne est illisible : %v.", err)
	}
	cols, err := columns(head)
	if err != nil {
		return nil, err
	}
	var out []Line
	seen := map[string]int{}
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		lineNo, _ := r.FieldPos(0)
		if err != nil {
			return nil, fileErr("La ligne %d est illisible (guillemets mal fermés ?) : corrigez-la puis envoyez de nouveau le fichier.", lineNo)
		}
		if blank(rec) {
			continue
		}
		if len(out) >= MaxLines {
			return nil, fileErr("Le fichier a plus de %d lignes : découpez-le en plusieurs fichiers.", MaxLines)
		}
		l := Line{Number: lineNo}
		get := func(i int) string {
			if i >= 0 && i < len(rec) {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}
		l.Email = strings.ToLower(get(cols.email))
		l.Name = get(cols.name)
		if cols.first >= 0 {
			l.Name = strings.TrimSpace(get(cols.first) + " " + l.Name)
		}
		rawMode := get(cols.mode)
		switch {
		case l.Email == "":
			l.Problem = "Adresse électronique manquante."
		case !validEmail(l.Email):
			l.Problem = "Adresse électronique invalide : « " + l.Email + " »."
		case l.Name == "":
			l.Problem = "Nom manquant."
		case utf8.RuneCountInString(l.Name) > 100 || strings.ContainsFunc(l.Name, func(r rune) bool { return r < 0x20 || r == 0x7f }):
			l.Problem = "Nom trop long ou contenant des caractères non autorisés."
		}
		if l.Problem == "" {
			if prev, dup := seen[l.Email]; dup {
				l.Problem = fmt.Sprintf("En double : cette adresse est déjà ligne %d.", prev)
			} else {
				seen[l.Email] = l.Number
			}
		}
		if l.Problem == "" {
			if rawMode == "" {
				l.Mode = defaultMode
			} else if m, ok := models.ParseMode(rawMode); !ok {
				l.Problem = "Mode de participation inconnu : « " + rawMode + " » (écrivez « sur place » ou « à distance »)."
			} else if !modes.Offers(m) {
				l.Problem = "Ce mode de participation n'est pas proposé pour cet événement : « " + rawMode + " »."
			} else {
				l.Mode = m
			}
		}
		out = append(out, l)
	}
	if len(out) == 0 {
		return nil, fileErr("Le fichier ne contient aucune ligne après celle des noms de colonnes.")
	}
	return out, nil
}

func blank(rec []string) bool {
	for _, f := range rec {
		if strings.TrimSpace(f) != "" {
			return false
		}
	}
	return true
}

func validEmail(v string) bool {
	a, err := mail.ParseAddress(v)
	if err != nil || a.Address != v || a.Name != "" || strings.ContainsAny(v, " ,;<>\"") {
		return false
	}
	at := strings.LastIndexByte(v, '@')
	return at > 0 && strings.Contains(v[at+1:], ".")
}

// decode returns the file as UTF-8 text: without its BOM, or converted
// from Windows-1252 when it is not valid UTF-8.
func decode(data []byte) (string, error) {
	switch {
	case len(data) == 0:
		return "", fileErr("Le fichier est vide.")
	case bytes.HasPrefix(data, []byte("PK\x03\x04")):
		return "", fileErr("Ce fichier est un classeur Excel (.xlsx) : enregistrez-le au format CSV (séparateur point-virgule) puis envoyez-le de nouveau.")
	case bytes.HasPrefix(data, []byte{0xFF, 0xFE}), bytes.HasPrefix(data, []byte{0xFE, 0xFF}):
		return "", fileErr("Ce fichier est encodé en UTF-16 : enregistrez-le en « CSV UTF-8 » puis envoyez-le de nouveau.")
	case bytes.IndexByte(data, 0) >= 0:
		return "", fileErr("Ce fichier n'est pas un fichier texte CSV.")
	}
	data = bytes.TrimPrefix(data, []byte("\xEF\xBB\xBF"))
	if utf8.Valid(data) {
		return string(data), nil
	}
	out, err := charmap.Windows1252.NewDecoder().Bytes(data)
	if err != nil {
		return "", fileErr("L'encodage du fichier est illisible : enregistrez-le en « CSV UTF-8 ».")
	}
	return string(out), nil
}

// separator picks the most frequent of ';', ',' and tab outside quotes in
// the header line (';' wins ties: French Excel's choice).
func separator(header string) rune {
	counts := map[rune]int{}
	in := false
	for _, r := range header {
		switch {
		case r == '"':
			in = !in
		case !in && (r == ';' || r == ',' || r == '\t'):
			counts[r]++
		}
	}
	best := ';'
	for _, r := range []rune{',', '\t'} {
		if counts[r] > counts[best] {
			best = r
		}
	}
	return best
}

type cols struct{ email, name, first, mode int }

var headerNames = map[string]string{
	"email": "email", "e-mail": "email", "mail": "email", "courriel": "email", "adresse": "email", "adresse email": "email",
	"adresse mail": "email", "adresse electronique": "email", "adresse e-mail": "email", "adresse courriel": "email",
	"nom": "name", "name": "name", "nom complet": "name", "prenom nom": "name", "prenom et nom": "name", "nom et prenom": "name",
	"full name": "name", "agent": "name", "nom prenom": "name",
	"prenom": "first", "first name": "first",
	"mode": "mode", "modalite": "mode", "participation": "mode", "mode de participation": "mode", "attendance": "mode",
	"attendance mode": "mode", "presence": "mode",
}

var accents = transform.Chain(norm.NFD, runes.Remove(runes.In(unicode.Mn)), norm.NFC)

// normaliseHeader lowercases, removes accents and punctuation around words.
func normaliseHeader(h string) string {
	h = strings.ToLower(strings.TrimSpace(h))
	if out, _, err := transform.String(accents, h); err == nil {
		h = out
	}
	h = strings.NewReplacer("_", " ", "’", " ", "'", " ", ".", " ", ":", " ", ",", " ", "/", " ").Replace(h)
	return strings.Join(strings.Fields(h), " ")
}

func columns(head []string) (cols, error) {
	c := cols{email: -1, name: -1, first: -1, mode: -1}
	for i, h := range head {
		switch headerNames[normaliseHeader(h)] {
		case "email":
			if c.email < 0 {
				c.email = i
			}
		case "name":
			if c.name < 0 {
				c.name = i
			}
		case "first":
			if c.first < 0 {
				c.first = i
			}
		case "mode":
			if c.mode < 0 {
				c.mode = i
			}
		}
	}
	var missing []string
	if c.email < 0 {
		missing = append(missing, "« adresse électronique » (ou « email », « courriel »)")
	}
	if c.name < 0 {
		missing = append(missing, "« nom »")
	}
	if len(missing) > 0 {
		found := strings.Join(head, " | ")
		if len(found) > 200 {
			found = found[:200] + "…"
		}
		return c, fileErr("Colonne manquante : %s. La première ligne du fichier doit nommer les colonnes ; elle contient : %s. "+
			"Vérifiez aussi le séparateur (point-virgule ou virgule).", strings.Join(missing, " et "), found)
	}
	return c, nil
}
