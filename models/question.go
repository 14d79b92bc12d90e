package models

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// QuestionKind is the kind of answer a registration question expects.
type QuestionKind string

const (
	QuestionShort    QuestionKind = "short"    // one line of text
	QuestionLong     QuestionKind = "long"     // a paragraph
	QuestionSingle   QuestionKind = "single"   // one of the options
	QuestionMultiple QuestionKind = "multiple" // any of the options
	QuestionYesNo    QuestionKind = "yesno"    // oui / non
)

// QuestionKinds lists every kind.
var QuestionKinds = []QuestionKind{QuestionShort, QuestionLong, QuestionSingle, QuestionMultiple, QuestionYesNo}

// Valid tells whether k is known.
func (k QuestionKind) Valid() bool { return slices.Contains(QuestionKinds, k) }

// HasOptions tells whether the kind needs a list of options.
func (k QuestionKind) HasOptions() bool { return k == QuestionSingle || k == QuestionMultiple }

// Label is the French name.
func (k QuestionKind) Label() string {
	switch k {
	case QuestionShort:
		return "Texte court"
	case QuestionLong:
		return "Texte long"
	case QuestionSingle:
		return "Choix unique"
	case QuestionMultiple:
		return "Choix multiples"
	case QuestionYesNo:
		return "Oui / non"
	}
	return string(k)
}

// Question is a custom registration question set by organisers (dietary
// needs, accessibility needs, "how did you hear"…).
type Question struct {
	ID        string
	EventID   string
	Position  int
	Label     string
	Help      string
	Kind      QuestionKind
	Required  bool
	Options   []string // for single and multiple choice
	CreatedAt time.Time
}

// Answer values: multiple choices are stored one per line; yes/no as "oui"/"non".
const (
	ChoiceYes = "oui"
	ChoiceNo  = "non"
)

// Check validates the values sent for this question and returns the value
// to store, or a French explanation of what is wrong.
func (q *Question) Check(values []string) (string, string) {
	var vals []string
	for _, v := range values {
		if v = strings.TrimSpace(strings.ReplaceAll(v, "\r\n", "\n")); v != "" {
			vals = append(vals, v)
		}
	}
	if len(vals) == 0 {
		if q.Required {
			if q.Kind.HasOptions() || q.Kind == QuestionYesNo {
				return "", "Choisissez une réponse."
			}
			return "", "Ce champ est obligatoire."
		}
		return "", ""
	}
	switch q.Kind {
	case QuestionShort, QuestionLong:
		v := vals[0]
		limit := 200
		if q.Kind == QuestionLong {
			limit = 2000
		}
		if utf8.RuneCountInString(v) > limit {
			return "", fmt.Sprintf("Votre réponse ne doit pas dépasser %d caractères.", limit)
		}
		if !utf8.ValidString(v) || strings.ContainsFunc(v, func(r rune) bool {
			return (r < 0x20 && !(q.Kind == QuestionLong && (r == '\n' || r == '\t'))) || r == 0x7f
		}) {
			return "", "Votre réponse contient un caractère non autorisé."
		}
		return v, ""
	case QuestionYesNo:
		switch strings.ToLower(vals[0]) {
		case ChoiceYes, "yes", "true":
			return ChoiceYes, ""
		case ChoiceNo, "no", "false":
			return ChoiceNo, ""
		}
		return "", "Répondez par oui ou par non."
	case QuestionSingle:
		if len(vals) > 1 || !slices.Contains(q.Options, vals[0]) {
			return "", "Choisissez une réponse dans la liste."
		}
		return vals[0], ""
	case QuestionMultiple:
		var out []string
		for _, o := range q.Options { // keep the options' order, drop duplicates
			if slices.Contains(vals, o) {
				out = append(out, o)
			}
		}
		if len(out) != len(uniq(vals)) {
			return "", "Choisissez vos réponses dans la liste."
		}
		return strings.Join(out, "\n"), ""
	}
	return "", "Question inconnue."
}

func uniq(v []string) []string {
	out := slices.Clone(v)
	slices.Sort(out)
	return slices.Compact(out)
}

// CheckAnswers validates a whole set of answers (question id → values)
// against the event's questions: it returns the values to store and the
// French problems by question id.
func CheckAnswers(questions []Question, sent map[string][]string) (map[string]string, map[string]string) {
	vals, problems := map[string]string{}, map[string]string{}
	for i := range questions {
		q := &questions[i]
		v, problem := q.Check(sent[q.ID])
		if problem != "" {
			problems[q.ID] = problem
			continue
		}
		if v != "" {
			vals[q.ID] = v
		}
	}
	return vals, problems
}

