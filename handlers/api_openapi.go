package handlers

import (
	"encoding/json"
	"net/http"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
)

// apiOp is one route of the API with its documentation: the route table
// (apiOps) registers the handlers and builds the OpenAPI document, and a
// test checks the document against the router's actual routes.
type apiOp struct {
	Method  string
	Path    string // gin syntax below /api/v1, e.g. /groups/:id
	Handler gin.HandlerFunc
	Tag     string
	Summary string
	Doc     string
	Public  bool       // no API key needed
	Query   []apiParam // query parameters
	Body    any        // request body type (a zero value), nil for none
	// BodyOptional: the body may be left out.
	BodyOptional bool
	// Responses: the success status and body first; the errors the
	// operation itself can give (401, 413, 415 and 429 are added from the
	// route's shape).
	OK         int
	AltOK      int // another success status with the same body (0: none)
	Result     any // nil: no body (204)
	Errors     []int
	Idempotent bool // accepts Idempotency-Key
	Location   bool // answers with a Location header
}

type apiParam struct {
	Name, Doc string
	Schema    map[string]any
}

var (
	paramLimit  = apiParam{"limit", "number of items per page (1 to 200, default 50)", map[string]any{"type": "integer", "minimum": 1, "maximum": maxPageSize, "default": defaultPageSize}}
	paramCursor = apiParam{"cursor", "next_cursor of the previous page", map[string]any{"type": "string"}}
)

var ginParam = regexp.MustCompile(`:([a-z_]+)`)

// openAPIPath turns /groups/:id into /groups/{id}.
func openAPIPath(p string) string { return ginParam.ReplaceAllString(p, "{$1}") }

// errorStatuses lists what an operation can answer besides its success.
func (op apiOp) errorStatuses() []int {
	st := slices.Clone(op.Errors)
	add := func(codes ...int) {
		for _, code := range codes {
			if !slices.Contains(st, code) {
				st = append(st, code)
			}
		}
	}
	add(http.StatusTooManyRequests, http.StatusInternalServerError)
	if !op.Public {
		add(http.StatusUnauthorized)
	}
	if op.Body != nil {
		add(http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType, http.StatusUnprocessableEntity)
	}
	if len(op.Query) > 0 {
		add(http.StatusBadRequest)
	}
	if op.Idempotent {
		add(http.StatusUnprocessableEntity)
	}
	if strings.Contains(op.Path, ":") {
		add(http.StatusNotFound)
	}
	sort.Ints(st)
	return st
}

