package handlers

import (
	"encoding/json"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"
)

// The API reference page: the OpenAPI document, read back and laid out for
// people (DSFR), so that the page never says something the document does not.

type refPage struct {
	Layout
	BaseURL    string
	Operations []refOperation
	Schemas    []refSchema
	Problems   []refProblem
}

type refOperation struct {
	Anchor, Method, Path, Summary, Description string
	Public, Idempotent                         bool
	Params                                     []refField
	Body                                       string // schema name
	OK                                         string // "200 Group"
	Errors                                     []string
}

type refSchema struct {
	Name   string
	Fields []refField
}

type refField struct {
	Name, Type, Doc string
	Required        bool
}

type refProblem struct {
	Anchor, Title string
	Status        int
}

type oaSchema struct {
	Ref         string              `json:"$ref"`
	Type        any                 `json:"type"`
	Format      string              `json:"format"`
	Enum        []any               `json:"enum"`
	Items       *oaSchema           `json:"items"`
	AnyOf       []oaSchema          `json:"anyOf"`
	Properties  map[string]oaSchema `json:"properties"`
	Required    []string            `json:"required"`
	Description string              `json:"description"`
}

func (sc oaSchema) typeName() string {
	switch {
	case sc.Ref != "":
		return strings.TrimPrefix(sc.Ref, "#/components/schemas/")
	case len(sc.AnyOf) > 0:
		var parts []string
		for _, a := range sc.AnyOf {
			parts = append(parts, a.typeName())
		}
		return strings.Join(parts, " | ")
	}
	var t string
	switch v := sc.Type.(type) {
	case string:
		t = v
	case []any:
		var parts []string
		for _, p := range v {
			parts = append(parts, p.(string))
		}
		t = strings.Join(parts, " | ")
	}
	if strings.HasPrefix(t, "array") && sc.Items != nil {
		t = strings.Replace(t, "array", "["+sc.Items.typeName()+"]", 1)
	}
	if sc.Format != "" {
		t += " (" + sc.Format + ")"
	}
	if len(sc.Enum) > 0 {
		var vals []string
		for _, e := range sc.Enum {
			if e == nil {
				vals = append(vals, "null")
			} else {
				vals = append(vals, "« "+e.(string)+" »")
			}
		}
		t += " : " + strings.Join(vals, ", ")
	}
	return t
}

func (s *Server) buildReference() (refPage, error) {
	var doc struct {
		Paths map[string]map[string]struct {
			Summary     string `json:"summary"`
			Description string `json:"description"`
			OperationID string `json:"operationId"`
			Security    []any  `json:"security"`
			Parameters  []struct {
				Name, In, Description string
				Schema                oaSchema
			} `json:"parameters"`
			RequestBody *struct {
				Content map[string]struct {
					Schema oaSchema `json:"schema"`
				} `json:"content"`
			} `json:"requestBody"`
			Responses map[string]struct {
				Content map[string]struct {
					Schema oaSchema `json:"schema"`
				} `json:"content"`
			} `json:"responses"`
		} `json:"paths"`
		Components struct {
			Schemas map[string]oaSchema `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(s.openapi, &doc); err != nil {
		return refPage{}, err
	}
	var p refPage
	p.BaseURL = s.Config.URL(apiBase)
	for path, methods := range doc.Paths {
		for method, op := range methods {
			ro := refOperation{Anchor: op.OperationID, Method: strings.ToUpper(method), Path: path, Summary: op.Summary,
				Description: op.Description, Public: op.Security != nil}
			for _, prm := range op.Parameters {
				if prm.In == "header" {
					ro.Idempotent = true
					continue
				}
				ro.Params = append(ro.Params, refField{Name: prm.Name + " (" + prm.In + ")", Type: prm.Schema.typeName(), Doc: prm.Description, Required: prm.In == "path"})
			}
			if op.RequestBody != nil {
				ro.Body = op.RequestBody.Content["application/json"].Schema.typeName()
			}
			var codes []string
			for code := range op.Responses {
				codes = append(codes, code)
			}
			sort.Strings(codes)
			for _, code := range codes {
				r := op.Responses[code]
				if code < "400" {
					if ro.OK != "" {
						ro.OK += " ; "
					}
					ro.OK += code
					if c, ok := r.Content["application/json"]; ok {
						ro.OK += " " + c.Schema.typeName()
					}
					continue
				}
				ro.Errors = append(ro.Errors, code)
			}
			p.Operations = append(p.Operations, ro)
		}
	}
	sort.Slice(p.Operations, func(i, j int) bool {
		a, b := p.Operations[i], p.Operations[j]
		if a.Path != b.Path {
			return a.Path < b.Path
		}
		return methodOrder(a.Method) < methodOrder(b.Method)
	})
	for name, sc := range doc.Components.Schemas {
		rs := refSchema{Name: name}
		for field, fs := range sc.Properties {
			rs.Fields = append(rs.Fields, refField{Name: field, Type: fs.typeName(), Doc: fs.Description, Required: containsString(sc.Required, field)})
		}
		sort.Slice(rs.Fields, func(i, j int) bool { return rs.Fields[i].Name < rs.Fields[j].Name })
		p.Schemas = append(p.Schemas, rs)
	}
	sort.Slice(p.Schemas, func(i, j int) bool { return p.Schemas[i].Name < p.Schemas[j].Name })
	for status, k := range problemKinds {
		p.Problems = append(p.Problems, refProblem{Anchor: k[0], Title: k[1], Status: status})
	}
	sort.Slice(p.Problems, func(i, j int) bool { return p.Problems[i].Status < p.Problems[j].Status })
	return p, nil
}

func methodOrder(m string) string {
	return strconv.Itoa(strings.Index("GET POST PUT PATCH DELETE", m)+100) + m
}

func containsString(list []string, v string) bool {
	for _, s := range list {
		if s == v {
			return true
		}
	}
	return false
}

// apiReference is GET /api: the readable reference of the API.
func (s *Server) apiReference(c *gin.Context) {
	p, err := s.buildReference()
	if err != nil {
		s.serverError(c, "api reference", err)
		return
	}
	p.Layout = s.layout(c, "API d'Agora", "", Crumb{Label: "API d'Agora"})
	s.render(c, http.StatusOK, "api_reference", p)
}