// FormQuestions is EventQuestions for the registration form of e (an event
// just read): from the store's rulesCache while e's rules version holds.
func (d *DB) FormQuestions(ctx context.Context, e *Event) ([]Question, error) {
	if qs, ok := d.rules.questions(e.ID, e.RulesVersion); ok {
		return qs, nil
	}
	qs, err := d.EventQuestions(ctx, e.ID)
	if err != nil {
		return nil, err
	}
	d.rules.setQuestions(e.ID, e.RulesVersion, qs)
	return qs, nil
}

// EventQuestions returns an event's questions in order.
func (d *DB) EventQuestions(ctx context.Context, eventID string) ([]Question, error) {
	rows, err := d.query(ctx, `SELECT id, event_id, position, label, help, kind, required, options, created_at
		FROM event_questions WHERE event_id = ? ORDER BY position, id`, eventID)
	if err != nil {
		return nil, fmt.Errorf("list questions: %w", err)
	}
	defer rows.Close()
	var out []Question
	for rows.Next() {
		var q Question
		var opts string
		if err := rows.Scan(&q.ID, &q.EventID, &q.Position, &q.Label, &q.Help, &q.Kind, &q.Required, &opts, &q.CreatedAt); err != nil {
			return nil, err
		}
		if opts != "" {
			q.Options = strings.Split(opts, "\n")
		}
		out = append(out, q)
	}
	return out, rows.Err()
}

// QuestionInput is what organisers set on a question.
type QuestionInput struct {
	Label    string
	Help     string
	Kind     QuestionKind
	Required bool
	Options  []string
}

func (in *QuestionInput) clean() error {
	in.Label = strings.TrimSpace(in.Label)
	if in.Label == "" || !in.Kind.Valid() {
		return fmt.Errorf("question: label and a known kind are required")
	}
	var opts []string
	for _, o := range in.Options {
		if o = strings.TrimSpace(o); o != "" && !slices.Contains(opts, o) {
			opts = append(opts, o)
		}
	}
	if in.Kind.HasOptions() && len(opts) < 2 {
		return fmt.Errorf("question: a choice needs at least two options")
	}
	if !in.Kind.HasOptions() {
		opts = nil
	}
	in.Options = opts
	return nil
}

// AddQuestion appends a question to the event's form.
func (tx *Tx) AddQuestion(ctx context.Context, a Actor, eventID string, in QuestionInput) (Question, error) {
	if err := in.clean(); err != nil {
		return Question{}, err
	}
	// The event's row first, as registrations take it: the rules version's
	// trigger (rules_cache.go) updates it, and taking it after the question's
	// row could deadlock with a registration answering that question.
	if err := tx.lockRow(ctx, "events", eventID); err != nil {
		return Question{}, err
	}
	var pos int
	if err := tx.queryRow(ctx, "SELECT COALESCE(MAX(position), 0) FROM event_questions WHERE event_id = ?", eventID).Scan(&pos); err != nil {
		return Question{}, fmt.Errorf("add question: %w", err)
	}
	q := Question{ID: NewID(), EventID: eventID, Position: pos + 1, Label: in.Label, Help: strings.TrimSpace(in.Help),
		Kind: in.Kind, Required: in.Required, Options: in.Options, CreatedAt: tx.Now()}
	_, err := tx.exec(ctx, `INSERT INTO event_questions (id, event_id, position, label, help, kind, required, options, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, q.ID, q.EventID, q.Position, q.Label, q.Help, q.Kind, q.Required,
		strings.Join(q.Options, "\n"), q.CreatedAt)
	if err != nil {
		return Question{}, fmt.Errorf("add question: %w", err)
	}
	return q, tx.Audit(ctx, a, "event.question_add", "event", eventID, q.Label)
}

// UpdateQuestion changes a question of the event.
func (tx *Tx) UpdateQuestion(ctx context.Context, a Actor, eventID, id string, in QuestionInput) error {
	if err := in.clean(); err != nil {
		return err
	}
	if err := tx.lockRow(ctx, "events", eventID); err != nil { // first, see AddQuestion
		return err
	}
	res, err := tx.exec(ctx, "UPDATE event_questions SET label = ?, help = ?, kind = ?, required = ?, options = ? WHERE id = ? AND event_id = ?",
		in.Label, strings.TrimSpace(in.Help), in.Kind, in.Required, strings.Join(in.Options, "\n"), id, eventID)
	if err := affectedOne(res, err, "update question %s", id); err != nil {
		return err
	}
	return tx.Audit(ctx, a, "event.question_update", "event", eventID, in.Label)
}

// DeleteQuestion removes a question and its answers.
func (tx *Tx) DeleteQuestion(ctx context.Context, a Actor, eventID, id string) error {
	if err := tx.lockRow(ctx, "events", eventID); err != nil { // first, see AddQuestion
		return err
	}
	res, err := tx.exec(ctx, "DELETE FROM event_questions WHERE id = ? AND event_id = ?", id, eventID)
	if err := affectedOne(res, err, "delete question %s", id); err != nil {
		return err
	}
	return tx.Audit(ctx, a, "event.question_delete", "event", eventID, id)
}