// openAPIDocument builds the OpenAPI 3.1 document of ops.
func (s *Server) openAPIDocument(ops []apiOp) []byte {
	g := &schemaGen{defs: map[string]any{}}
	problemRef := g.ref(reflect.TypeFor[Problem]())
	paths := map[string]map[string]any{}
	for _, op := range ops {
		path := openAPIPath(op.Path)
		if paths[path] == nil {
			paths[path] = map[string]any{}
		}
		o := map[string]any{
			"operationId": operationID(op),
			"summary":     op.Summary,
			"tags":        []string{op.Tag},
		}
		if op.Doc != "" {
			o["description"] = op.Doc
		}
		if op.Public {
			o["security"] = []any{}
		}
		var params []any
		for _, m := range ginParam.FindAllStringSubmatch(op.Path, -1) {
			params = append(params, map[string]any{"name": m[1], "in": "path", "required": true,
				"description": "opaque identifier", "schema": map[string]any{"type": "string"}})
		}
		for _, q := range op.Query {
			params = append(params, map[string]any{"name": q.Name, "in": "query", "required": false, "description": q.Doc, "schema": q.Schema})
		}
		if op.Idempotent {
			params = append(params, map[string]any{"name": idempotencyHdr, "in": "header", "required": false,
				"description": "any unique string (a UUID): retrying with the same key and body replays the first answer instead of acting twice; the same key with another body is refused (422); keys are kept 24 hours",
				"schema":      map[string]any{"type": "string", "minLength": 1, "maxLength": 255}})
		}
		if params != nil {
			o["parameters"] = params
		}
		if op.Body != nil {
			o["requestBody"] = map[string]any{"required": !op.BodyOptional, "content": map[string]any{
				"application/json": map[string]any{"schema": g.requestRef(reflect.TypeOf(op.Body))}}}
		}
		responses := map[string]any{}
		ok := map[string]any{"description": http.StatusText(op.OK)}
		if op.Result != nil {
			ok["content"] = map[string]any{"application/json": map[string]any{"schema": g.ref(reflect.TypeOf(op.Result))}}
		}
		headers := map[string]any{}
		if op.Location {
			headers["Location"] = map[string]any{"description": "URL of the created resource", "schema": map[string]any{"type": "string"}}
		}
		if op.Idempotent {
			headers["Idempotent-Replayed"] = map[string]any{"description": "true when this is the stored answer to an earlier request with the same Idempotency-Key",
				"schema": map[string]any{"type": "string", "enum": []string{"true"}}}
		}
		if len(headers) > 0 {
			ok["headers"] = headers
		}
		responses[strconv.Itoa(op.OK)] = ok
		if op.AltOK != 0 {
			alt := map[string]any{"description": http.StatusText(op.AltOK)}
			if c, has := ok["content"]; has {
				alt["content"] = c
			}
			responses[strconv.Itoa(op.AltOK)] = alt
		}
		for _, st := range op.errorStatuses() {
			r := map[string]any{
				"description": problemKinds[st][1],
				"content":     map[string]any{problemJSON: map[string]any{"schema": problemRef}},
			}
			switch st {
			case http.StatusTooManyRequests:
				r["headers"] = map[string]any{"Retry-After": map[string]any{"description": "seconds to wait", "schema": map[string]any{"type": "integer"}}}
			case http.StatusUnauthorized:
				r["headers"] = map[string]any{"WWW-Authenticate": map[string]any{"description": "Bearer", "schema": map[string]any{"type": "string"}}}
			}
			responses[strconv.Itoa(st)] = r
		}
		o["responses"] = responses
		paths[path][strings.ToLower(op.Method)] = o
	}
	doc := map[string]any{
		"openapi":           "3.1.0",
		"jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
		"info": map[string]any{
			"title":   "API d'Agora",
			"version": "1",
			"description": "Lire et écrire dans Agora depuis d'autres applications (Grist, tableaux de bord, intranet). " +
				"Chaque requête porte une clé d'API (« Authorization: Bearer <clé> ») créée sur le profil d'un utilisateur : " +
				"elle agit avec ses droits, selon les mêmes règles que l'interface web. Les erreurs sont des « problem details » (RFC 9457) en français. " +
				"Les dates sont au format RFC 3339 avec décalage horaire ; les listes sont paginées par curseur.",
		},
		"servers": []any{map[string]any{"url": s.Config.URL(apiBase)}},
		"paths":   paths,
		"components": map[string]any{
			"schemas": g.defs,
			"securitySchemes": map[string]any{"apiKey": map[string]any{
				"type": "http", "scheme": "bearer", "description": "clé d'API créée sur le profil (Mon profil › Clés d'API) ou par « agora token create »",
			}},
		},
		"security": []any{map[string]any{"apiKey": []string{}}},
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		panic(err) // the document is made of maps and strings only
	}
	return b
}

// operationID is e.g. "get_groups_id".
func operationID(op apiOp) string {
	p := strings.NewReplacer("/", "_", ":", "").Replace(strings.Trim(op.Path, "/"))
	return strings.ToLower(op.Method) + "_" + p
}

// schemaGen turns Go types into JSON Schema (2020-12, the OpenAPI 3.1
// dialect), one component per named struct. Field documentation comes from
// `doc:"…"` tags, allowed values from `enum:"a|b"` (for a map, of its values). In responses every field
// without omitempty is required; request bodies name theirs with
// `api:"required"` and refuse unknown fields, as the decoder does.
type schemaGen struct {
	defs map[string]any
}

