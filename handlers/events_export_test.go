package handlers_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/dnum-sociaux/agora/internal/testutil"
	"github.com/dnum-sociaux/agora/models"
)

// The XLSX export of 10,000 registrations opens with excelize and holds
// every registration, in arrival order, with its values; each workshop's
// sheet lists its confirmed then its waiting people; answers that a
// spreadsheet would read as formulas stay text.
func TestExportXLSX10000(t *testing.T) {
	const n = 10000
	ts := newTestServer(t)
	orgC, org := ts.loginAs("orga@example.org", models.RoleOrganiser)
	ev := ts.newEvent(org, "Journée", 0, models.ModesOnsite) // WS1 "Données" (1 place), WS2 "Design" (5 places), same time
	ctx := context.Background()
	answer := func(i int) string {
		if i%250 == 0 {
			return []string{"=1+1", "+33 1 40 56 60 00", "-2", "@SUM(A1)"}[i/250%4]
		}
		return []string{"Aucun", "Végétarien"}[i%2]
	}
	regs := make([]models.Registration, 0, n)
	for first := 0; first < n; first += 1000 {
		testutil.MustTx(t, ts.Store, func(tx *models.Tx) error {
			for i := first; i < first+1000; i++ {
				r, err := tx.Register(ctx, models.NoNotify, models.NewRegistration{EventID: ev.Event.ID, Email: fmt.Sprintf("a%05d@example.org", i),
					Name: fmt.Sprintf("Agent %05d", i), DirectionCode: "DNUM", Mode: models.ModeOnsite,
					Answers: map[string]string{ev.Question.ID: answer(i)}, Workshops: []string{[]string{ev.WS1.ID, ev.WS2.ID}[i%2]}})
				if err != nil {
					return err
				}
				regs = append(regs, r)
			}
			return nil
		})
	}

	p := orgC.get("/events/" + ev.Event.ID + "/export/xlsx")
	if p.Status != 200 {
		t.Fatalf("export: %d", p.Status)
	}
	f, err := excelize.OpenReader(strings.NewReader(p.Body))
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	defer f.Close()
	sheets := f.GetSheetList() // the workshops in programme order: same time, so by title
	if len(sheets) != 3 || sheets[0] != "Inscriptions" || sheets[1] != "Design 2" || sheets[2] != "Données 3" {
		t.Fatalf("sheets %q", sheets)
	}
	rows, err := f.GetRows("Inscriptions")
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != n+1 {
		t.Fatalf("%d rows, want %d registrations and a header", len(rows), n)
	}
	head := []string{"Nom", "Adresse électronique", "Direction", "Mode", "État", "Rang d'arrivée", "Inscrit le", "Par un référent", "Arrivé le", "Code d'accès", "Ateliers", "Régime alimentaire"}
	if strings.Join(rows[0], "|") != strings.Join(head, "|") {
		t.Errorf("header %q", rows[0])
	}
	for i, r := range regs {
		ws, place := "Données", 1
		if i%2 == 1 {
			ws, place = "Design", 5
		}
		if i/2 >= place {
			ws += " (liste d'attente)"
		}
		ans := answer(i)
		if strings.ContainsAny(ans[:1], "=+-@") {
			ans = "'" + ans
		}
		want := []string{r.Name, r.Email, "DNUM", "Sur place", "Confirmée", strconv.FormatInt(r.Seq, 10),
			r.CreatedAt.In(models.Paris).Format("02/01/2006 15:04"), "", "", r.DisplayCode(), ws, ans}
		if got := rows[i+1]; strings.Join(got, "|") != strings.Join(want, "|") {
			t.Fatalf("row %d:\n got %q\nwant %q", i+1, got, want)
		}
	}
	// Every answer is a string cell, none a formula.
	for i := 0; i < n; i += 250 {
		cell := "L" + strconv.Itoa(i+2)
		typ, err := f.GetCellType("Inscriptions", cell)
		if err != nil || typ != excelize.CellTypeInlineString {
			t.Errorf("%s: type %v %v", cell, typ, err)
		}
		if formula, err := f.GetCellFormula("Inscriptions", cell); err != nil || formula != "" {
			t.Errorf("%s: formula %q %v", cell, formula, err)
		}
	}

	// Workshop sheets: a title, a header, then confirmed by name, then waiting by name.
	for k, sheet := range []string{"Données 3", "Design 2"} {
		rows, err := f.GetRows(sheet)
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != n/2+2 || strings.Join(rows[1], "|") != "Nom|Adresse électronique|Direction|Place" {
			t.Fatalf("%s: %d rows, header %q", sheet, len(rows), rows[1])
		}
		place := []int{1, 5}[k]
		for j, row := range rows[2:] {
			i := 2*j + k
			state := "Confirmée"
			if j >= place {
				state = "En liste d'attente"
			}
			if want := []string{fmt.Sprintf("Agent %05d", i), fmt.Sprintf("a%05d@example.org", i), "DNUM", state}; strings.Join(row, "|") != strings.Join(want, "|") {
				t.Fatalf("%s row %d: %q, want %q", sheet, j+3, row, want)
			}
		}
	}
}
