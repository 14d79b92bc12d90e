package models

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Direction is an organisational unit of the ministries (DNUM, DGCS, …).
type Direction struct {
	Code      string
	Name      string
	Active    bool
	CreatedAt time.Time
}

// DefaultDirections seeds a new instance; admins edit them afterwards.
var DefaultDirections = []Direction{
	{Code: "DNUM", Name: "Direction du numérique"},
	{Code: "DGCS", Name: "Direction générale de la cohésion sociale"},
	{Code: "DGOS", Name: "Direction générale de l'offre de soins"},
	{Code: "DGS", Name: "Direction générale de la santé"},
	{Code: "DSS", Name: "Direction de la sécurité sociale"},
	{Code: "DGT", Name: "Direction générale du travail"},
	{Code: "DGEFP", Name: "Délégation générale à l'emploi et à la formation professionnelle"},
	{Code: "DREES", Name: "Direction de la recherche, des études, de l'évaluation et des statistiques"},
	{Code: "DARES", Name: "Direction de l'animation de la recherche, des études et des statistiques"},
	{Code: "DAJ", Name: "Direction des affaires juridiques"},
	{Code: "DFAS", Name: "Direction des finances, des achats et des services"},
	{Code: "DRH", Name: "Direction des ressources humaines"},
	{Code: "DICOM", Name: "Délégation à l'information et à la communication"},
	{Code: "IGAS", Name: "Inspection générale des affaires sociales"},
}

// NormaliseDirectionCode uppercases and trims a direction code.
func NormaliseDirectionCode(code string) string { return strings.ToUpper(strings.TrimSpace(code)) }

// ListDirections returns directions ordered by code; only active ones unless all.
func (d *DB) ListDirections(ctx context.Context, all bool) ([]Direction, error) {
	q := "SELECT code, name, active, created_at FROM directions"
	if !all {
		q += " WHERE active = TRUE"
	}
	rows, err := d.query(ctx, q+" ORDER BY code")
	if err != nil {
		return nil, fmt.Errorf("list directions: %w", err)
	}
	defer rows.Close()
	var out []Direction
	for rows.Next() {
		var dir Direction
		if err := rows.Scan(&dir.Code, &dir.Name, &dir.Active, &dir.CreatedAt); err != nil {
			return nil, fmt.Errorf("scan direction: %w", err)
		}
		out = append(out, dir)
	}
	return out, rows.Err()
}

// DirectionByCode returns one direction.
func (d *DB) DirectionByCode(ctx context.Context, code string) (Direction, error) {
	var dir Direction
	err := d.queryRow(ctx, "SELECT code, name, active, created_at FROM directions WHERE code = ?", NormaliseDirectionCode(code)).
		Scan(&dir.Code, &dir.Name, &dir.Active, &dir.CreatedAt)
	if err != nil {
		return Direction{}, notFound(err, "get direction %s", code)
	}
	return dir, nil
}

// SaveDirection creates or updates a direction.
func (tx *Tx) SaveDirection(ctx context.Context, dir Direction) error {
	_, err := tx.exec(ctx, `INSERT INTO directions (code, name, active, created_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (code) DO UPDATE SET name = excluded.name, active = excluded.active`,
		NormaliseDirectionCode(dir.Code), strings.TrimSpace(dir.Name), dir.Active, tx.Now())
	if err != nil {
		return fmt.Errorf("save direction %s: %w", dir.Code, err)
	}
	return nil
}

// SeedDirections inserts the default directions when the table is empty.
func (tx *Tx) SeedDirections(ctx context.Context) (int, error) {
	var n int
	if err := tx.queryRow(ctx, "SELECT COUNT(*) FROM directions").Scan(&n); err != nil {
		return 0, fmt.Errorf("count directions: %w", err)
	}
	if n > 0 {
		return 0, nil
	}
	for _, dir := range DefaultDirections {
		dir.Active = true
		if err := tx.SaveDirection(ctx, dir); err != nil {
			return 0, err
		}
	}
	return len(DefaultDirections), nil
}