func (g *schemaGen) ref(t reflect.Type) map[string]any { return g.schema(t, false) }

func (g *schemaGen) requestRef(t reflect.Type) map[string]any { return g.schema(t, true) }

var (
	timeType    = reflect.TypeFor[time.Time]()
	rawJSONType = reflect.TypeFor[json.RawMessage]()
)

func schemaName(t reflect.Type) string {
	n := t.Name()
	// Generic instances (Page[…]) get a readable name: PageOfGroup.
	if i := strings.IndexByte(n, '['); i >= 0 {
		inner := n[i+1 : len(n)-1]
		if j := strings.LastIndexByte(inner, '.'); j >= 0 {
			inner = inner[j+1:]
		}
		n = n[:i] + "Of" + strings.TrimPrefix(inner, "api")
	}
	return strings.TrimPrefix(n, "api")
}

func (g *schemaGen) schema(t reflect.Type, request bool) map[string]any {
	switch {
	case t == timeType:
		return map[string]any{"type": "string", "format": "date-time"}
	case t == rawJSONType:
		// Used for fields where null means "remove" and absence "keep".
		return map[string]any{"type": []string{"string", "null"}}
	case t.Kind() == reflect.Pointer:
		inner := g.schema(t.Elem(), request)
		if typ, ok := inner["type"].(string); ok {
			out := map[string]any{}
			for k, v := range inner {
				out[k] = v
			}
			out["type"] = []string{typ, "null"}
			return out
		}
		return map[string]any{"anyOf": []any{inner, map[string]any{"type": "null"}}}
	case t.Kind() == reflect.Slice:
		return map[string]any{"type": "array", "items": g.schema(t.Elem(), request)}
	case t.Kind() == reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": g.schema(t.Elem(), request)}
	case t.Kind() == reflect.String:
		return map[string]any{"type": "string"}
	case t.Kind() == reflect.Bool:
		return map[string]any{"type": "boolean"}
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Uint64:
		return map[string]any{"type": "integer"}
	case t.Kind() == reflect.Float32 || t.Kind() == reflect.Float64:
		return map[string]any{"type": "number"}
	case t.Kind() == reflect.Struct:
		name := schemaName(t)
		if _, done := g.defs[name]; !done {
			g.defs[name] = nil // break cycles
			g.defs[name] = g.object(t, request)
		}
		return map[string]any{"$ref": "#/components/schemas/" + name}
	}
	return map[string]any{}
}

func (g *schemaGen) object(t reflect.Type, request bool) map[string]any {
	props := map[string]any{}
	var required []string
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if name == "" {
			name = f.Name
		}
		p := g.schema(f.Type, request)
		if enum := f.Tag.Get("enum"); enum != "" {
			if f.Type.Kind() == reflect.Map { // the allowed values of the map's values
				p = withKey(p, "additionalProperties", withKey(g.schema(f.Type.Elem(), request), "enum", strings.Split(enum, "|")))
			} else {
				p = withKey(p, "enum", strings.Split(enum, "|"))
			}
		}
		if d := f.Tag.Get("doc"); d != "" {
			p = withKey(p, "description", d)
		}
		props[name] = p
		if request && f.Tag.Get("api") == "required" || !request && !strings.Contains(opts, "omitempty") {
			required = append(required, name)
		}
	}
	o := map[string]any{"type": "object", "properties": props}
	if len(required) > 0 {
		sort.Strings(required)
		o["required"] = required
	}
	if request {
		o["additionalProperties"] = false
	}
	return o
}

// withKey adds k to a schema; a $ref is wrapped, since siblings of $ref are
// only annotations.
func withKey(p map[string]any, k string, v any) map[string]any {
	out := map[string]any{}
	for key, val := range p {
		out[key] = val
	}
	if k == "enum" {
		if typ, ok := out["type"].([]string); ok && slices.Contains(typ, "null") {
			vals := append([]any{}, toAny(v.([]string))...)
			out["enum"] = append(vals, nil)
			return out
		}
	}
	out[k] = v
	return out
}

func toAny(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}
