package render

import (
	"fmt"
	"strings"
	"time"

	"github.com/dnum-sociaux/agora/internal/markdown"
	"github.com/dnum-sociaux/agora/models"
)

var (
	frDays   = [...]string{"dimanche", "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi"}
	frMonths = [...]string{"janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre", "novembre", "décembre"}
)

// Funcs are the template functions every page and email has (besides
// "asset", given by main, and the form helpers).
func Funcs() map[string]any {
	md := markdown.New()
	return map[string]any{
		"markdown":  md.HTML, // user Markdown → sanitised HTML
		"mdtext":    markdown.Text,
		"date":      DateFR,
		"shortdate": ShortDateFR,
		"datetime":  DateTimeFR,
		"clock":     ClockFR,
		"isodate":   func(t time.Time) string { return t.In(models.Paris).Format("2006-01-02") },
		"isotime":   func(t time.Time) string { return t.In(models.Paris).Format("15:04") },
		"rfc3339":   func(t time.Time) string { return t.Format(time.RFC3339) },
		"plural":    Plural,
		"add":       func(a, b int) int { return a + b },
		"upper":     strings.ToUpper,
	}
}

// DateFR shows a date in Paris as "lundi 30 novembre 2026".
func DateFR(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	p := t.In(models.Paris)
	return fmt.Sprintf("%s %d %s %d", frDays[p.Weekday()], p.Day(), frMonths[p.Month()-1], p.Year())
}

// ShortDateFR shows a date in Paris as "30/11/2026".
func ShortDateFR(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(models.Paris).Format("02/01/2006")
}

// ClockFR shows a time of day in Paris as "14 h 30" (or "14 h").
func ClockFR(t time.Time) string {
	p := t.In(models.Paris)
	if p.Minute() == 0 {
		return fmt.Sprintf("%d h", p.Hour())
	}
	return fmt.Sprintf("%d h %02d", p.Hour(), p.Minute())
}

// DateTimeFR shows "lundi 30 novembre 2026 à 14 h 30".
func DateTimeFR(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return DateFR(t) + " à " + ClockFR(t)
}

// Plural picks the singular or plural French word for n.
func Plural(n int, one, many string) string {
	if n == 0 || n == 1 || n == -1 {
		return one
	}
	return many
}
