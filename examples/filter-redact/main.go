// Command filter-redact is a Sluice processor plugin that drops records
// matching a condition and masks named fields of the JSON values it keeps.
//
// Parameters (all optional):
//
//	drop-field    field whose value decides a drop, dotted for nesting ("order.status")
//	drop-values   comma-separated values of drop-field that drop the record
//	              (compared with a string's contents or a number's literal)
//	redact        comma-separated fields to mask ("email,card.number")
//	mask          the JSON that replaces a masked value (default "***" as a string)
//	drop-invalid  "true": drop records whose value is not a JSON object
//	              (default: pass them on untouched)
//
// Records are otherwise unchanged: key, headers and timestamp are kept.
package main

import (
	"strconv"
	"strings"

	"github.com/sluicehq/sluice/sdk"
	"github.com/sluicehq/sluice/sdk/jsonscan"
)

var (
	dropPath    []string
	dropValues  map[string]bool
	redactPaths [][]string
	mask        []byte
	dropInvalid bool
)

func init() {
	sdk.OnInit(setup)
	sdk.HandleProcess(process)
}

func setup() error {
	dropPath, dropValues, redactPaths = nil, nil, nil
	if f := sdk.Param("drop-field"); f != "" {
		dropPath = strings.Split(f, ".")
		dropValues = map[string]bool{}
		for _, v := range strings.Split(sdk.Param("drop-values"), ",") {
			dropValues[v] = true
		}
	}
	for _, f := range strings.Split(sdk.Param("redact"), ",") {
		if f = strings.TrimSpace(f); f != "" {
			redactPaths = append(redactPaths, strings.Split(f, "."))
		}
	}
	mask = []byte(`"***"`)
	if m, ok := sdk.LookupParam("mask"); ok {
		mask = []byte(strconv.Quote(m))
	}
	dropInvalid = sdk.Param("drop-invalid") == "true"
	return nil
}

func process(r sdk.Record, emit func(sdk.Record)) error {
	if firstByte(r.Value) != '{' { // not a JSON object (a cheap check: no full parse)
		if !dropInvalid {
			emit(r)
		}
		return nil
	}
	if dropPath != nil {
		if v, ok := jsonscan.Get(r.Value, dropPath...); ok && dropValues[string(jsonscan.Text(v))] {
			return nil
		}
	}
	for _, p := range redactPaths {
		r.Value, _ = jsonscan.Set(r.Value, mask, p...)
	}
	emit(r)
	return nil
}

func firstByte(b []byte) byte {
	for _, c := range b {
		switch c {
		case ' ', '\t', '\n', '\r':
		default:
			return c
		}
	}
	return 0
}

func main() {}
